//! Drawing on canvases: field heatmaps through the WGSL shader on WebGPU where the page gets an
//! adapter (else the same colormap on a 2D canvas), and line plots (1D fields, losses, kernels).

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::heatmap::{Field, Renderer, rgba};

struct Gpu {
    instance: wgpu::Instance,
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    renderers: HashMap<wgpu::TextureFormat, Renderer>,
    /// One configured surface per canvas id, with the canvas it was made for (Yew may replace
    /// the element under the same id).
    surfaces: HashMap<String, (HtmlCanvasElement, wgpu::Surface<'static>)>,
}

thread_local! {
    static GPU: RefCell<Option<Gpu>> = const { RefCell::new(None) };
    /// Told when the device is lost (the device's callback must be `Send`, so it finds the
    /// page's handler here).
    static ON_LOST: RefCell<Option<yew::Callback<String>>> = const { RefCell::new(None) };
}

/// Brings up WebGPU for the heatmaps; the error says why the plain canvas draws instead.
/// `on_lost` hears (once) if the device is lost later: the page then swaps its canvases for
/// plain ones (a canvas keeps the kind of context it was first given).
pub(crate) async fn init_gpu(on_lost: yew::Callback<String>) -> Result<String, String> {
    if let Some(name) = GPU.with_borrow(|gpu| gpu.as_ref().map(|g| g.adapter.get_info().name)) {
        ON_LOST.with_borrow_mut(|h| *h = Some(on_lost));
        return Ok(name);
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    let instance = wgpu::Instance::new(desc);
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
        .map_err(|e| format!("no WebGPU adapter ({e})"))?;
    let name = adapter.get_info().name;
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor::default())
        .await
        .map_err(|e| format!("WebGPU device: {e}"))?;
    ON_LOST.with_borrow_mut(|h| *h = Some(on_lost));
    device.set_device_lost_callback(|reason, message| {
        // `Destroyed` is this page dropping a device on purpose (`release_gpu`).
        if reason == wgpu::DeviceLostReason::Destroyed {
            return;
        }
        let why = format!("WebGPU device lost ({reason:?}): {message}");
        web_sys::console::warn_1(&why.clone().into());
        if let Some(handler) = ON_LOST.with_borrow_mut(Option::take) {
            handler.emit(why);
        }
    });
    GPU.with_borrow_mut(|gpu| {
        *gpu = Some(Gpu {
            instance,
            adapter,
            device,
            queue,
            renderers: HashMap::new(),
            surfaces: HashMap::new(),
        })
    });
    Ok(name)
}

/// Drops the page's WebGPU device (the worker is about to train on WebGPU, or it was lost).
pub(crate) fn release_gpu() {
    ON_LOST.with_borrow_mut(|h| *h = None);
    GPU.with_borrow_mut(|gpu| *gpu = None);
}

fn ctx2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Draws a [ny, nx] field on `canvas` with the colour scale `range`: the shader when WebGPU
/// is up, else the CPU colormap.
pub(crate) fn heatmap(
    canvas: &HtmlCanvasElement,
    values: &[f32],
    shape: [usize; 2],
    range: [f32; 2],
) {
    // A canvas keeps the first kind of context it is given: one drawn on the CPU stays there
    // (asking it for a WebGPU context fails and, on SwiftShader, broke the page's device).
    let plain = canvas.get_attribute(PLAIN).is_some();
    let drawn = !plain
        && GPU.with_borrow_mut(|gpu| {
            gpu.as_mut()
                .is_some_and(|gpu| heatmap_gpu(gpu, canvas, values, shape, range).is_some())
        });
    if !drawn {
        let _ = canvas.set_attribute(PLAIN, "");
        heatmap_cpu(canvas, values, shape, range);
    }
}

/// Marks a field canvas that has a 2D context.
const PLAIN: &str = "data-plain";

fn heatmap_gpu(
    gpu: &mut Gpu,
    canvas: &HtmlCanvasElement,
    values: &[f32],
    shape: [usize; 2],
    range: [f32; 2],
) -> Option<()> {
    let id = canvas.id();
    if gpu.surfaces.get(&id).is_none_or(|(c, _)| c != canvas) {
        let surface = gpu
            .instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
            .ok()?;
        let config = surface.get_default_config(&gpu.adapter, canvas.width(), canvas.height())?;
        surface.configure(&gpu.device, &config);
        gpu.renderers
            .entry(config.format)
            .or_insert_with(|| Renderer::new(&gpu.device, config.format));
        gpu.surfaces.insert(id.clone(), (canvas.clone(), surface));
    }
    let surface = &gpu.surfaces[&id].1;
    let frame = match surface.get_current_texture() {
        wgpu::CurrentSurfaceTexture::Success(t) | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
        _ => return None,
    };
    let format = frame.texture.format();
    let view = frame.texture.create_view(&Default::default());
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let field = Field {
        values,
        shape,
        range,
    };
    gpu.renderers[&format].draw(&gpu.device, &gpu.queue, &mut encoder, &view, field);
    gpu.queue.submit([encoder.finish()]);
    gpu.queue.present(frame);
    Some(())
}

/// The CPU twin of the shader, scaled up without smoothing.
pub(crate) fn heatmap_cpu(
    canvas: &HtmlCanvasElement,
    values: &[f32],
    shape: [usize; 2],
    range: [f32; 2],
) {
    let Some(ctx) = ctx2d(canvas) else { return };
    let Some(image) = field_canvas(values, shape, range) else {
        return;
    };
    ctx.set_image_smoothing_enabled(false);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(
        &image,
        0.0,
        0.0,
        f64::from(canvas.width()),
        f64::from(canvas.height()),
    );
}

/// A canvas holding the field at one pixel per grid point (also the PNG export's source).
pub(crate) fn field_canvas(
    values: &[f32],
    shape: [usize; 2],
    range: [f32; 2],
) -> Option<HtmlCanvasElement> {
    let [ny, nx] = shape;
    let document = web_sys::window()?.document()?;
    let canvas: HtmlCanvasElement = document.create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(nx as u32);
    canvas.set_height(ny as u32);
    let pixels = rgba(values, shape, range);
    let image =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), nx as u32, ny as u32).ok()?;
    ctx2d(&canvas)?.put_image_data(&image, 0.0, 0.0).ok()?;
    Some(canvas)
}

