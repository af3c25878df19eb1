//! `mollify localize`: the paper's microscopy path (Sec. 5, App. C) — point localisations to a
//! density on a grid (Nadaraya–Watson, Gaussian kernel) to a chromatin dataset without truth.

use mollify_core::data::io;
use mollify_core::numerics::regression;
use mollify_core::problems::chromatin;
use mollify_core::{Axis, Grid};

use crate::cli::LocalizeArgs;
use crate::error::CliError;

/// Points are streamed in batches of this many (memory stays the grid's).
const BATCH: usize = 65_536;

pub(crate) fn run(args: &LocalizeArgs) -> Result<(), CliError> {
    let name = args.points.display().to_string();
    let bytes = std::fs::read(&args.points)
        .map_err(|e| CliError::Input(format!("{name}: cannot read: {e}")))?;
    let io::Localisations { points, weights } = io::decode_points(&bytes, &name)?;
    if points.is_empty() {
        return Err(CliError::Input(format!("{name}: no localisations")));
    }
    if args.nodes < 8 {
        return Err(CliError::Input(format!(
            "--nodes {}: a grid needs at least 8 nodes per axis",
            args.nodes
        )));
    }
    let [x0, x1, y0, y1] = match args.extent.as_deref() {
        Some(&[a, b, c, d]) => [a, b, c, d],
        Some(e) => {
            return Err(CliError::Input(format!(
                "--extent: expected x0,x1,y0,y1 (4 numbers), got {} of them",
                e.len()
            )));
        }
        None => square_box(&points),
    };
    let side = x1 - x0;
    if !(side.is_finite() && side > 0.0 && ((y1 - y0) - side).abs() <= 1e-9 * side) {
        return Err(CliError::Input(format!(
            "--extent {x0},{x1},{y0},{y1}: the region must be a square of positive side (x1 − x0 = y1 − y0)"
        )));
    }
    let step = side / (args.nodes - 1) as f64;
    let bandwidth = args.bandwidth.unwrap_or(2.0 * step);
    if !(bandwidth.is_finite() && bandwidth > 0.0) {
        return Err(CliError::Input(format!(
            "--bandwidth {bandwidth}: must be positive"
        )));
    }
    let axis = |name: &str, start| Axis {
        name: name.into(),
        n: args.nodes,
        start,
        step,
    };
    let grid = Grid::d2(axis("y", y0), axis("x", x0));
    let density = regression::density(&points, weights.as_deref(), &grid, bandwidth, BATCH)?;
    // The field of view is where points could be seen: the points' own bounding box.
    let seen = bounding_box(&points);
    let mass = regression::window_mass(&grid, bandwidth, seen)?;
    let density = density
        .iter()
        .zip(&mass)
        .map(|(d, m)| if *m > 0.05 { d / m } else { 0.0 })
        .collect::<Vec<f64>>();
    let mut ds = chromatin::from_density(&density, grid, &chromatin::Params::default())?;
    ds.set_meta("localisations", points.len() as f64);
    ds.set_meta("bandwidth", bandwidth);
    ds.save(&args.out)?;
    println!(
        "{} localisations{} → density on {n} × {n} nodes over [{x0}, {x1}] × [{y0}, {y1}] \
         (bandwidth {bandwidth:.4}) → chromatin dataset {} (φ_d observed, φ_w known, no truth)",
        points.len(),
        if weights.is_some() { " (weighted)" } else { "" },
        args.out.display(),
        n = args.nodes,
    );
    Ok(())
}

/// The points' bounding box [x0, x1, y0, y1].
fn bounding_box(points: &[[f64; 2]]) -> [f64; 4] {
    let fold = |k: usize| {
        points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p[k]), hi.max(p[k]))
        })
    };
    let ((xa, xb), (ya, yb)) = (fold(0), fold(1));
    [xa, xb, ya, yb]
}

/// The points' bounding box widened to a square about its centre.
fn square_box(points: &[[f64; 2]]) -> [f64; 4] {
    let [xa, xb, ya, yb] = bounding_box(points);
    let half = 0.5 * (xb - xa).max(yb - ya);
    let (cx, cy) = (0.5 * (xa + xb), 0.5 * (ya + yb));
    [cx - half, cx + half, cy - half, cy + half]
}
