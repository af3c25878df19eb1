//! The page's drawing components: one panel per engine (recovered field and loss curves),
//! the hidden truth, and the kernel with its derivatives.

use std::rc::Rc;

use mollify_core::numerics::kernel::{Kernel, KernelFamily};
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::app::{download, download_url};
use crate::draw::{self, Series};
use crate::files;
use crate::protocol::{Ready, Snapshot};

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PanelState {
    pub(crate) latest: Option<Rc<Snapshot>>,
    /// (step, data loss, PDE loss)
    pub(crate) losses: Rc<Vec<(f64, f64, f64)>>,
    pub(crate) error: Option<String>,
}

fn engine_blurb(name: &str) -> &'static str {
    match name {
        "autodiff" => {
            "The network is differentiated through all its layers (Taylor-mode autodiff): \
             the network's exact derivatives, at a cost that grows with their order; the paper \
             finds them noisy when the network has fitted noisy data."
        }
        "mollifier" => {
            "The network's output is convolved with the derivatives of a smooth kernel: \
             cheap at every order, and smoothing — noise, but also the field, if the kernel is \
             too wide."
        }
        _ => "Finite differences of the network's output on the grid: cheap, no smoothing.",
    }
}

/// Shared colour scale: the truth's range, or all panels' when there is no truth.
pub(crate) fn colour_range(ready: &Ready, panels: &[PanelState]) -> [f32; 2] {
    match &ready.truth {
        Some(t) => finite_range(t.iter().copied()),
        None => finite_range(
            panels
                .iter()
                .filter_map(|p| p.latest.as_ref())
                .flat_map(|s| s.parameter.iter().copied()),
        ),
    }
}

/// Colour scale of the intermediate derivative (∇²T, …): the clean solution's, so an engine's
/// noise shows as colour beyond it; all panels' when there is no truth. None: no such panel.
pub(crate) fn derivative_range(ready: &Ready, panels: &[PanelState]) -> Option<[f32; 2]> {
    ready.intermediate.as_ref()?;
    Some(match &ready.intermediate_truth {
        Some(t) => finite_range(t.iter().copied()),
        None => finite_range(
            panels
                .iter()
                .filter_map(|p| p.latest.as_ref()?.intermediate.as_ref())
                .flat_map(|v| v.iter().copied()),
        ),
    })
}

fn finite_range(values: impl Iterator<Item = f32>) -> [f32; 2] {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi { [0.0, 1.0] } else { [lo, hi] }
}

/// Draws a field: in 2D a heatmap on `range`, in 1D a curve (`colour`, `label`) over the
/// truth's, dashed, where one is given.
fn draw_estimate(
    node: &NodeRef,
    shape: [usize; 2],
    values: Option<&[f32]>,
    truth: Option<&[f32]>,
    range: [f32; 2],
    (colour, label): (&str, &str),
) {
    let (Some(canvas), Some(values)) = (node.cast::<HtmlCanvasElement>(), values) else {
        return;
    };
    if shape[0] > 1 {
        draw::heatmap(&canvas, values, shape, range);
        return;
    }
    let truth = truth.map(field_series);
    let own = field_series(values);
    let mut series: Vec<Series<'_>> = truth
        .iter()
        .map(|t| Series {
            points: t,
            colour: "#444",
            label: "truth",
            dashed: true,
        })
        .collect();
    series.push(Series {
        points: &own,
        colour,
        label,
        dashed: false,
    });
    draw::lines(&canvas, &series, false);
}

pub(crate) fn field_series(values: &[f32]) -> Vec<(f64, f64)> {
    let n = values.len().max(2) - 1;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 / n as f64, f64::from(*v)))
        .collect()
}

#[derive(Properties, PartialEq)]
pub(crate) struct PanelProps {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) ready: Rc<Ready>,
    pub(crate) state: PanelState,
    pub(crate) range: [f32; 2],
    /// Colour scale of the intermediate derivative; None: the problem names none.
    pub(crate) derivative_range: Option<[f32; 2]>,
    pub(crate) version: u64,
    pub(crate) generation: u32,
}

