//! SVG plots of runs (plotters): truth vs recovered parameter — lines in 1D, heatmaps on a
//! shared colour scale in 2D — and loss curves.

use std::path::Path;

use plotters::prelude::*;

use mollify_core::train::metrics::Estimates;

use crate::error::CliError;

/// Viridis anchors, interpolated linearly: perceptually ordered and colour-blind safe.
const VIRIDIS: [(u8, u8, u8); 5] = [
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
];

fn colour(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * 4.0;
    let i = (t.floor() as usize).min(3);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> CliError + '_ {
    move |e| CliError::Other(format!("{}: {e}", path.display()))
}

/// One field to draw.
pub(crate) struct Panel<'a> {
    pub(crate) title: String,
    pub(crate) values: &'a [f64],
}

/// 1D: every panel as a line on one chart; 2D ([ny, nx]): side-by-side heatmaps sharing one
/// colour scale (so "recovered" and "truth" compare at a glance). The scale spans `scale`'s
/// finite values (the truth, so that one wild estimate cannot wash the others out), else
/// every panel's.
pub(crate) fn fields(
    path: &Path,
    panels: &[Panel<'_>],
    shape: &[usize],
    scale: Option<&[f64]>,
) -> Result<(), CliError> {
    let finite = scale
        .map_or_else(
            || {
                panels
                    .iter()
                    .flat_map(|p| p.values.iter())
                    .collect::<Vec<_>>()
            },
            |s| s.iter().collect(),
        )
        .into_iter()
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let e = err(path);
    if shape.len() == 1 {
        let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let n = shape[0];
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0..n, lo..hi)
            .map_err(&e)?;
        chart.configure_mesh().x_desc("sample").draw().map_err(&e)?;
        for (k, p) in panels.iter().enumerate() {
            let style = Palette99::pick(k).stroke_width(2);
            chart
                .draw_series(LineSeries::new(
                    p.values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, v)| (i, v.clamp(lo, hi))),
                    style,
                ))
                .map_err(&e)?
                .label(p.title.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&e)?;
        return root.present().map_err(&e);
    }
    let (ny, nx) = (shape[0], shape[1]);
    // At most ~100 cells a side: the SVG stays small and the picture the same.
    let stride = ny.max(nx).div_ceil(100).max(1);
    let side = 320u32;
    let root = SVGBackend::new(path, (side * panels.len() as u32, side + 40)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    for (area, p) in root.split_evenly((1, panels.len())).iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 16))
            .margin(8)
            .build_cartesian_2d(0..nx, 0..ny)
            .map_err(&e)?;
        chart.configure_mesh().disable_mesh().draw().map_err(&e)?;
        let cells = (0..ny).step_by(stride).flat_map(|r| {
            (0..nx).step_by(stride).map(move |c| {
                let v = p.values[r * nx + c];
                // Undefined (an engine's margin) stays blank.
                let fill = if v.is_finite() {
                    colour((v - lo) / (hi - lo))
                } else {
                    WHITE
                };
                Rectangle::new(
                    [(c, r), ((c + stride).min(nx), (r + stride).min(ny))],
                    fill.filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(&e)?;
    }
    root.titled(
        &format!("shared colour scale {lo:.3} … {hi:.3}"),
        ("sans-serif", 12),
    )
    .map_err(&e)?;
    root.present().map_err(&e)
}

/// Loss curves (log scale) of one or more runs: (label, [(step, loss)]).
pub(crate) fn losses(path: &Path, runs: &[(String, Vec<(f64, f64)>)]) -> Result<(), CliError> {
    let e = err(path);
    let points = runs.iter().flat_map(|(_, v)| v.iter());
    let (mut max_step, mut lo, mut hi) = (1.0f64, f64::INFINITY, 0.0f64);
    for &(s, l) in points {
        if l.is_finite() && l > 0.0 {
            max_step = max_step.max(s);
            lo = lo.min(l);
            hi = hi.max(l);
        }
    }
    if lo >= hi || !lo.is_finite() {
        (lo, hi) = (1e-6, 1.0);
    }
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_step, (lo..hi).log_scale())
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .draw()
        .map_err(&e)?;
    for (k, (label, v)) in runs.iter().enumerate() {
        let style = Palette99::pick(k).stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                v.iter().copied().filter(|(_, l)| l.is_finite() && *l > 0.0),
                style,
            ))
            .map_err(&e)?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(&e)?;
    root.present().map_err(&e)
}

/// (step, loss) pairs from a run's metrics.csv.
pub(crate) fn read_losses(metrics: &Path) -> Result<Vec<(f64, f64)>, CliError> {
    let mut reader = csv::Reader::from_path(metrics).map_err(err(metrics))?;
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row.map_err(err(metrics))?;
        let num = |i: usize| row.get(i).and_then(|s| s.parse::<f64>().ok());
        if let (Some(s), Some(l)) = (num(0), num(1)) {
            out.push((s, l));
        }
    }
    Ok(out)
}

