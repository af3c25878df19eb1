//! The page: controls, the kernel plot and one panel per engine. Every control is live — a
//! change restarts a running comparison — and mirrored into the URL. Training happens in the
//! worker; this thread only draws snapshots.

use std::rc::Rc;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::{SinkExt, StreamExt};
use gloo::file::File;
use mollify_core::backend::BackendChoice;
use mollify_core::kernel::{Kernel, KernelFamily};
use mollify_core::model::Arch;
use mollify_core::problems::Builtin;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew_agent::reactor::ReactorSpawner;

use crate::draw::{self, Series};
use crate::files;
use crate::protocol::{Input, Output, Ready, Snapshot};
use crate::settings::{KernelSize, MAX_NOISE, PROBLEMS, Settings};
use crate::worker::TrainingWorker;

/// Spawns the training worker (an ES-module worker running this same wasm module) and returns
/// the sender of its inputs; its outputs go to `on_output`. (yew-agent 0.5's `ReactorProvider`
/// loses the module flag on the way to its spawner, so the bridge is made here.)
fn spawn_worker(on_output: impl Fn(Output) + 'static) -> UnboundedSender<Input> {
    let (tx, mut rx) = unbounded();
    let bridge = ReactorSpawner::<TrainingWorker>::new()
        .as_module(true)
        .spawn("mollify-web.js");
    let (mut sink, mut stream) = bridge.split();
    wasm_bindgen_futures::spawn_local(async move {
        while let Some(input) = rx.next().await {
            if sink.send(input).await.is_err() {
                break;
            }
        }
    });
    wasm_bindgen_futures::spawn_local(async move {
        while let Some(output) = stream.next().await {
            on_output(output);
        }
        on_output(Output::Error {
            panel: None,
            message: "the training worker stopped".into(),
        });
    });
    tx
}

fn describe(problem: Builtin) -> &'static str {
    match problem {
        Builtin::Langevin => {
            "A particle's velocity v(t) is pushed by an unknown force F(t): dv/dt = −γv + F. \
             From noisy samples of v, recover F (a 1st-order problem)."
        }
        Builtin::Heat => {
            "Heat spreads through a plate whose conductivity k(x, y) is unknown: k∇²T + f = 0. \
             From a few noisy temperature readings, recover k (2nd derivatives)."
        }
        Builtin::Chromatin => {
            "Chromatin in a cell nucleus settles into a pattern set by a reaction rate Γ(x, y). \
             From the pattern, recover Γ (a 4th-order PDE: the hard case for autodiff)."
        }
        Builtin::Ode => "",
    }
}