#[function_component]
pub(crate) fn Panel(p: &PanelProps) -> Html {
    let field = use_node_ref();
    let derivative = use_node_ref();
    let losses = use_node_ref();
    {
        let (field, derivative, losses) = (field.clone(), derivative.clone(), losses.clone());
        let (ready, state, range) = (p.ready.clone(), p.state.clone(), p.range);
        let derivative_range = p.derivative_range;
        use_effect_with((p.version, p.generation), move |_| {
            let latest = state.latest.as_deref();
            let parameter = latest.map(|s| s.parameter.as_slice());
            let truth = ready.truth.as_deref();
            let recovered = ("#2ca02c", "recovered");
            draw_estimate(&field, ready.shape, parameter, truth, range, recovered);
            if let Some(r) = derivative_range {
                let own = latest.and_then(|s| s.intermediate.as_deref());
                let truth = ready.intermediate_truth.as_deref();
                let symbol = ready.intermediate.as_deref().unwrap_or("derivative");
                draw_estimate(&derivative, ready.shape, own, truth, r, ("#9467bd", symbol));
            }
            if let Some(canvas) = losses.cast::<HtmlCanvasElement>() {
                let data: Vec<(f64, f64)> = state.losses.iter().map(|l| (l.0, l.1)).collect();
                let pde: Vec<(f64, f64)> = state.losses.iter().map(|l| (l.0, l.2)).collect();
                draw::lines(
                    &canvas,
                    &[
                        Series {
                            points: &data,
                            colour: "#1f77b4",
                            label: "data loss",
                            dashed: false,
                        },
                        Series {
                            points: &pde,
                            colour: "#d62728",
                            label: "PDE loss",
                            dashed: false,
                        },
                    ],
                    true,
                );
            }
        });
    }
    let latest = p.state.latest.as_deref();
    let fmt = |v: Option<f64>, digits: usize| {
        v.map(|v| format!("{v:.digits$}"))
            .unwrap_or_else(|| "—".into())
    };
    let exports = latest.map(|s| {
        let shape = p.ready.shape;
        let name = p.name.clone();
        let range = p.range;
        let values = Rc::new(s.parameter.clone());
        let file = |ext: &'static str| {
            let (values, name) = (values.clone(), name.clone());
            Callback::from(move |_| {
                let file = format!("{name}-parameter.{ext}");
                match ext {
                    "png" => {
                        if let Some(url) = draw::png(&values, shape, range, 4) {
                            download_url(&file, &url);
                        }
                    }
                    _ => {
                        if let Ok(bytes) = files::export(&values, shape, &file) {
                            download(&file, bytes, "application/octet-stream");
                        }
                    }
                }
            })
        };
        html! {
            <div class="exports">{"save: "}
                <button onclick={file("npy")}>{"NPY"}</button>
                <button onclick={file("csv")}>{"CSV"}</button>
                if shape[0] > 1 { <button onclick={file("png")}>{"PNG"}</button> }
            </div>
        }
    });
    let memory = latest
        .and_then(|s| s.memory_bytes)
        .map(|b| format!("{:.0} MiB", b as f64 / 1048576.0))
        .unwrap_or_else(|| "not reported".into());
    html! {
        <article class="panel" data-testid={format!("panel-{}", p.name)}
            data-step={latest.map(|s| s.step).unwrap_or(0).to_string()}
            data-correlation={latest.and_then(|s| s.correlation).map(|c| c.to_string()).unwrap_or_default()}
            data-ms-per-step={latest.map(|s| s.ms_per_step.to_string()).unwrap_or_default()}
            data-derivative-correlation={latest.and_then(|s| s.laplacian_correlation).map(|c| c.to_string()).unwrap_or_default()}>
            <h2>{format!("{} PINN", p.name)}</h2>
            <p class="blurb">{engine_blurb(&p.name)}</p>
            <canvas key={format!("field-{}-{}", p.index, p.generation)} id={format!("field-{}", p.index)}
                ref={field} width="256" height="256" />
            if let Some(symbol) = &p.ready.intermediate {
                <p class="caption">{format!("{symbol} as this engine computes it: the derivative the \
                    residual uses, on the truth's colour scale (noise shows as speckle; the frame: \
                    no value there)")}</p>
                <canvas key={format!("deriv-{}-{}", p.index, p.generation)} id={format!("deriv-{}", p.index)}
                    ref={derivative} width="256" height="256" />
            }
            if let Some(e) = &p.state.error { <p class="error">{e.clone()}</p> }
            <dl>
                <dt>{"step"}</dt><dd data-testid="step">{format!("{} / {}", latest.map(|s| s.step).unwrap_or(0), p.ready.steps)}</dd>
                <dt>{"correlation with truth"}</dt><dd class="big" data-testid="correlation">{fmt(latest.and_then(|s| s.correlation), 3)}</dd>
                <dt>{"derivative correlation (∇²T, v′, ∇²φ_d)"}</dt><dd>{fmt(latest.and_then(|s| s.laplacian_correlation), 3)}</dd>
                <dt>{"relative L2 error"}</dt><dd>{fmt(latest.and_then(|s| s.relative_l2), 3)}</dd>
                <dt>{"ms per step"}</dt><dd data-testid="ms-per-step">{fmt(latest.map(|s| s.ms_per_step), 1)}</dd>
                <dt>{"memory"}</dt><dd>{memory}</dd>
            </dl>
            <canvas ref={losses} width="256" height="120" />
            {exports.unwrap_or_default()}
        </article>
    }
}

#[derive(Properties, PartialEq)]
pub(crate) struct TruthProps {
    pub(crate) ready: Rc<Ready>,
    pub(crate) range: [f32; 2],
    pub(crate) derivative_range: Option<[f32; 2]>,
    pub(crate) generation: u32,
    /// Redrawn with the panels: cheap, and a renewed canvas gets its picture on the next one.
    pub(crate) version: u64,
}

