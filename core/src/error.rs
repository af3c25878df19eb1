//! One error type for the core, so front ends can print a single clear line for any failure.

use crate::numerics::kernel::KernelFamily;

/// Everything the core can refuse, with enough context to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A derivative order beyond what the kernel's smoothness supports.
    #[error(
        "kernel '{family}' cannot give derivatives of order {order}: its smoothness allows at most {max} \
         (use the bump kernel for higher orders)"
    )]
    OrderTooHigh {
        /// The kernel family asked.
        family: KernelFamily,
        /// The order asked for.
        order: usize,
        /// The highest order the family supports.
        max: usize,
    },
    /// A kernel whose support does not fit on the grid.
    #[error(
        "kernel of {size} points (support {support} points with composition) is wider than the grid axis of {points} points"
    )]
    KernelTooWide {
        /// Kernel size in points.
        size: usize,
        /// Points the requested derivatives need along one axis.
        support: usize,
        /// Points on the grid axis.
        points: usize,
    },
    /// Input data that cannot be used, naming where it came from (a file, a field).
    #[error("{source_name}: {message}")]
    Data {
        /// File name or field the data came from.
        source_name: String,
        /// What is wrong with it.
        message: String,
    },
    /// An input file could not be read (a missing or unreadable input: the user's to fix).
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An output could not be written (a full disk, a read-only folder): not bad input, so
    /// front ends exit with a different code than for [`Error::Io`].
    #[error("{path}: could not write: {source}")]
    Write {
        /// The path involved.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Any other invalid argument, described in words.
    #[error("{0}")]
    Invalid(String),
    /// Training produced a non-finite loss (the update of that step was already applied).
    #[error("loss became {value} at step {step}")]
    Diverged {
        /// The step whose loss was not finite (1-based).
        step: usize,
        /// The loss.
        value: f64,
    },
    /// The compute backend failed or could not be initialised.
    #[error("backend: {0}")]
    Backend(String),
}

impl Error {
    /// A [`Error::Data`] for `source_name`.
    pub fn data(source_name: &str, message: impl Into<String>) -> Self {
        Self::Data {
            source_name: source_name.to_string(),
            message: message.into(),
        }
    }
}

/// Parses a name into one of `all` by `name`, or says which names are accepted: every named
/// choice (kernels, cases, forms) parses the same way and fails with the same kind of message.
pub(crate) fn parse_named<T: Copy>(
    s: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
    what: &str,
) -> Result<T> {
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            Error::Invalid(format!(
                "unknown {what} '{s}' (expected one of: {})",
                names.join(", ")
            ))
        })
}

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