/// One curve of a line plot.
#[derive(Debug, Clone)]
pub(crate) struct Series<'a> {
    /// x and y of each point.
    pub(crate) points: &'a [(f64, f64)],
    /// CSS colour.
    pub(crate) colour: &'a str,
    /// Legend text.
    pub(crate) label: &'a str,
    /// Dashed line.
    pub(crate) dashed: bool,
}

/// A small line plot with a frame, the y range in the corner and a legend; `log_y` plots
/// log10 of positive values.
pub(crate) fn lines(canvas: &HtmlCanvasElement, series: &[Series<'_>], log_y: bool) {
    let Some(ctx) = ctx2d(canvas) else { return };
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, w, h);
    let map_y = |y: f64| if log_y { y.max(1e-30).log10() } else { y };
    let all = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| p.1.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(map_y(y));
        y1 = y1.max(map_y(y));
    }
    if x0 > x1 {
        return;
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let pad = 0.05 * (y1 - y0);
    (y0, y1) = (y0 - pad, y1 + pad);
    let (left, right, top, bottom) = (6.0, w - 6.0, 16.0, h - 6.0);
    let px = |x: f64| left + (x - x0) / (x1 - x0) * (right - left);
    let py = |y: f64| bottom - (map_y(y) - y0) / (y1 - y0) * (bottom - top);
    ctx.set_stroke_style_str("#ccc");
    ctx.set_line_width(1.0);
    ctx.stroke_rect(left, top, right - left, bottom - top);
    ctx.set_font("11px sans-serif");
    ctx.set_fill_style_str("#555");
    let fmt = |v: f64| {
        if log_y {
            format!("1e{v:.0}")
        } else {
            format!("{v:.3}")
        }
    };
    let _ = ctx.fill_text(&format!("{} … {}", fmt(y0), fmt(y1)), left, 11.0);
    let mut legend_x = right;
    for s in series.iter().rev() {
        let width = ctx.measure_text(s.label).map(|m| m.width()).unwrap_or(40.0);
        legend_x -= width + 18.0;
        ctx.set_fill_style_str(s.colour);
        ctx.fill_rect(legend_x, 4.0, 10.0, 8.0);
        ctx.set_fill_style_str("#333");
        let _ = ctx.fill_text(s.label, legend_x + 13.0, 12.0);
    }
    for s in series {
        ctx.set_stroke_style_str(s.colour);
        ctx.set_line_width(if s.dashed { 1.5 } else { 2.0 });
        let dash = js_sys::Array::new();
        if s.dashed {
            dash.push(&4.0.into());
            dash.push(&3.0.into());
        }
        let _ = ctx.set_line_dash(&dash);
        ctx.begin_path();
        let mut first = true;
        for &(x, y) in s.points.iter().filter(|p| p.1.is_finite()) {
            if first {
                ctx.move_to(px(x), py(y));
                first = false;
            } else {
                ctx.line_to(px(x), py(y));
            }
        }
        ctx.stroke();
    }
    let _ = ctx.set_line_dash(&js_sys::Array::new());
}

/// A PNG (data URL) of a field at `scale` pixels per grid point, drawn with the CPU colormap.
pub(crate) fn png(
    values: &[f32],
    shape: [usize; 2],
    range: [f32; 2],
    scale: u32,
) -> Option<String> {
    let document = web_sys::window()?.document()?;
    let canvas: HtmlCanvasElement = document.create_element("canvas").ok()?.dyn_into().ok()?;
    canvas.set_width(shape[1] as u32 * scale);
    canvas.set_height(shape[0] as u32 * scale);
    heatmap_cpu(&canvas, values, shape, range);
    canvas.to_data_url_with_type("image/png").ok()
}