#[function_component]
pub(crate) fn Truth(p: &TruthProps) -> Html {
    let node = use_node_ref();
    let derivative = use_node_ref();
    {
        let (node, derivative) = (node.clone(), derivative.clone());
        let (ready, range, derivative_range) = (p.ready.clone(), p.range, p.derivative_range);
        use_effect_with(
            (
                ready.clone(),
                range.map(f32::to_bits),
                p.generation,
                p.version,
            ),
            move |_| {
                let shape = ready.shape;
                draw_estimate(
                    &node,
                    shape,
                    ready.truth.as_deref(),
                    None,
                    range,
                    ("#444", "truth"),
                );
                if let Some(r) = derivative_range {
                    let truth = ready.intermediate_truth.as_deref();
                    let symbol = ready.intermediate.as_deref().unwrap_or("derivative");
                    draw_estimate(&derivative, shape, truth, None, r, ("#444", symbol));
                }
            },
        );
    }
    let r = &p.ready;
    html! {
        <article class="panel truth">
            <h2>{"ground truth"}</h2>
            <p class="blurb">{format!("{} / {}: the field both networks try to recover. Metrics use the central region (inset {} × {} points).",
                r.problem, r.case, r.metric_region[1], r.metric_region[0])}</p>
            if r.truth.is_some() {
                <canvas key={format!("field-truth-{}", p.generation)} id="field-truth" ref={node}
                    width="256" height="256" />
                <p class="scale">{format!("colour scale {:.3} (dark) … {:.3} (yellow)", p.range[0], p.range[1])}</p>
                if let (Some(symbol), Some(r), true) = (&r.intermediate, p.derivative_range, r.intermediate_truth.is_some()) {
                    <p class="caption">{format!("{symbol} of the clean solution")}</p>
                    <canvas key={format!("deriv-truth-{}", p.generation)} id="deriv-truth" ref={derivative}
                        width="256" height="256" />
                    <p class="scale">{format!("colour scale {:.3} … {:.3}", r[0], r[1])}</p>
                }
            } else {
                <p>{"this dataset has no ground truth: correlations are not available"}</p>
            }
            <p class="kernel-size">{format!("mollifier kernel: {} points{}", r.kernel_size,
                r.estimated_noise.map(|s| format!(" (auto: noise σ ≈ {s:.2e})")).unwrap_or_default())}</p>
        </article>
    }
}

#[derive(Properties, PartialEq)]
pub(crate) struct KernelProps {
    pub(crate) family: KernelFamily,
    pub(crate) size: Option<usize>,
    /// Redrawn with the panels too: opening the page's WebGPU device can clear 2D canvases
    /// drawn before it (seen on SwiftShader).
    pub(crate) version: u64,
}

/// φ and its derivatives (as far as the family has them) over its support, each scaled to a
/// peak of 1, with the grid points a kernel of the chosen size samples.
#[function_component]
pub(crate) fn KernelPlot(p: &KernelProps) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        use_effect_with((p.family, p.size, p.version), move |&(family, size, _)| {
            let Some(canvas) = node.cast::<HtmlCanvasElement>() else {
                return;
            };
            let kernel = Kernel::new(family);
            let curves: Vec<Vec<(f64, f64)>> = (0..=family.max_order().min(2))
                .map(|k| {
                    let pts: Vec<(f64, f64)> = (0..=200)
                        .map(|i| {
                            let t = -1.0 + i as f64 / 100.0;
                            (t, kernel.derivative_1d(t, k).unwrap_or(0.0))
                        })
                        .collect();
                    let peak = pts
                        .iter()
                        .map(|p| p.1.abs())
                        .fold(0.0, f64::max)
                        .max(1e-300);
                    pts.into_iter().map(|(t, v)| (t, v / peak)).collect()
                })
                .collect();
            let samples: Vec<(f64, f64)> = size
                .map(|n| {
                    let m = (n / 2) as i64;
                    (-m..=m)
                        .map(|j| {
                            let t = j as f64 / (m + 1) as f64;
                            (t, kernel.value_1d(t) / kernel.value_1d(0.0))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let labels = ["φ", "φ′", "φ″"];
            let colours = ["#333", "#1f77b4", "#d62728"];
            let mut series: Vec<Series<'_>> = curves
                .iter()
                .enumerate()
                .map(|(k, c)| Series {
                    points: c,
                    colour: colours[k],
                    label: labels[k],
                    dashed: k > 0,
                })
                .collect();
            series.push(Series {
                points: &samples,
                colour: "#2ca02c",
                label: "samples",
                dashed: false,
            });
            draw::lines(&canvas, &series, false);
        });
    }
    html! {
        <aside class="kernel">
            <h3>{format!("kernel: {}{}", p.family.name(), p.size.map(|n| format!(", {n} points")).unwrap_or_else(|| ", size auto".into()))}</h3>
            <canvas ref={node} width="320" height="140" />
            <p class="blurb">{"The mollifier smooths the network's output with φ and differentiates \
                by convolving with φ′, φ″ — exact derivatives of a smooth kernel instead of the network."}</p>
        </aside>
    }
}