/// [`fields`] of `panels` with the truth panel, where there is one, last and the source of
/// the colour scale.
pub(crate) fn against_truth<'a>(
    path: &Path,
    mut panels: Vec<Panel<'a>>,
    truth: Option<Panel<'a>>,
    shape: &[usize],
) -> Result<(), CliError> {
    let scale = truth.as_ref().map(|t| t.values);
    panels.extend(truth);
    fields(path, &panels, shape, scale)
}

/// The truth panel of `values`, titled `title`.
pub(crate) fn truth<'a>(title: &str, values: Option<&'a [f64]>) -> Option<Panel<'a>> {
    values.map(|values| Panel {
        title: title.into(),
        values,
    })
}

/// A run's plots: parameter.svg (the network's parameter and the separable estimate beside the
/// truth), intermediate.svg (the engine's derivative of u the residual hinges on, beside the
/// clean solution's) and loss.svg.
pub(crate) fn run_plots(
    shape: &[usize],
    estimates: &Estimates,
    truth: Option<&[f64]>,
    intermediate: Option<(&str, Option<&[f64]>)>,
    metrics: &Path,
    out: &Path,
) -> Result<(), CliError> {
    let mut panels = vec![Panel {
        title: "network".into(),
        values: &estimates.parameter,
    }];
    if let Some(s) = &estimates.separable {
        panels.push(Panel {
            title: "separable".into(),
            values: s,
        });
    }
    let t = self::truth("truth", truth);
    against_truth(&out.join("parameter.svg"), panels, t, shape)?;
    if let (Some(e), Some((symbol, t))) = (&estimates.intermediate, intermediate) {
        let panel = Panel {
            title: format!("{symbol} (engine)"),
            values: e,
        };
        let t = self::truth(&format!("{symbol} (truth)"), t);
        against_truth(&out.join("intermediate.svg"), vec![panel], t, shape)?;
    }
    losses(
        &out.join("loss.svg"),
        &[("loss".into(), read_losses(metrics)?)],
    )
}

/// A sweep's panels side by side, one per metric: each engine's mean against the sweep's level,
/// with ± one standard deviation over seeds as error bars. `panels`: (title, [(series label,
/// [(level, mean, std)])]).
pub(crate) type Series = (String, Vec<(f64, f64, f64)>);

pub(crate) fn sweep(
    path: &Path,
    x_label: &str,
    panels: &[(String, Vec<Series>)],
) -> Result<(), CliError> {
    let e = err(path);
    let points = || {
        panels
            .iter()
            .flat_map(|(_, s)| s.iter().flat_map(|(_, p)| p.iter()))
    };
    let x_max = points().map(|p| p.0).fold(0.0f64, f64::max).max(1e-9) * 1.05;
    let y_min = points()
        .map(|p| p.1 - p.2)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min)
        .max(-1.0);
    let side = 400u32;
    let root = SVGBackend::new(path, (side * panels.len().max(1) as u32, 360)).into_drawing_area();
    root.fill(&WHITE).map_err(&e)?;
    for (area, (title, series)) in root
        .split_evenly((1, panels.len().max(1)))
        .iter()
        .zip(panels)
    {
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(-0.02 * x_max..x_max, y_min..1.0)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("correlation with the truth")
            .draw()
            .map_err(&e)?;
        for (k, (label, p)) in series.iter().enumerate() {
            let style = Palette99::pick(k).stroke_width(2);
            chart
                .draw_series(LineSeries::new(p.iter().map(|q| (q.0, q.1)), style))
                .map_err(&e)?
                .label(label.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            chart
                .draw_series(p.iter().map(|q| {
                    ErrorBar::new_vertical(
                        q.0,
                        (q.1 - q.2).max(y_min),
                        q.1,
                        (q.1 + q.2).min(1.0),
                        style,
                        6,
                    )
                }))
                .map_err(&e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(&e)?;
    }
    root.present().map_err(&e)
}
