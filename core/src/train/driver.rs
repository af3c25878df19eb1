//! The one training loop. Front ends differ only in their hooks: the CLI logs every step,
//! checkpoints and stops on Ctrl-C; the browser worker trains in time slices and snapshots
//! between them; the examples print. The driver owns what they share: stepping until the
//! configured steps, a wall-time budget or a hook says stop, and the step timings.

use web_time::Instant;

use super::{StepReport, Trainer};
use crate::error::Result;

/// Whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Take the next step.
    Continue,
    /// Stop before the next step.
    Stop,
}

/// What a front end does around each step. Every method has a do-nothing default.
pub trait Hooks {
    /// Before each step; an error ends the run with it (tests inject failures here).
    fn before_step(&mut self, trainer: &Trainer) -> Result<Control> {
        let _ = trainer;
        Ok(Control::Continue)
    }
    /// After each successful step: progress, logs, metrics, checkpoints.
    fn after_step(&mut self, trainer: &Trainer, report: &StepReport) -> Result<Control> {
        let _ = (trainer, report);
        Ok(Control::Continue)
    }
}

/// No hooks: just train.
impl Hooks for () {}

/// How long one call of [`run`] may go on besides the configured steps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepBudget {
    /// Wall-clock seconds, checked before each step (`None`: no limit).
    pub seconds: Option<f64>,
    /// Steps taken regardless of the time budget (a browser slice always makes progress).
    pub min_steps: usize,
}

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The configured number of steps is reached.
    Finished,
    /// The wall-time budget ran out first.
    Budget,
    /// A hook said stop.
    Hook,
}

/// What one call of [`run`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Why it returned.
    pub stopped: Stopped,
    /// Steps taken in this call.
    pub taken: usize,
    /// Their summed step times in seconds (forward, backward, update, loss readback).
    pub seconds: f64,
    /// The last step's report, if any step was taken.
    pub last: Option<StepReport>,
}

impl Outcome {
    /// Mean milliseconds per step of this call (NaN without steps).
    pub fn ms_per_step(&self) -> f64 {
        if self.taken == 0 {
            f64::NAN
        } else {
            1e3 * self.seconds / self.taken as f64
        }
    }
}

/// Steps `trainer` until its configured steps, `budget` or a hook stops it. A failed step (a
/// non-finite loss, a backend error) ends the call with that error, after the steps before it.
pub async fn run(
    trainer: &mut Trainer,
    budget: StepBudget,
    hooks: &mut impl Hooks,
) -> Result<Outcome> {
    let start = Instant::now();
    let mut out = Outcome {
        stopped: Stopped::Finished,
        taken: 0,
        seconds: 0.0,
        last: None,
    };
    let total = trainer.config().schedule.steps;
    while trainer.steps_taken() < total {
        if out.taken >= budget.min_steps
            && budget
                .seconds
                .is_some_and(|s| start.elapsed().as_secs_f64() >= s)
        {
            out.stopped = Stopped::Budget;
            return Ok(out);
        }
        if hooks.before_step(trainer)? == Control::Stop {
            out.stopped = Stopped::Hook;
            return Ok(out);
        }
        let report = trainer.step().await?;
        out.taken += 1;
        out.seconds += report.seconds;
        out.last = Some(report);
        if hooks.after_step(trainer, &report)? == Control::Stop {
            out.stopped = if trainer.steps_taken() >= total {
                Stopped::Finished
            } else {
                Stopped::Hook
            };
            return Ok(out);
        }
    }
    Ok(out)
}