fn engine_blurb(name: &str) -> &'static str {
    match name {
        "autodiff" => {
            "The network is differentiated through all its layers (Taylor-mode autodiff): \
             exact but costly, and it amplifies noise."
        }
        "mollifier" => {
            "The network's output is convolved with the derivatives of a smooth kernel: \
             cheap, and it smooths noise away."
        }
        _ => "Finite differences of the network's output on the grid: cheap but noisy.",
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
struct PanelState {
    latest: Option<Rc<Snapshot>>,
    /// (step, data loss, PDE loss)
    losses: Rc<Vec<(f64, f64, f64)>>,
    error: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Model {
    ready: Option<Rc<Ready>>,
    panels: Vec<PanelState>,
    running: bool,
    notices: Vec<String>,
    /// Bumped on every change, so drawing effects know when to run.
    version: u64,
}

enum Action {
    Output(Output),
    Notice(String),
    Dismiss(usize),
}

impl Reducible for Model {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut m = Model {
            version: self.version + 1,
            ..(*self).clone()
        };
        match action {
            Action::Output(Output::Ready(ready)) => {
                m.panels = vec![PanelState::default(); ready.panels.len()];
                m.ready = Some(Rc::new(ready));
            }
            Action::Output(Output::Snapshot(s)) => {
                if let Some(p) = m.panels.get_mut(s.panel) {
                    Rc::make_mut(&mut p.losses).push((s.step as f64, s.data_loss, s.pde_loss));
                    p.latest = Some(Rc::new(s));
                }
            }
            Action::Output(Output::Running(running)) => m.running = running,
            Action::Output(Output::Error { panel, message }) => {
                match panel.and_then(|i| m.panels.get_mut(i)) {
                    Some(p) => p.error = Some(message),
                    None => m.notices.push(message),
                }
            }
            Action::Notice(message) => m.notices.push(message),
            Action::Dismiss(i) => {
                if i < m.notices.len() {
                    m.notices.remove(i);
                }
            }
        }
        Rc::new(m)
    }
}

fn window_query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

fn set_url(settings: &Settings) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let url = format!("?{}", settings.to_query());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

fn download(name: &str, bytes: Vec<u8>, mime: &str) {
    let blob = gloo::file::Blob::new_with_options(bytes.as_slice(), Some(mime));
    let url = gloo::file::ObjectUrl::from(blob);
    download_url(name, &url);
}

fn download_url(name: &str, url: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(a) = document.create_element("a") {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(url);
        a.set_download(name);
        a.click();
    }
}

/// A user's dataset: a label for the badge and the files the worker rebuilds it from.
#[derive(Debug, Clone, PartialEq)]
struct UserData {
    label: String,
    files: Rc<Vec<(String, Vec<u8>)>>,
}

/// The page.
#[function_component]
pub fn App() -> Html {
    let initial = use_memo((), |_| Settings::from_query(&window_query()));
    let settings = use_state(|| initial.0.clone());
    let model = use_reducer(|| Model {
        notices: initial.1.iter().map(|p| format!("link: {p}")).collect(),
        ..Model::default()
    });
    let user_data = use_state(|| None::<UserData>);
    let heatmaps = use_state(|| None::<Result<String, String>>);
    // Bumped when the page's WebGPU device is lost: new canvas elements (keyed by it) take
    // plain 2D contexts.
    let canvas_generation = use_state(|| 0u32);
    let bridge = {
        let model = model.dispatcher();
        use_memo((), move |_| {
            spawn_worker(move |output| model.dispatch(Action::Output(output)))
        })
    };
    {
        // The page opens its own WebGPU device for the heatmaps only while the worker trains on
        // the CPU: with a second device in the same tab, Chromium (SwiftShader, measured) loses
        // one of them ("A valid external Instance reference no longer exists").
        let (heatmaps, generation) = (heatmaps.clone(), canvas_generation.clone());
        let worker_backend = model.ready.as_ref().map(|r| r.backend.clone());
        use_effect_with(worker_backend, move |backend| match backend.as_deref() {
            Some("wgpu") => {
                draw::release_gpu();
                heatmaps.set(Some(Err(
                    "the training worker holds this tab's WebGPU device".into(),
                )));
            }
            Some(_) if !matches!(*heatmaps, Some(Ok(_))) => {
                let lost = {
                    let (heatmaps, generation) = (heatmaps.clone(), generation.clone());
                    Callback::from(move |why: String| {
                        // Off the device's own callback: then drop it and renew the canvases.
                        let (heatmaps, generation) = (heatmaps.clone(), generation.clone());
                        wasm_bindgen_futures::spawn_local(async move {
                            draw::release_gpu();
                            heatmaps.set(Some(Err(why)));
                            generation.set(*generation + 1);
                        });
                    })
                };
                wasm_bindgen_futures::spawn_local(async move {
                    heatmaps.set(Some(draw::init_gpu(lost).await));
                });
            }
            _ => {}
        });
    }
    use_effect_with((*settings).clone(), set_url);

    let start = {
        let bridge = bridge.clone();
        let user_data = user_data.clone();
        Callback::from(move |s: Settings| {
            send(
                &bridge,
                Input::Start {
                    settings: s,
                    dataset: user_data.as_ref().map(|d| (*d.files).clone()),
                },
            )
        })
    };
    // Every control goes through here: store, and restart a live comparison.
    let change = {
        let settings = settings.clone();
        let start = start.clone();
        let live = model.ready.is_some();
        Callback::from(move |s: Settings| {
            if live {
                start.emit(s.clone());
            }
            settings.set(s);
        })
    };
    let edit = |f: fn(&mut Settings, String)| {
        let settings = settings.clone();
        let change = change.clone();
        Callback::from(move |e: Event| {
            let value = match e.target() {
                Some(t) if t.has_type::<HtmlSelectElement>() => {
                    t.unchecked_into::<HtmlSelectElement>().value()
                }
                Some(t) => {
                    let input = t.unchecked_into::<HtmlInputElement>();
                    if input.type_() == "checkbox" {
                        input.checked().to_string()
                    } else {
                        input.value()
                    }
                }
                None => return,
            };
            let mut s = (*settings).clone();
            f(&mut s, value);
            change.emit(s);
        })
    };
    let on_problem = edit(|s, v| {
        if let Ok(p) = v.parse::<Builtin>() {
            s.problem = p;
            s.case = p.cases()[0].to_string();
            if s.kernel.max_order() < p.order() {
                s.kernel = KernelFamily::Bump;
            }
        }
    });
    let on_case = edit(|s, v| s.case = v);
    let on_noise = edit(|s, v| s.noise = v.parse().unwrap_or(s.noise));
    let on_fraction = edit(|s, v| s.fraction = v.parse().unwrap_or(s.fraction));
    let on_kernel = edit(|s, v| s.kernel = v.parse().unwrap_or(s.kernel));
    let on_size = edit(|s, v| s.kernel_size = v.parse().unwrap_or(s.kernel_size));
    let on_arch = edit(|s, v| s.arch = v.parse().unwrap_or(s.arch));
    let on_seed = edit(|s, v| s.seed = v.parse().unwrap_or(s.seed));
    let on_fd = edit(|s, v| s.fd = v == "true");
    let on_backend = edit(|s, v| s.backend = v.parse().unwrap_or(s.backend));
    let on_steps = edit(|s, v| {
        s.steps = v
            .parse()
            .unwrap_or(s.steps)
            .clamp(1, crate::settings::MAX_STEPS)
    });

    let on_start = {
        let start = start.clone();
        let settings = settings.clone();
        Callback::from(move |_| start.emit((*settings).clone()))
    };
    let on_pause = {
        let bridge = bridge.clone();
        let running = model.running;
        Callback::from(move |_| send(&bridge, if running { Input::Pause } else { Input::Resume }))
    };
    let on_reset = {
        let bridge = bridge.clone();
        Callback::from(move |_| send(&bridge, Input::Reset))
    };
    let on_files = {
        let model = model.dispatcher();
        let user_data = user_data.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(list) = input.files() else { return };
            let chosen: Vec<File> = gloo::file::FileList::from(list).iter().cloned().collect();
            input.set_value("");
            let model = model.clone();
            let user_data = user_data.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let mut files = Vec::new();
                for f in &chosen {
                    match gloo::file::futures::read_as_bytes(f).await {
                        Ok(bytes) => files.push((f.name(), bytes)),
                        Err(e) => {
                            model.dispatch(Action::Notice(format!("{}: {e}", f.name())));
                            return;
                        }
                    }
                }
                match files::dataset_from_files(&files) {
                    Ok(ds) => user_data.set(Some(UserData {
                        label: format!(
                            "{} / {} on a {:?} grid ({} files)",
                            ds.problem,
                            ds.case,
                            ds.grid.shape(),
                            files.len()
                        ),
                        files: Rc::new(files),
                    })),
                    Err(message) => {
                        model.dispatch(Action::Notice(format!("dataset not loaded: {message}")))
                    }
                }
            });
        })
    };
    let on_clear_data = {
        let user_data = user_data.clone();
        Callback::from(move |_| user_data.set(None))
    };
    let on_share = {
        let model = model.dispatcher();
        Callback::from(move |_| {
            let Some(window) = web_sys::window() else {
                return;
            };
            let href = window.location().href().unwrap_or_default();
            let _ = window.navigator().clipboard().write_text(&href);
            model.dispatch(Action::Notice(format!("link copied: {href}")));
        })
    };

    let s = &*settings;
    let ready = model.ready.clone();
    let kernel_size = match (s.kernel_size, &ready) {
        (KernelSize::Points(n), _) => Some(n),
        (KernelSize::Auto, Some(r)) => Some(r.kernel_size),
        (KernelSize::Auto, None) => None,
    };
    let range = ready.as_ref().map(|r| colour_range(r, &model.panels));
    let option = |value: &str, label: &str, selected: bool, disabled: bool| {
        html! { <option value={value.to_string()} {selected} {disabled}>{label.to_string()}</option> }
    };
    let backend_badge = match &ready {
        None => html! { <span class="badge">{"backend: chosen when a run starts"}</span> },
        Some(r) if r.backend == "wgpu" => {
            html! { <span class="badge gpu" data-testid="backend">{"training on WebGPU"}</span> }
        }
        Some(r) => html! {
            <span class="badge cpu" data-testid="backend"
                title={r.fallback_reason.clone().unwrap_or_default()}>
                {format!("training on the CPU (wasm){}", r.fallback_reason.as_ref()
                    .map(|why| format!(": {why}")).unwrap_or_default())}
            </span>
        },
    };
    let heatmap_badge = match &*heatmaps {
        None => html! {},
        Some(Ok(adapter)) => html! {
            <span class="badge gpu" data-testid="heatmaps">{format!("fields drawn by a WGSL shader on WebGPU{}",
                if adapter.is_empty() { String::new() } else { format!(" ({adapter})") })}</span>
        },
        Some(Err(why)) => html! {
            <span class="badge cpu" data-testid="heatmaps">{format!("fields drawn on a plain canvas: {why}")}</span>
        },
    };

    html! {
        <main>
            <header>
                <h1>{"Mollifier layers vs autodiff"}</h1>
                <p class="lead">
                    {"A neural network is asked to find a hidden field from a few noisy measurements \
                      and a physical law. The law needs derivatives of the network's output; the two \
                      panels compute them differently. Watch which one recovers the hidden field \
                      (right: the truth) faster and better."}
                </p>
            </header>
            <section class="controls">
                <label>{"problem"}
                    <select onchange={on_problem} data-testid="problem">
                        { for PROBLEMS.iter().map(|p| option(p.name(), p.name(), *p == s.problem, false)) }
                    </select>
                </label>
                <label>{"parameter case"}
                    <select onchange={on_case}>
                        { for s.problem.cases().iter().map(|c| option(c, c, *c == s.case, false)) }
                    </select>
                </label>
                <label>{format!("noise {:.0}%", 100.0 * s.noise)}
                    <input type="range" min="0" max={MAX_NOISE.to_string()} step="0.01"
                        value={s.noise.to_string()} onchange={on_noise} />
                </label>
                <label>{format!("observed {:.0}%", 100.0 * s.fraction)}
                    <input type="range" min="0.01" max="1" step="0.01"
                        value={s.fraction.to_string()} onchange={on_fraction} />
                </label>
                <label>{"kernel"}
                    <select onchange={on_kernel}>
                        { for KernelFamily::ALL.iter().map(|k| option(k.name(), k.name(), *k == s.kernel,
                            k.max_order() < s.problem.order())) }
                    </select>
                </label>
                <label>{"kernel size"}
                    <select onchange={on_size}>
                        { option("auto", "auto", s.kernel_size == KernelSize::Auto, false) }
                        { for (KernelSize::MIN..=KernelSize::MAX).step_by(2).map(|n| option(&n.to_string(),
                            &format!("{n} points"), s.kernel_size == KernelSize::Points(n), false)) }
                    </select>
                </label>
                <label>{"network"}
                    <select onchange={on_arch}>
                        { for Arch::ALL.iter().map(|a| option(a.name(), a.name(), *a == s.arch, false)) }
                    </select>
                </label>
                <label>{"seed"}
                    <input type="number" min="0" value={s.seed.to_string()} onchange={on_seed} />
                </label>
                <label>{"steps"}
                    <input type="number" min="1" value={s.steps.to_string()} onchange={on_steps} />
                </label>
                <label>{"train on"}
                    <select onchange={on_backend} data-testid="backend-choice">
                        { option("auto", "WebGPU if available", s.backend == BackendChoice::Auto, false) }
                        { option("webgpu", "WebGPU", s.backend == BackendChoice::Wgpu, false) }
                        { option("cpu", "CPU", s.backend == BackendChoice::Cpu, false) }
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" checked={s.fd} onchange={on_fd} />{"finite differences too"}
                </label>
                <div class="buttons">
                    <button onclick={on_start} data-testid="start">{"Start"}</button>
                    <button onclick={on_pause} data-testid="pause" disabled={ready.is_none()}>
                        { if model.running { "Pause" } else { "Resume" } }
                    </button>
                    <button onclick={on_reset} data-testid="reset" disabled={ready.is_none()}>{"Reset"}</button>
                    <button onclick={on_share}>{"Copy link"}</button>
                </div>
                <label class="file">{"your data (dataset folder files)"}
                    <input type="file" multiple=true accept=".json,.npy,.csv" onchange={on_files}
                        data-testid="dataset" />
                </label>
                if let Some(d) = &*user_data {
                    <span class="badge" data-testid="user-data">{format!("data: {}", d.label)}
                        <button onclick={on_clear_data}>{"×"}</button></span>
                }
            </section>
            <p class="about">{describe(s.problem)}</p>
            <div class="badges">{backend_badge}{heatmap_badge}</div>
            <div class="notices">
                { for model.notices.iter().enumerate().map(|(i, n)| {
                    let dispatch = model.dispatcher();
                    html! { <p class="notice" data-testid="notice">{n.clone()}
                        <button onclick={Callback::from(move |_| dispatch.dispatch(Action::Dismiss(i)))}>{"dismiss"}</button></p> }
                }) }
            </div>
            <KernelPlot family={s.kernel} size={kernel_size} version={model.version} />
            if let (Some(r), Some(range)) = (ready.clone(), range) {
                <section class="panels">
                    { for r.panels.iter().enumerate().map(|(i, name)| html! {
                        <Panel index={i} name={name.clone()} ready={r.clone()}
                            state={model.panels[i].clone()} {range} version={model.version}
                            generation={*canvas_generation} />
                    }) }
                    <Truth ready={r.clone()} {range} generation={*canvas_generation}
                        version={model.version} />
                </section>
            }
        </main>
    }
}

