//! The mollifier engine: the network outputs g on the grid, and u = g∗φ_ε and its derivatives
//! are convolutions with the kernel's analytic derivatives. Every field that is differentiated is
//! convolved with the same set of plans, so under `Boundary::Valid` all share one margin.
//! Under `Boundary::Network` the network is evaluated on the grid extended by that margin (its
//! halo), so every grid point has u and its derivatives.

use std::collections::BTreeSet;

use burn::tensor::{Device, Tensor};

use super::{
    Derivs, Engine, Fields, Net, Points, Setup, coordinates, crop, exact_known, flat, tensor2,
};
use crate::data::grid::Grid;
use crate::error::{Error, Result};
use crate::numerics::mollifier::{Boundary, Deriv2, Mollifier, MollifierConfig};

/// The grid extended by `reach` [y, x] points on each side, where the network is evaluated
/// under `Boundary::Network`.
#[derive(Debug)]
struct Halo {
    reach: [usize; 2],
    /// The extended grid's points.
    points: Points,
    shape: [usize; 2],
}

impl Halo {
    /// `reach` is [0, r] on a 1D grid.
    fn new(grid: &Grid, reach: [usize; 2], device: &Device) -> Self {
        let [ny, nx] = grid.shape_2d();
        Self {
            reach,
            points: coordinates(grid, reach, device),
            shape: [ny + 2 * reach[0], nx + 2 * reach[1]],
        }
    }
}

#[derive(Debug)]
pub(super) struct Conv {
    op: Mollifier,
    two_d: bool,
    /// Every key any field is asked for, in one call so the margins agree.
    keys: Vec<Deriv2>,
    margin: [usize; 2],
    u: BTreeSet<Deriv2>,
    /// Whether p is differentiated (else only cropped).
    p: BTreeSet<Deriv2>,
    shape: [usize; 2],
    /// Where the network is evaluated beyond the grid (`Boundary::Network`).
    halo: Option<Halo>,
    /// The operator for data fields under `Boundary::Network`: they have no halo.
    data_op: Option<Mollifier>,
}

/// The 1D operator's order of a key (checked 1D-valid by [`Setup::check_dims`]).
fn order_1d(d: Deriv2) -> usize {
    d.terms()[0].1[0]
}

impl Conv {
    pub(super) fn new(setup: &Setup<'_>) -> Result<Self> {
        let spacing = setup.spacing();
        let two_d = setup.grid.ndim() == 2;
        let config = setup.mollifier;
        let build = |config: MollifierConfig| {
            if two_d {
                Mollifier::new_2d(config, spacing[1], spacing[0], setup.device)
            } else {
                Mollifier::new_1d(config, spacing[1], setup.device)
            }
        };
        let op = build(config)?;
        let keys: Vec<Deriv2> = setup.all_keys().into_iter().collect();
        let reach = if two_d {
            op.margin_2d(&keys)?
        } else {
            let orders: Vec<usize> = keys.iter().map(|&d| order_1d(d)).collect();
            [0, op.margin_1d(&orders)?]
        };
        // A halo wider than the grid would make u mostly the network's extrapolation: the
        // kernel must fit the grid as under Valid (whose margin `engine::build` checks).
        let shape = setup.shape();
        let fits = |a: usize| shape[a] == 1 || shape[a] > 2 * reach[a];
        if let (Boundary::Network, Some(axis)) = (config.boundary, (0..2).find(|&a| !fits(a))) {
            return Err(Error::KernelTooWide {
                size: config.size,
                support: 2 * reach[axis] + 1,
                points: shape[axis],
            });
        }
        // Valid drops the reach; padded policies and the network's halo keep the whole grid.
        let (margin, halo, data_op) = match config.boundary {
            Boundary::Valid => (reach, None, None),
            Boundary::Network => (
                [0, 0],
                Some(Halo::new(setup.grid, reach, setup.device)),
                Some(build(MollifierConfig {
                    boundary: Boundary::Extrapolate,
                    ..config
                })?),
            ),
            _ => ([0, 0], None, None),
        };
        let mut u = setup.request.u.clone();
        u.insert(Deriv2::U);
        Ok(Self {
            op,
            two_d,
            keys,
            margin,
            u,
            p: setup.request.p.clone(),
            shape,
            halo,
            data_op,
        })
    }

    /// `wanted` of the [ny, nx] field `g`, convolved by `op` on the evaluation points.
    fn apply(
        &self,
        op: &Mollifier,
        g: Tensor<2>,
        wanted: &BTreeSet<Deriv2>,
        what: &'static str,
    ) -> Result<Fields> {
        let out: Vec<Tensor<1>> = if self.two_d {
            op.derivatives_2d(g, &self.keys)?
                .into_iter()
                .map(flat)
                .collect()
        } else {
            let orders: Vec<usize> = self.keys.iter().map(|&d| order_1d(d)).collect();
            op.derivatives_1d(flat(g), &orders)?
        };
        let mut f = Fields::new(what);
        for (d, t) in self.keys.iter().zip(out) {
            if wanted.contains(d) {
                f.insert(*d, t);
            }
        }
        Ok(f)
    }
}

impl Engine for Conv {
    fn margin(&self) -> [usize; 2] {
        self.margin
    }

    fn derivatives(&self, net: &Net<'_>) -> Result<Derivs> {
        let (g, p, inside) = match &self.halo {
            Some(h) => {
                let (g, p) = Net {
                    points: &h.points,
                    shape: h.shape,
                    ..*net
                }
                .fields();
                (g, p, h.reach)
            }
            None => {
                let (g, p) = net.fields();
                (g, p, self.margin)
            }
        };
        let mut pd = if self.p.iter().any(|&d| d != Deriv2::U) {
            self.apply(&self.op, p.clone(), &self.p, "p")?
        } else {
            Fields::new("p")
        };
        // The parameter enters the residual pointwise: its value is the network's, not mollified.
        pd.insert(Deriv2::U, flat(crop(p, inside)));
        Ok(Derivs {
            u_data: None,
            u: self.apply(&self.op, g, &self.u, "u")?,
            p: pd,
        })
    }

    fn known(
        &self,
        values: &[f64],
        keys: &BTreeSet<Deriv2>,
        exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    ) -> Result<Fields> {
        let device = self.op.device();
        // A field asked only for its values (a source term), or whose derivatives the problem
        // gives exactly, is used as given; any other is mollified whole, value included, so the
        // residual sees one smooth field.
        if let Some(f) = exact_known(values, keys, exact, self.shape, self.margin, device) {
            return Ok(f);
        }
        self.apply(
            self.data_op.as_ref().unwrap_or(&self.op),
            tensor2(values, self.shape, device),
            keys,
            "a known field",
        )
    }
}
