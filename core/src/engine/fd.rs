//! Second-order central differences of the network output on the grid: the classical cheap
//! baseline. Each difference quotient is one point short of the grid on each differenced side
//! (the biharmonic, a Laplacian of a Laplacian, two); every field is cropped to the margin of
//! the widest one asked for, so all of them share the evaluation points.

use std::collections::BTreeSet;

use burn::tensor::Tensor;

use super::{Derivs, Engine, Fields, Net, Setup, crop, flat, tensor2};
use crate::error::{Error, Result};
use crate::numerics::mollifier::Deriv2;

#[derive(Debug)]
pub(super) struct Fd {
    /// [hy, hx]
    spacing: [f64; 2],
    /// Whether the field is 2D (else [1, n]).
    two_d: bool,
    margin: [usize; 2],
    u: BTreeSet<Deriv2>,
    p: BTreeSet<Deriv2>,
    shape: [usize; 2],
    device: burn::tensor::Device,
}

/// Points a difference quotient loses on each differenced side.
fn reach(d: Deriv2) -> Result<usize> {
    match d {
        Deriv2::U => Ok(0),
        Deriv2::X | Deriv2::Y | Deriv2::Laplacian => Ok(1),
        Deriv2::Biharmonic => Ok(2),
        other => Err(unsupported(other)),
    }
}

fn unsupported(d: Deriv2) -> Error {
    Error::Invalid(format!(
        "the fd engine differences values, gradients, ∇² and ∇⁴, not {d:?}"
    ))
}

impl Fd {
    pub(super) fn new(setup: &Setup<'_>) -> Result<Self> {
        let m = setup
            .all_keys()
            .into_iter()
            .map(reach)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .max()
            .unwrap_or(0);
        let two_d = setup.grid.ndim() == 2;
        let mut u = setup.request.u.clone();
        u.insert(Deriv2::U);
        let mut p = setup.request.p.clone();
        p.insert(Deriv2::U);
        Ok(Self {
            spacing: setup.spacing(),
            two_d,
            margin: if two_d { [m, m] } else { [0, m] },
            u,
            p,
            shape: setup.shape(),
            device: setup.device.clone(),
        })
    }

    fn shift(&self, u: &Tensor<2>, dy: isize, dx: isize) -> Tensor<2> {
        let [ny, nx] = u.dims();
        let my = usize::from(self.two_d);
        let ys = (my as isize + dy) as usize..(ny as isize - my as isize + dy) as usize;
        let xs = (1 + dx) as usize..(nx as isize - 1 + dx) as usize;
        u.clone().slice([ys, xs])
    }

    fn gradient(&self, u: &Tensor<2>) -> [Option<Tensor<2>>; 2] {
        let [hy, hx] = self.spacing;
        let dx = (self.shift(u, 0, 1) - self.shift(u, 0, -1)) / (2.0 * hx);
        let dy = self
            .two_d
            .then(|| (self.shift(u, 1, 0) - self.shift(u, -1, 0)) / (2.0 * hy));
        [Some(dx), dy]
    }

    fn laplacian(&self, u: &Tensor<2>) -> Tensor<2> {
        let [hy, hx] = self.spacing;
        let c = self.shift(u, 0, 0);
        let mut lap = (self.shift(u, 0, 1) + self.shift(u, 0, -1) - c.clone() * 2.0) / (hx * hx);
        if self.two_d {
            lap = lap + (self.shift(u, 1, 0) + self.shift(u, -1, 0) - c * 2.0) / (hy * hy);
        }
        lap
    }

    /// `keys` of the [ny, nx] field `f`, each cropped to the evaluation points.
    fn apply(&self, f: &Tensor<2>, keys: &BTreeSet<Deriv2>, what: &'static str) -> Result<Fields> {
        let m = self.margin;
        // A quotient of reach r is already r points short: crop the rest.
        let inner = |r: usize| [if self.two_d { m[0] - r } else { 0 }, m[1] - r];
        let mut out = Fields::new(what);
        let mut lap = None;
        for &d in keys {
            let t = match d {
                Deriv2::U => crop(f.clone(), m),
                Deriv2::X | Deriv2::Y => {
                    let [dx, dy] = self.gradient(f);
                    let g = if d == Deriv2::X { dx } else { dy };
                    crop(g.expect("2D grids have a y gradient"), inner(1))
                }
                Deriv2::Laplacian => crop(
                    lap.get_or_insert_with(|| self.laplacian(f)).clone(),
                    inner(1),
                ),
                Deriv2::Biharmonic => {
                    let l = lap.get_or_insert_with(|| self.laplacian(f)).clone();
                    crop(self.laplacian(&l), inner(2))
                }
                other => return Err(unsupported(other)),
            };
            out.insert(d, flat(t));
        }
        Ok(out)
    }
}

impl Engine for Fd {
    fn margin(&self) -> [usize; 2] {
        self.margin
    }

    fn data_margin(&self) -> [usize; 2] {
        [0, 0]
    }

    fn derivatives(&self, net: &Net<'_>) -> Result<Derivs> {
        let (u, p) = net.fields();
        Ok(Derivs {
            u_data: Some(flat(u.clone())),
            u: self.apply(&u, &self.u, "u")?,
            p: self.apply(&p, &self.p, "p")?,
        })
    }

    fn known(
        &self,
        values: &[f64],
        keys: &BTreeSet<Deriv2>,
        _exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    ) -> Result<Fields> {
        self.apply(
            &tensor2(values, self.shape, &self.device),
            keys,
            "a known field",
        )
    }
}
