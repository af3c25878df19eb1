//! The page: controls, the kernel plot and one panel per engine. Every control is live — a
//! change restarts a running comparison — and mirrored into the URL. Training happens in the
//! worker; this thread only draws snapshots.

use std::rc::Rc;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::{SinkExt, StreamExt};
use gloo::file::File;
use mollify_core::backend::BackendChoice;
use mollify_core::model::Arch;
use mollify_core::numerics::kernel::KernelFamily;
use mollify_core::train::KernelSize;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use yew_agent::reactor::ReactorSpawner;

use crate::draw;
use crate::files;
use crate::lessons::{self, LESSONS, View};
use crate::panels::{KernelPlot, Panel, PanelState, Truth, colour_range, derivative_range};
use crate::protocol::{Input, Output, Ready};
use crate::settings::{MAX_KERNEL, MAX_NOISE, MIN_KERNEL, Settings, problems};
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

fn set_url(settings: &Settings, view: &View) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let url = format!("?{}{}", settings.to_query(), view.to_query());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

pub(crate) fn download(name: &str, bytes: Vec<u8>, mime: &str) {
    let blob = gloo::file::Blob::new_with_options(bytes.as_slice(), Some(mime));
    let url = gloo::file::ObjectUrl::from(blob);
    download_url(name, &url);
}

pub(crate) fn download_url(name: &str, url: &str) {
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
    let view = use_memo((), |_| View::from_query(&window_query()));
    let settings = use_state(|| initial.0.clone());
    let model = use_reducer(|| Model {
        notices: initial
            .1
            .iter()
            .chain(&view.1)
            .map(|p| format!("link: {p}"))
            .collect(),
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
    {
        let view = view.0;
        use_effect_with((*settings).clone(), move |s| set_url(s, &view));
    }
    let lessons = html! {
        <nav class="lessons" data-testid="lessons">{"things to try: "}
            { for LESSONS.iter().map(|l| html! {
                <a href={lessons::href(l)} data-testid={format!("lesson-{}", l.id)}>{l.title}</a>
            }) }
        </nav>
    };
    let lesson_note = view.0.lesson.map(|l| html! {
        <p class="lesson" data-testid="lesson"><strong>{format!("Try: {}. ", l.title)}</strong>{l.look_for}</p>
    });

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
        if let Ok(p) = mollify_core::problems::builtin(&v) {
            s.problem = p.name().to_string();
            s.case = p.cases()[0].to_string();
            // Each problem's own size (the CLI's default when a run names none).
            s.kernel_size = KernelSize::Points(p.kernel_size());
            if s.kernel.max_operator_order() < p.order() {
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
    let problem = s.problem();
    let ready = model.ready.clone();
    let kernel_size = match (s.kernel_size, &ready) {
        (KernelSize::Points(n), _) => Some(n),
        (KernelSize::Auto, Some(r)) => Some(r.kernel_size),
        (KernelSize::Auto, None) => None,
    };
    let range = ready.as_ref().map(|r| colour_range(r, &model.panels));
    let derivative_range = ready
        .as_ref()
        .and_then(|r| derivative_range(r, &model.panels));
    let option = |value: &str, label: &str, selected: bool, disabled: bool| {
        html! { <option value={value.to_string()} {selected} {disabled}>{label.to_string()}</option> }
    };
    let backend_badge = match &ready {
        None => html! { <span class="badge">{"backend: chosen when a run starts"}</span> },
        Some(r) if r.backend == "wgpu" => {
            html! { <span class="badge gpu" data-testid="backend">{"training on WebGPU"}</span> }
        }
        // Plain words for a learner; the backend's own reason stays one hover away.
        Some(r) => html! {
            <span class="badge cpu" data-testid="backend"
                title={r.fallback_reason.clone().unwrap_or_default()}>
                {if r.fallback_reason.is_some() {
                    "this browser offers this page no GPU, so training runs on the CPU (hover for why)"
                } else {
                    "training on the CPU, as chosen"
                }}
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
            <span class="badge cpu" data-testid="heatmaps" title={why.clone()}>
                {"fields drawn on a plain canvas, without the GPU (hover for why)"}
            </span>
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
                      (right: the truth) and its derivatives, and how fast. The panels race for \
                      equal time, so compare their step counters too: on the heat problem at 5 % \
                      noise and equal steps the two ∇²T are equally close, within the spread over \
                      seeds (measured: mollify's docs/results.md), while the mollifier takes three \
                      to four steps to its one."}
                </p>
            </header>
            if view.0.controls { {lessons} }
            {lesson_note.unwrap_or_default()}
            // `controls=0` (an embedded lesson) keeps only the buttons.
            <section class={classes!("controls", (!view.0.controls).then_some("minimal"))}>
                <label>{"problem"}
                    <select onchange={on_problem} data-testid="problem">
                        { for problems().iter().map(|p| option(p.name(), p.name(), p.name() == s.problem, false)) }
                    </select>
                </label>
                <label>{"parameter case"}
                    <select onchange={on_case}>
                        { for problem.cases().iter().map(|c| option(c, c, *c == s.case, false)) }
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
                            k.max_operator_order() < problem.order())) }
                    </select>
                </label>
                <label>{"kernel size"}
                    <select onchange={on_size}>
                        { option("auto", "auto", s.kernel_size == KernelSize::Auto, false) }
                        { for (MIN_KERNEL..=MAX_KERNEL).step_by(2).map(|n| option(&n.to_string(),
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
            <p class="about">{format!("{}.", problem.description())}</p>
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
                            state={model.panels[i].clone()} {range} {derivative_range}
                            version={model.version} generation={*canvas_generation} />
                    }) }
                    <Truth ready={r.clone()} {range} {derivative_range}
                        generation={*canvas_generation} version={model.version} />
                </section>
            }
        </main>
    }
}

fn send(bridge: &UnboundedSender<Input>, input: Input) {
    // Fails only once the worker is gone, which the page already reports.
    let _ = bridge.unbounded_send(input);
}
