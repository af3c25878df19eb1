//! The experiment a user set up, and its URL form: every control lives in the query string so a
//! link reopens the same experiment. Parsing never fails as a whole — a bad value falls back
//! to its default and is reported, so a mangled link still opens a working page.

use mollify_core::backend::BackendChoice;
use mollify_core::engine::EngineKind;
use mollify_core::model::Arch;
use mollify_core::numerics::kernel::KernelFamily;
use mollify_core::numerics::mollifier::MollifierConfig;
use mollify_core::problems::{self, Problem};
use mollify_core::train::config::{DEMO_NOISE, DEMO_STEPS, DataConfig};
use mollify_core::train::{KernelSize, RunConfig};
use serde::{Deserialize, Serialize};

/// Smallest fixed kernel size a link may ask for.
pub const MIN_KERNEL: usize = 3;
/// Largest fixed kernel size offered (a third of the quick 64² grid).
pub const MAX_KERNEL: usize = 21;

/// A kernel size from a link: `auto`, or odd within [`MIN_KERNEL`, `MAX_KERNEL`].
fn parse_kernel_size(s: &str) -> Result<KernelSize, String> {
    match s.parse::<KernelSize>() {
        Ok(KernelSize::Points(n)) if n % 2 == 1 && (MIN_KERNEL..=MAX_KERNEL).contains(&n) => {
            Ok(KernelSize::Points(n))
        }
        Ok(KernelSize::Auto) => Ok(KernelSize::Auto),
        _ => Err(format!(
            "kernel size must be 'auto' or an odd number from {MIN_KERNEL} to {MAX_KERNEL} (got '{s}')"
        )),
    }
}

/// Everything the controls set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// A built-in problem with a parameter to recover (see [`problems`]).
    pub problem: String,
    /// Parameter case, one of the problem's cases.
    pub case: String,
    /// Observation noise, relative to the solution's RMS.
    pub noise: f64,
    /// Fraction of grid points observed.
    pub fraction: f64,
    /// Mollifier kernel family.
    pub kernel: KernelFamily,
    /// Mollifier kernel size.
    pub kernel_size: KernelSize,
    /// Network architecture of every panel.
    pub arch: Arch,
    /// Seed of the data and of the networks.
    pub seed: u64,
    /// Show a third panel trained with finite differences.
    pub fd: bool,
    /// Steps per panel before it stops.
    pub steps: usize,
    /// Where the worker trains: WebGPU if it comes up (auto), or the CPU.
    pub backend: BackendChoice,
}

impl Default for Settings {
    fn default() -> Self {
        let heat = problems::builtin("heat").expect("heat is a built-in problem");
        Self {
            problem: heat.name().into(),
            case: "smooth".into(),
            // The quick demo of `mollify compare`.
            noise: DEMO_NOISE,
            fraction: 0.1,
            kernel: KernelFamily::Bump,
            kernel_size: KernelSize::Points(heat.kernel_size()),
            arch: Arch::Pinn,
            seed: 0,
            fd: false,
            steps: DEMO_STEPS,
            backend: BackendChoice::Auto,
        }
    }
}

/// Problems the demonstrator offers: the core's built-ins with a parameter to recover.
pub fn problems() -> Vec<Box<dyn Problem>> {
    problems::builtins()
        .into_iter()
        .filter(|p| p.parameter().is_some())
        .collect()
}

/// Network width of the demo (small enough for a few steps per frame on a laptop CPU).
pub const WIDTH: usize = 32;
/// Network depth of the demo.
pub const DEPTH: usize = 3;

/// Highest noise level the slider reaches.
pub const MAX_NOISE: f64 = 0.5;

/// Most steps per panel a link may ask for.
pub const MAX_STEPS: usize = 20_000;

impl Settings {
    /// The query string (without `?`) that reproduces these settings.
    pub fn to_query(&self) -> String {
        format!(
            "problem={}&case={}&noise={}&fraction={}&kernel={}&size={}&arch={}&seed={}&fd={}&steps={}&backend={}",
            self.problem,
            self.case,
            self.noise,
            self.fraction,
            self.kernel.name(),
            self.kernel_size,
            self.arch.name(),
            self.seed,
            u8::from(self.fd),
            self.steps,
            self.backend.name()
        )
    }

