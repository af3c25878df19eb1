//! The worker protocol, driven through `Session` exactly as the worker drives it; run natively
//! (`tests/session.rs`) and in headless Chromium on CPU and WebGPU (`tests/browser.rs`).

use std::time::Duration;

use burn::tensor::Device;
use mollify_core::backend::Selected;
use mollify_core::numerics::kernel::KernelFamily;
use mollify_core::train::KernelSize;
use mollify_web::protocol::{Input, Output, Ready, Snapshot};
use mollify_web::session::Session;
use mollify_web::settings::Settings;

include!("../../../core/tests/common/report.rs");

fn session(device: &Device, name: &'static str) -> Session {
    Session::new(Some(Selected {
        device: device.clone(),
        name,
        fallback_reason: None,
    }))
}

fn tiny(steps: usize) -> Settings {
    Settings {
        steps,
        ..Settings::default()
    }
}

fn ready(out: &[Output]) -> &Ready {
    out.iter()
        .find_map(|o| match o {
            Output::Ready(r) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Ready in {:?}", names(out)))
}

fn snapshots(out: &[Output]) -> Vec<&Snapshot> {
    out.iter()
        .filter_map(|o| match o {
            Output::Snapshot(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn running(out: &[Output]) -> Option<bool> {
    out.iter().rev().find_map(|o| match o {
        Output::Running(r) => Some(*r),
        _ => None,
    })
}

fn errors(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Error { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn names(out: &[Output]) -> Vec<String> {
    out.iter()
        .map(|o| match o {
            Output::Ready(_) => "ready".to_string(),
            Output::Snapshot(s) => format!("snapshot {} step {}", s.panel, s.step),
            Output::Running(r) => format!("running {r}"),
            Output::Error { message, .. } => format!("error {message}"),
        })
        .collect()
}

/// Start → batches → Pause (no progress) → Resume → the step budget ends the run → Reset
/// (fresh networks at step 0, paused) → Resume starts over.
pub(crate) async fn start_pause_resume_reset(device: &Device, name: &'static str) {
    let mut s = session(device, name);
    let out = s
        .handle(Input::Start {
            settings: tiny(3),
            dataset: None,
        })
        .await;
    let r = ready(&out).clone();
    assert_eq!(r.panels, ["autodiff", "mollifier"]);
    assert_eq!(
        (r.shape, r.backend.as_str(), r.kernel_size),
        ([64, 64], name, 11)
    );
    let truth = r.truth.as_ref().expect("heat has a ground truth");
    assert_eq!(truth.len(), 64 * 64);
    // The derivative the residual uses, for the page's derivative panels.
    assert_eq!(r.intermediate.as_deref(), Some("∇²T"));
    let lap = r.intermediate_truth.as_ref().expect("heat's clean ∇²T");
    assert_eq!(lap.len(), 64 * 64);
    assert!(lap[32 * 64 + 32].is_finite() && lap[0].is_nan());
    assert_eq!(running(&out), Some(true));

    let out = s.advance(Duration::ZERO).await;
    let snaps = snapshots(&out);
    assert_eq!(snaps.len(), 2, "{:?}", names(&out));
    for snap in &snaps {
        assert_eq!(snap.step, 1);
        assert_eq!(snap.parameter.len(), 64 * 64);
        assert!(snap.parameter.iter().all(|v| v.is_finite()));
        let c = snap.correlation.expect("a correlation");
        assert!((-1.0..=1.0).contains(&c), "{c}");
        assert!(snap.ms_per_step > 0.0 && snap.data_loss.is_finite() && !snap.done);
        // The first snapshot evaluates the engine's ∇²T: the field and its correlation.
        let own = snap.intermediate.as_ref().expect("the engine's ∇²T");
        assert_eq!(own.len(), 64 * 64);
        assert!(own[32 * 64 + 32].is_finite());
        let d = snap.laplacian_correlation.expect("a ∇²T correlation");
        assert!((-1.0..=1.0).contains(&d), "{d}");
        report!(
            "{}: step 1, {:.1} ms, correlation {c:.3}",
            r.panels[snap.panel],
            snap.ms_per_step
        );
    }

    assert_eq!(running(&s.handle(Input::Pause).await), Some(false));
    assert!(
        s.advance(Duration::ZERO).await.is_empty(),
        "paused sessions do not step"
    );
    assert_eq!(running(&s.handle(Input::Resume).await), Some(true));
    let mut last = Vec::new();
    while s.running() {
        last = s.advance(Duration::ZERO).await;
    }
    let snaps = snapshots(&last);
    assert!(
        snaps.iter().all(|s| s.step == 3 && s.done),
        "{:?}",
        names(&last)
    );
    assert_eq!(running(&last), Some(false));
    // A finished run cannot be resumed, only reset.
    assert_eq!(running(&s.handle(Input::Resume).await), Some(false));

    let out = s.handle(Input::Reset).await;
    assert_eq!(ready(&out).truth.as_ref(), Some(truth));
    assert_eq!(running(&out), Some(false));
    assert!(s.advance(Duration::ZERO).await.is_empty());
    s.handle(Input::Resume).await;
    let out = s.advance(Duration::ZERO).await;
    assert!(
        snapshots(&out).iter().all(|s| s.step == 1),
        "{:?}",
        names(&out)
    );
}

/// Bad requests answer with an error line and leave the session usable.
pub(crate) async fn bad_requests_keep_the_session_alive(device: &Device, name: &'static str) {
    let mut s = session(device, name);
    let files = vec![("k.npy".to_string(), vec![0u8; 10])];
    let out = s
        .handle(Input::Start {
            settings: tiny(2),
            dataset: Some(files),
        })
        .await;
    let e = errors(&out);
    assert!(e.len() == 1 && e[0].contains("dataset.json"), "{e:?}");
    assert_eq!(running(&out), Some(false));

    // The sine kernel has no second derivative: the heat problem's mollifier cannot use it.
    let out = s
        .handle(Input::Start {
            settings: Settings {
                kernel: KernelFamily::Sine,
                ..tiny(2)
            },
            dataset: None,
        })
        .await;
    let e = errors(&out);
    assert!(e.len() == 1 && e[0].starts_with("mollifier"), "{e:?}");
    report!("refused: {}", e[0]);

    // Resume without a run does nothing; a good Start still works, with the auto size.
    assert_eq!(running(&s.handle(Input::Resume).await), Some(false));
    let out = s
        .handle(Input::Start {
            settings: Settings {
                kernel_size: KernelSize::Auto,
                noise: 0.05,
                ..tiny(2)
            },
            dataset: None,
        })
        .await;
    let r = ready(&out);
    assert!(
        r.kernel_size >= 5 && r.kernel_size % 2 == 1,
        "{}",
        r.kernel_size
    );
    let sigma = r
        .estimated_noise
        .expect("auto reports the noise it estimated");
    report!("auto kernel size {} (σ ≈ {sigma:.3e})", r.kernel_size);
    assert_eq!(snapshots(&s.advance(Duration::ZERO).await).len(), 2);
}
