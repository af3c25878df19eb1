//! How the CLI fails: one line on stderr and an exit code a script can act on.

use std::process::ExitCode;

/// A failure of a command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad input: arguments, files, data (exit code 2).
    #[error("{0}")]
    Input(String),
    /// A run stopped on a non-finite loss, its checkpoint kept (exit code 3).
    #[error("stopped: {0}")]
    Stopped(String),
    /// Ctrl-C: a checkpoint was saved at this step (exit code 130).
    #[error("interrupted at step {0}; checkpoint saved, continue with --resume")]
    Interrupted(usize),
    /// Anything else (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl CliError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Input(_) => 2,
            Self::Stopped(_) => 3,
            Self::Interrupted(_) => 130,
            Self::Other(_) => 1,
        })
    }
}

impl From<mollify_core::Error> for CliError {
    fn from(e: mollify_core::Error) -> Self {
        use mollify_core::Error as E;
        match e {
            E::Backend(_) | E::Write { .. } => Self::Other(e.to_string()),
            E::Diverged { .. } => Self::Stopped(e.to_string()),
            _ => Self::Input(e.to_string()),
        }
    }
}
