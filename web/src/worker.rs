//! The Web Worker: a yew-agent reactor around [`Session`]. While a run is going it alternates
//! one batch of steps with a zero-length sleep, which hands control back to the worker's event
//! loop so Pause/Reset messages are seen within one batch.

use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use yew::platform::time::sleep;
use yew_agent::reactor::{ReactorScope, reactor};

use crate::protocol::{Input, Output};
use crate::session::Session;

/// Wall time each panel trains per batch.
const SLICE: Duration = Duration::from_millis(120);

/// The training reactor (one per page).
#[reactor(TrainingWorker)]
pub async fn training_worker(mut scope: ReactorScope<Input, Output>) {
    let mut session = Session::new(None);
    loop {
        let outputs = if session.running() {
            sleep(Duration::ZERO).await;
            match scope.next().now_or_never() {
                Some(Some(input)) => session.handle(input).await,
                Some(None) => return,
                None => session.advance(SLICE).await,
            }
        } else {
            match scope.next().await {
                Some(input) => session.handle(input).await,
                None => return,
            }
        };
        for output in outputs {
            if scope.send(output).await.is_err() {
                return;
            }
        }
    }
}
