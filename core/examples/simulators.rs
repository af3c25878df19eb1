//! Times every forward simulator at the quick and paper sizes (native only):
//! `cargo run -p mollify-core --example simulators`.

use std::time::Instant;

use mollify_core::numerics::regression;
use mollify_core::problems::{Observation, Size, chromatin, heat, langevin};
use mollify_core::{Axis, Grid};

fn main() -> mollify_core::Result<()> {
    let obs = Observation::default();
    println!(
        "{:<34} {:>8} {:>12} {:>12}",
        "simulator", "size", "grid", "seconds"
    );
    for size in [Size::Quick, Size::Paper] {
        let label = format!("{size:?}").to_lowercase();
        for case in langevin::Case::ALL {
            let t = Instant::now();
            let ds = langevin::simulate(case, size, &langevin::Params::default(), &obs)?;
            row(&format!("langevin {}", case.name()), &label, &ds.grid, t);
        }
        for form in [heat::Form::NonDivergence, heat::Form::Divergence] {
            for case in heat::Case::ALL {
                let t = Instant::now();
                let ds = heat::simulate(case, form, size, &obs)?;
                row(
                    &format!("heat {} {}", form.name(), case.name()),
                    &label,
                    &ds.grid,
                    t,
                );
            }
        }
        for layout in [chromatin::Layout::Droplets, chromatin::Layout::Smooth] {
            for case in [
                chromatin::Case::Constant(1.0),
                chromatin::Case::Patterned,
                chromatin::Case::LogNormal,
            ] {
                let t = Instant::now();
                let p = chromatin::Params::default();
                let ds = chromatin::simulate(case, layout, size, &p, &obs)?;
                row(
                    &format!(
                        "chromatin {} {} ({} steps)",
                        layout.name(),
                        case.name(),
                        ds.meta_f64("steps").unwrap_or(0.0)
                    ),
                    &label,
                    &ds.grid,
                    t,
                );
            }
        }
    }
    // Nadaraya–Watson at the paper's real-data scale: 10⁶ localisations onto 256².
    let points: Vec<[f64; 2]> = (0..1_000_000u64)
        .map(|i| {
            let a = (i as f64 * 0.618_033_988_75).fract();
            let b = (i as f64 * 0.754_877_666_2).fract();
            [a, b]
        })
        .collect();
    let grid = Grid::d2(
        Axis::span("y", 256, 0.0, 1.0),
        Axis::span("x", 256, 0.0, 1.0),
    );
    let t = Instant::now();
    regression::density(&points, None, &grid, 0.01, 65_536)?;
    row("nadaraya-watson 1e6 points", "paper", &grid, t);
    Ok(())
}

fn row(name: &str, size: &str, grid: &Grid, t: Instant) {
    let shape: Vec<String> = grid.shape().iter().map(|n| n.to_string()).collect();
    println!(
        "{name:<34} {size:>8} {:>12} {:>12.3}",
        shape.join("x"),
        t.elapsed().as_secs_f64()
    );
}
