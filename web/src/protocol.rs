//! Messages between the page and the training worker. Snapshots carry plain `f32` vectors,
//! never tensors: the page only draws them.

use serde::{Deserialize, Serialize};

use crate::settings::Settings;

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Build the data and the panels for `settings` (or for the user's dataset, given as the
    /// files of a dataset folder: `dataset.json` and the field files it names), then train.
    Start {
        /// The experiment.
        settings: Settings,
        /// A user's dataset folder as (file name, bytes); `None`: simulate the problem.
        dataset: Option<Vec<(String, Vec<u8>)>>,
    },
    /// Stop stepping after the current batch.
    Pause,
    /// Continue a paused run.
    Resume,
    /// Back to step 0 on the same data (fresh networks), paused.
    Reset,
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Output {
    /// A run was set up (after `Start` or `Reset`).
    Ready(Ready),
    /// Progress of one panel.
    Snapshot(Snapshot),
    /// Whether the worker is stepping now.
    Running(bool),
    /// Something failed: the run (`panel: None`) or one panel. The worker keeps serving.
    Error {
        /// The panel that failed, if only one did.
        panel: Option<usize>,
        /// One line for the user.
        message: String,
    },
}

/// What a run is about: enough for the page to lay out its panels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// "wgpu" or "cpu".
    pub backend: String,
    /// Why the CPU runs although the GPU was tried.
    pub fallback_reason: Option<String>,
    /// Problem and case of the data (a user's dataset names its own).
    pub problem: String,
    /// Parameter case.
    pub case: String,
    /// [ny, nx] of the parameter field (1D: [1, n]).
    pub shape: [usize; 2],
    /// Margin [y, x] outside which the metrics are computed (drawn as a frame).
    pub metric_region: [usize; 2],
    /// Ground truth of the parameter, if the data has one.
    pub truth: Option<Vec<f32>>,
    /// Symbol of the derivative of u the residual hinges on ("∇²T", "v′", "∇²φ_d"), where the
    /// problem names one: the "essential intermediate" in which noise amplification shows.
    pub intermediate: Option<String>,
    /// That derivative of the clean solution (NaN on the edge), if the data has one.
    pub intermediate_truth: Option<Vec<f32>>,
    /// Kernel size the mollifier panel uses (resolved when the settings say `auto`).
    pub kernel_size: usize,
    /// Noise level the `auto` choice estimated, if it ran.
    pub estimated_noise: Option<f64>,
    /// Engine of each panel ("autodiff", "mollifier", "fd").
    pub panels: Vec<String>,
    /// Steps each panel takes before stopping.
    pub steps: usize,
}

/// One panel's state after a batch of steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Index into `Ready::panels`.
    pub panel: usize,
    /// Steps taken.
    pub step: usize,
    /// Normalised data misfit at the last step.
    pub data_loss: f64,
    /// Normalised PDE residual at the last step.
    pub pde_loss: f64,
    /// Mean wall time per step over the batch.
    pub ms_per_step: f64,
    /// Correlation of the recovered parameter with the truth.
    pub correlation: Option<f64>,
    /// Correlation of the engine's derivative of u that the residual hinges on (∇²T for heat)
    /// with the clean solution's.
    pub laplacian_correlation: Option<f64>,
    /// Relative L2 error.
    pub relative_l2: Option<f64>,
    /// Recovered parameter on the grid (C order).
    pub parameter: Vec<f32>,
    /// The engine's value of the intermediate derivative of u (NaN where it defines none),
    /// refreshed with `laplacian_correlation`.
    pub intermediate: Option<Vec<f32>>,
    /// Device memory reserved, where the backend reports it.
    pub memory_bytes: Option<u64>,
    /// The panel has taken all its steps.
    pub done: bool,
}
