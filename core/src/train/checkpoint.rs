//! Checkpoints (weights, optimiser state, step count) written atomically, and the process's
//! peak memory for reports.

#[cfg(not(target_arch = "wasm32"))]
use super::Trainer;
#[cfg(not(target_arch = "wasm32"))]
use crate::error::{Error, Result};

#[cfg(not(target_arch = "wasm32"))]
impl Trainer {
    /// Saves the weights, the optimiser's state and the step count to `dir`, atomically: the
    /// new checkpoint is written beside it and swapped in, so a crash leaves the last one whole.
    pub fn save_checkpoint(&self, dir: &std::path::Path) -> Result<()> {
        use burn::module::Module;
        let partial = dir.with_extension("partial");
        let io = |p: &std::path::Path| {
            let path = p.display().to_string();
            move |source| Error::Write { path, source }
        };
        let record = |e: burn::store::RecordError| Error::Backend(format!("checkpoint: {e}"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
        }
        std::fs::create_dir_all(&partial).map_err(io(&partial))?;
        self.model
            .clone()
            .save_file(partial.join("model.bpk"))
            .map_err(record)?;
        self.optim
            .save(partial.join("optimizer.bpk"))
            .map_err(record)?;
        let state = serde_json::json!({ "step": self.step });
        crate::data::io::write_atomic(&partial.join("state.json"), state.to_string().as_bytes())?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io(dir))?;
        }
        std::fs::rename(&partial, dir).map_err(io(dir))
    }

    /// Restores a checkpoint written by [`Trainer::save_checkpoint`] for the same configuration.
    pub fn load_checkpoint(&mut self, dir: &std::path::Path) -> Result<()> {
        use burn::module::Module;
        let bad = |what: String| Error::data(&dir.display().to_string(), what);
        let state =
            std::fs::read_to_string(dir.join("state.json")).map_err(|source| Error::Io {
                path: dir.join("state.json").display().to_string(),
                source,
            })?;
        let state: serde_json::Value =
            serde_json::from_str(&state).map_err(|e| bad(format!("state.json: {e}")))?;
        let step = state["step"]
            .as_u64()
            .ok_or_else(|| bad("state.json has no step".into()))?;
        self.model = self
            .model
            .clone()
            .try_load_file(dir.join("model.bpk"))
            .map_err(|e| bad(format!("model.bpk does not fit this configuration: {e}")))?;
        let optim = std::mem::replace(&mut self.optim, burn::optim::AdamConfig::new().init());
        self.optim = optim
            .load(dir.join("optimizer.bpk"))
            .map_err(|e| bad(format!("optimizer.bpk: {e}")))?;
        self.step = step as usize;
        Ok(())
    }
}

/// The process's peak resident set size (Linux `VmHWM`), where the platform reports it.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn process_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(target_arch = "wasm32")]
pub(super) fn process_peak_rss() -> Option<u64> {
    None
}
