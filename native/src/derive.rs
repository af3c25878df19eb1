//! `mollify derive`: mollified derivatives of sampled data, usable without any training.

use burn::tensor::{Device, Tensor, TensorData};
use mollify_core::data::io::{self, Array, Precision};
use mollify_core::numerics::autosize;
use mollify_core::train::KernelSize;
use mollify_core::{Accuracy, Boundary, Deriv2, Mollifier, MollifierConfig};

use crate::cli::{AxisArg, DeriveArgs};
use crate::error::CliError;

/// What `derive` did, for the log and the tests.
#[derive(Debug)]
pub(crate) struct Derived {
    pub(crate) size: usize,
    pub(crate) accuracy: Accuracy,
    pub(crate) shape: Vec<usize>,
    /// Why `auto` chose the kernel it did.
    pub(crate) reason: Option<String>,
}

/// Derives, writes the output, and says what it did.
pub(crate) fn run(args: &DeriveArgs) -> Result<(), CliError> {
    let d = derive(args)?;
    if let Some(reason) = &d.reason {
        println!("{reason}");
    }
    println!(
        "order {} ({:?}) with a {}-point kernel, {} accuracy: {:?} values → {}",
        args.order,
        args.axis,
        d.size,
        d.accuracy,
        d.shape,
        args.out.display()
    );
    Ok(())
}

fn derive(args: &DeriveArgs) -> Result<Derived, CliError> {
    let (grid, array) = io::read_path(&args.input)?;
    array.check_finite(&args.input.display().to_string())?;
    let (family, boundary) = (args.kernel, args.boundary);
    if boundary == Boundary::Network {
        return Err(CliError::Input(
            "--boundary network extends a network's output beyond the grid; derive differentiates data, which has none: use valid, reflect, extrapolate or periodic".into(),
        ));
    }
    let ndim = array.shape.iter().filter(|&&n| n > 1).count().max(1);
    if ndim > 2 {
        return Err(CliError::Input(format!(
            "{}: {}-dimensional data; derive takes 1D or 2D samples",
            args.input.display(),
            array.shape.len()
        )));
    }
    let (dx, dy) = match (&grid, args.dx) {
        (Some(g), _) => (g.x().step, g.y().map_or(g.x().step, |a| a.step)),
        (None, Some(dx)) => (dx, args.dy.unwrap_or(dx)),
        (None, None) => {
            return Err(CliError::Input(format!(
                "{}: the samples carry no coordinates: give the grid spacing with --dx (and --dy if it differs), since a k-th derivative scales with 1/dxᵏ",
                args.input.display()
            )));
        }
    };
    if !(dx > 0.0 && dy > 0.0 && dx.is_finite() && dy.is_finite()) {
        return Err(CliError::Input(format!(
            "grid spacing must be positive (dx = {dx}, dy = {dy})"
        )));
    }
    let shape2 = if ndim == 1 {
        [1, array.data.len()]
    } else {
        let s: Vec<usize> = array.shape.iter().copied().filter(|&n| n > 1).collect();
        [s[0], s[1]]
    };
    let which = if ndim == 1 {
        if args.axis != AxisArg::X {
            return Err(CliError::Input(
                "1D data has only the x axis (--axis x)".into(),
            ));
        }
        None
    } else {
        Some(match (args.axis, args.order) {
            (AxisArg::Laplacian, _) => Deriv2::Laplacian,
            (AxisArg::Biharmonic, _) => Deriv2::Biharmonic,
            (AxisArg::Xy, _) => Deriv2::Xy,
            (AxisArg::X, 0) | (AxisArg::Y, 0) => Deriv2::U,
            (AxisArg::X, 1) => Deriv2::X,
            (AxisArg::X, 2) => Deriv2::Xx,
            (AxisArg::X, 3) => Deriv2::Xxx,
            (AxisArg::X, 4) => Deriv2::Xxxx,
            (AxisArg::Y, 1) => Deriv2::Y,
            (AxisArg::Y, 2) => Deriv2::Yy,
            (AxisArg::Y, 3) => Deriv2::Yyy,
            (AxisArg::Y, 4) => Deriv2::Yyyy,
            (a, k) => {
                return Err(CliError::Input(format!(
                    "2D derivatives along {a:?} come in orders 0 to 4 (got {k})"
                )));
            }
        })
    };
    let base = MollifierConfig {
        family,
        boundary,
        accuracy: args.accuracy.unwrap_or_default(),
        ..MollifierConfig::default()
    };
    let (config, reason) = match args.kernel_size {
        KernelSize::Auto => {
            let samples = autosize::Samples {
                values: &array.data,
                mask: None,
                shape: shape2,
                spacing: [dy, dx],
            };
            let target = match which {
                None => autosize::Target::Order(args.order),
                Some(d) => autosize::Target::Deriv(d),
            };
            let accuracies = match args.accuracy {
                Some(a) => vec![a],
                None => vec![Accuracy::Second, Accuracy::Fourth],
            };
            let auto = autosize::choose(&base, &samples, target, &accuracies, None)?;
            let config = MollifierConfig {
                size: auto.size,
                accuracy: auto.accuracy,
                ..base
            };
            (config, Some(auto.describe()))
        }
        KernelSize::Points(size) => (MollifierConfig { size, ..base }, None),
    };
    let device = Device::flex();
    let out = if let Some(which) = which {
        let op = Mollifier::new_2d(config, dx, dy, &device)?;
        let input = Tensor::<2>::from_data(TensorData::new(array.data.clone(), shape2), &device);
        let d = op.derivatives_2d(input, &[which])?.remove(0);
        let dims = d.dims().to_vec();
        Array::new(dims, read(d)?)?
    } else {
        let n = array.data.len();
        let op = Mollifier::new_1d(config, dx, &device)?;
        let input = Tensor::<1>::from_data(TensorData::new(array.data.clone(), [n]), &device);
        let d = op.derivatives_1d(input, &[args.order])?.remove(0);
        let n_out = d.dims()[0];
        Array::new(vec![n_out], read(d)?)?
    };
    let name = args.out.display().to_string();
    if !(name.ends_with(".npy") || name.ends_with(".csv")) {
        return Err(CliError::Input(format!(
            "{name}: output must be .npy or .csv"
        )));
    }
    io::write_atomic(&args.out, &io::encode(&out, &name, Precision::F64)?)?;
    Ok(Derived {
        size: config.size,
        accuracy: config.accuracy,
        shape: out.shape,
        reason,
    })
}

fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>, CliError> {
    t.into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .map_err(|e| CliError::Other(format!("{e:?}")))
}
