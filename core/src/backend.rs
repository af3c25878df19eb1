//! Choosing the compute device: the GPU through wgpu (Vulkan/Metal natively, WebGPU in the
//! browser) when it comes up, otherwise burn's pure-Rust CPU backend, with the reason recorded.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which backend a run asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BackendChoice {
    /// The GPU if one initialises, else the CPU.
    Auto,
    /// The GPU through wgpu (Vulkan, Metal, DX12; WebGPU in the browser), or an error.
    #[serde(alias = "vulkan", alias = "webgpu")]
    #[cfg_attr(feature = "clap", value(alias = "vulkan", alias = "webgpu"))]
    Wgpu,
    /// CUDA: not built into this binary (see the README); asking for it says so.
    Cuda,
    /// burn's `flex` CPU backend: the default, the fastest choice on machines without a GPU.
    #[default]
    Cpu,
}

impl BackendChoice {
    /// The spelling `from_str` reads back (URLs, configs).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::Cpu => "cpu",
        }
    }
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "wgpu" | "gpu" | "vulkan" | "webgpu" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            "cpu" | "flex" => Ok(Self::Cpu),
            _ => Err(Error::Invalid(format!(
                "unknown backend '{s}' (expected auto, wgpu, cuda or cpu)"
            ))),
        }
    }
}

/// The device a run got, and why.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The device to create tensors on.
    pub device: Device,
    /// Short name for reports and badges ("wgpu" or "cpu").
    pub name: &'static str,
    /// Why the CPU runs when the GPU was wanted (`Auto` fell back).
    pub fallback_reason: Option<String>,
}

/// wgpu registers one runtime per adapter selector and refuses a second registration,
/// so the first successfully initialised device is kept and cloned for later callers.
#[cfg(feature = "wgpu")]
static GPU: std::sync::OnceLock<Device> = std::sync::OnceLock::new();

/// Initialises the GPU device once per process (async: WebGPU's adapter request is async).
#[cfg(feature = "wgpu")]
pub async fn gpu_device() -> Result<Device> {
    if let Some(device) = GPU.get() {
        return Ok(device.clone());
    }
    match Device::wgpu_options().init_async().await {
        Ok(device) => Ok(GPU.get_or_init(|| device).clone()),
        // Lost a race with another initialiser: its device is the one registered.
        Err(err) => GPU
            .get()
            .cloned()
            .ok_or_else(|| Error::Backend(format!("wgpu: {err}"))),
    }
}

/// Without the `wgpu` feature there is no GPU to initialise; `Auto` runs on the CPU.
#[cfg(not(feature = "wgpu"))]
pub async fn gpu_device() -> Result<Device> {
    Err(Error::Invalid(
        "this binary was built without the GPU backend (wgpu): build it with `--features wgpu`"
            .into(),
    ))
}

/// Selects the device for `choice`; `Auto` falls back to the CPU and records why.
pub async fn select(choice: BackendChoice) -> Result<Selected> {
    let cpu = |fallback_reason| Selected {
        device: Device::flex(),
        name: "cpu",
        fallback_reason,
    };
    match choice {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::Cuda => Err(Error::Invalid(
            "this binary has no CUDA backend (it was built without the CUDA toolkit); use --backend wgpu for the GPU".into(),
        )),
        BackendChoice::Wgpu => Ok(Selected {
            device: gpu_device().await?,
            name: "wgpu",
            fallback_reason: None,
        }),
        BackendChoice::Auto => Ok(match gpu_device().await {
            Ok(device) => Selected {
                device,
                name: "wgpu",
                fallback_reason: None,
            },
            Err(err) => cpu(Some(err.to_string())),
        }),
    }
}