    /// Settings from a query string (with or without `?`): unknown keys and bad values are
    /// reported and replaced by defaults.
    pub fn from_query(query: &str) -> (Self, Vec<String>) {
        let mut s = Self::default();
        let mut problems = Vec::new();
        let mut case = None;
        let mut size = None;
        let pairs = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty());
        for pair in pairs {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let result: Result<(), String> = match key {
                "problem" => problems::builtin(value)
                    .map_err(|e| e.to_string())
                    .and_then(|p| {
                        if p.parameter().is_some() {
                            s.problem = p.name().to_string();
                            Ok(())
                        } else {
                            Err(format!("problem '{value}' has no parameter to recover"))
                        }
                    }),
                "case" => {
                    case = Some(value.to_string());
                    Ok(())
                }
                "noise" => parse_in(value, 0.0, MAX_NOISE, "noise").map(|v| s.noise = v),
                "fraction" => parse_in(value, 0.01, 1.0, "fraction").map(|v| s.fraction = v),
                "kernel" => value
                    .parse()
                    .map(|k| s.kernel = k)
                    .map_err(|e: mollify_core::Error| e.to_string()),
                "size" => parse_kernel_size(value).map(|k| size = Some(k)),
                "arch" => value
                    .parse()
                    .map(|a| s.arch = a)
                    .map_err(|e: mollify_core::Error| e.to_string()),
                "seed" => value
                    .parse()
                    .map(|v| s.seed = v)
                    .map_err(|_| format!("seed must be a whole number ≥ 0 (got '{value}')")),
                "fd" => match value {
                    "1" | "true" | "0" | "false" => {
                        s.fd = matches!(value, "1" | "true");
                        Ok(())
                    }
                    _ => Err(format!("fd must be 0 or 1 (got '{value}')")),
                },
                "steps" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_STEPS).contains(&n) => {
                        s.steps = n;
                        Ok(())
                    }
                    _ => Err(format!(
                        "steps must be from 1 to {MAX_STEPS} (got '{value}')"
                    )),
                },
                "backend" => value
                    .parse()
                    .map(|b| s.backend = b)
                    .map_err(|e: mollify_core::Error| e.to_string()),
                // The page's view flags (lessons::View), not settings.
                k if crate::lessons::View::KEYS.contains(&k) => Ok(()),
                other => Err(format!("unknown setting '{other}' ignored")),
            };
            if let Err(message) = result {
                problems.push(message);
            }
        }
        // Unnamed: the problem's own size, as the CLI chooses it (chromatin's droplets need 5).
        s.kernel_size = size.unwrap_or_else(|| KernelSize::Points(s.problem().kernel_size()));
        let cases = s.problem().cases();
        s.case = cases[0].to_string();
        if let Some(case) = case {
            if cases.contains(&case.as_str()) {
                s.case = case;
            } else {
                problems.push(format!(
                    "case '{case}' is not one of {}'s: {}",
                    s.problem,
                    cases.join(", ")
                ));
            }
        }
        (s, problems)
    }

    /// The chosen problem from the core's registry.
    pub fn problem(&self) -> Box<dyn Problem> {
        problems::builtin(&self.problem).expect("settings hold only registered problems")
    }

    /// The run configuration of the panel trained by `engine` (the one configuration type the
    /// CLI reads and saves).
    pub fn run_config(&self, engine: EngineKind) -> RunConfig {
        let mut c = RunConfig::new()
            .with_engine(engine)
            .with_arch(self.arch)
            .with_width(WIDTH)
            .with_depth(DEPTH)
            .with_steps(self.steps)
            .with_seed(self.seed);
        c.backend = self.backend;
        c.data = DataConfig {
            source: self.problem.clone(),
            case: Some(self.case.clone()),
            noise: self.noise,
            fraction: self.fraction,
            seed: self.seed,
            ..DataConfig::default()
        };
        c.mollifier.family = self.kernel;
        c.mollifier.size = Some(self.kernel_size);
        c
    }

    /// Settings from a run configuration (a CLI run's `config.toml`, say); `fd` adds the third
    /// panel, which a one-engine configuration cannot say.
    pub fn from_run_config(c: &RunConfig, fd: bool) -> Self {
        Self {
            problem: c.data.source.clone(),
            case: c.data.case.clone().unwrap_or_default(),
            noise: c.data.noise,
            fraction: c.data.fraction,
            kernel: c.mollifier.family,
            // Unset: the problem's own, as the trainer would choose.
            kernel_size: c.mollifier.size.unwrap_or_else(|| {
                KernelSize::Points(
                    problems::builtin(&c.data.source)
                        .map_or(MollifierConfig::default().size, |p| p.kernel_size()),
                )
            }),
            arch: c.model.arch,
            seed: c.model.seed,
            fd,
            steps: c.schedule.steps,
            backend: c.backend,
        }
    }
}

fn parse_in(value: &str, lo: f64, hi: f64, what: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!(
            "{what} must be a number from {lo} to {hi} (got '{value}')"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_round_trips_through_the_url() {
        let s = Settings {
            problem: "chromatin".into(),
            case: "lognormal".into(),
            noise: 0.12,
            fraction: 0.25,
            kernel: KernelFamily::Poly4,
            kernel_size: KernelSize::Auto,
            arch: Arch::PirateNet,
            seed: 7,
            fd: true,
            steps: 300,
            backend: BackendChoice::Cpu,
        };
        let (back, problems) = Settings::from_query(&format!("?{}", s.to_query()));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(back, s);
        let (default, problems) = Settings::from_query("");
        assert!(problems.is_empty());
        assert_eq!(default, Settings::default());
        // And through the one run configuration.
        let config = s.run_config(EngineKind::Mollifier);
        assert_eq!(Settings::from_run_config(&config, true), s);
    }

    #[test]
    fn bad_values_fall_back_and_are_reported() {
        let (s, problems) = Settings::from_query(
            "problem=ode&noise=-1&size=4&kernel=gauss&case=sharp&fd=2&bogus=1&steps=0",
        );
        assert_eq!(problems.len(), 7, "{problems:?}");
        assert_eq!(s.problem, "heat");
        // A case valid for heat survives the bad problem.
        assert_eq!(s.case, "sharp");
        assert_eq!(s.noise, DEMO_NOISE);
        assert_eq!(s.kernel_size, KernelSize::Points(11));
        // A link that names a problem but no size gets the problem's size.
        let (s, _) = Settings::from_query("problem=chromatin");
        assert_eq!(s.kernel_size, KernelSize::Points(5));
        let (s, _) = Settings::from_query("size=7&problem=chromatin");
        assert_eq!(s.kernel_size, KernelSize::Points(7));
        let (s, problems) = Settings::from_query("problem=langevin&case=sharp");
        assert_eq!(
            (s.case.as_str(), problems.len()),
            ("varying", 1),
            "{problems:?}"
        );
    }
}