/// Shared colour scale: the truth's range, or all panels' when there is no truth.
fn colour_range(ready: &Ready, panels: &[PanelState]) -> [f32; 2] {
    let values: Box<dyn Iterator<Item = f32>> = match &ready.truth {
        Some(t) => Box::new(t.iter().copied()),
        None => Box::new(
            panels
                .iter()
                .filter_map(|p| p.latest.as_ref())
                .flat_map(|s| s.parameter.iter().copied()),
        ),
    };
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi { [0.0, 1.0] } else { [lo, hi] }
}

fn field_series(values: &[f32]) -> Vec<(f64, f64)> {
    let n = values.len().max(2) - 1;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 / n as f64, f64::from(*v)))
        .collect()
}

#[derive(Properties, PartialEq)]
struct PanelProps {
    index: usize,
    name: String,
    ready: Rc<Ready>,
    state: PanelState,
    range: [f32; 2],
    version: u64,
    generation: u32,
}

#[function_component]
fn Panel(p: &PanelProps) -> Html {
    let field = use_node_ref();
    let losses = use_node_ref();
    {
        let (field, losses) = (field.clone(), losses.clone());
        let (ready, state, range) = (p.ready.clone(), p.state.clone(), p.range);
        use_effect_with((p.version, p.generation), move |_| {
            draw_field(&field, &ready, state.latest.as_deref(), range);
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
            data-ms-per-step={latest.map(|s| s.ms_per_step.to_string()).unwrap_or_default()}>
            <h2>{format!("{} PINN", p.name)}</h2>
            <p class="blurb">{engine_blurb(&p.name)}</p>
            <canvas key={format!("field-{}-{}", p.index, p.generation)} id={format!("field-{}", p.index)}
                ref={field} width="256" height="256" />
            if let Some(e) = &p.state.error { <p class="error">{e.clone()}</p> }
            <dl>
                <dt>{"step"}</dt><dd data-testid="step">{format!("{} / {}", latest.map(|s| s.step).unwrap_or(0), p.ready.steps)}</dd>
                <dt>{"correlation with truth"}</dt><dd class="big" data-testid="correlation">{fmt(latest.and_then(|s| s.correlation), 3)}</dd>
                <dt>{"Laplacian correlation"}</dt><dd>{fmt(latest.and_then(|s| s.laplacian_correlation), 3)}</dd>
                <dt>{"relative L2 error"}</dt><dd>{fmt(latest.and_then(|s| s.relative_l2), 3)}</dd>
                <dt>{"ms per step"}</dt><dd data-testid="ms-per-step">{fmt(latest.map(|s| s.ms_per_step), 1)}</dd>
                <dt>{"memory"}</dt><dd>{memory}</dd>
            </dl>
            <canvas ref={losses} width="256" height="120" />
            {exports.unwrap_or_default()}
        </article>
    }
}

fn draw_field(node: &NodeRef, ready: &Ready, latest: Option<&Snapshot>, range: [f32; 2]) {
    let Some(canvas) = node.cast::<HtmlCanvasElement>() else {
        return;
    };
    let Some(s) = latest else { return };
    if ready.shape[0] == 1 {
        let recovered = field_series(&s.parameter);
        let truth = ready.truth.as_deref().map(field_series).unwrap_or_default();
        draw::lines(
            &canvas,
            &[
                Series {
                    points: &truth,
                    colour: "#444",
                    label: "truth",
                    dashed: true,
                },
                Series {
                    points: &recovered,
                    colour: "#2ca02c",
                    label: "recovered",
                    dashed: false,
                },
            ],
            false,
        );
    } else {
        draw::heatmap(&canvas, &s.parameter, ready.shape, range);
    }
}

#[derive(Properties, PartialEq)]
struct TruthProps {
    ready: Rc<Ready>,
    range: [f32; 2],
    generation: u32,
    /// Redrawn with the panels: cheap, and a renewed canvas gets its picture on the next one.
    version: u64,
}

#[function_component]
fn Truth(p: &TruthProps) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        let (ready, range) = (p.ready.clone(), p.range);
        use_effect_with(
            (
                ready.clone(),
                range.map(f32::to_bits),
                p.generation,
                p.version,
            ),
            move |_| {
                if let (Some(canvas), Some(truth)) =
                    (node.cast::<HtmlCanvasElement>(), &ready.truth)
                {
                    if ready.shape[0] == 1 {
                        let t = field_series(truth);
                        draw::lines(
                            &canvas,
                            &[Series {
                                points: &t,
                                colour: "#444",
                                label: "truth",
                                dashed: true,
                            }],
                            false,
                        );
                    } else {
                        draw::heatmap(&canvas, truth, ready.shape, range);
                    }
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
            } else {
                <p>{"this dataset has no ground truth: correlations are not available"}</p>
            }
            <p class="kernel-size">{format!("mollifier kernel: {} points{}", r.kernel_size,
                r.estimated_noise.map(|s| format!(" (auto: noise σ ≈ {s:.2e})")).unwrap_or_default())}</p>
        </article>
    }
}

#[derive(Properties, PartialEq)]
struct KernelProps {
    family: KernelFamily,
    size: Option<usize>,
    /// Redrawn with the panels too: opening the page's WebGPU device can clear 2D canvases
    /// drawn before it (seen on SwiftShader).
    version: u64,
}

/// φ and its derivatives (as far as the family has them) over its support, each scaled to a
/// peak of 1, with the grid points a kernel of the chosen size samples.
#[function_component]
fn KernelPlot(p: &KernelProps) -> Html {
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

fn send(bridge: &UnboundedSender<Input>, input: Input) {
    // Fails only once the worker is gone, which the page already reports.
    let _ = bridge.unbounded_send(input);
}
