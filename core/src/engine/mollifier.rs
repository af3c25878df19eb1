//! The mollifier engine: the network outputs g on the grid, and u = g∗φ_ε and its derivatives
//! are convolutions with the kernel's analytic derivatives. Every field that is differentiated is
//! convolved with the same set of plans, so under `Boundary::Valid` all share one margin.

use std::collections::BTreeSet;

use burn::tensor::Tensor;

use super::{Derivs, Engine, Fields, Net, Setup, crop, flat, tensor2};
use crate::error::Result;
use crate::numerics::mollifier::{Boundary, Deriv2, Mollifier};

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
        let op = if two_d {
            Mollifier::new_2d(config, spacing[1], spacing[0], setup.device)?
        } else {
            Mollifier::new_1d(config, spacing[1], setup.device)?
        };
        let keys: Vec<Deriv2> = setup.all_keys().into_iter().collect();
        // Padded boundary policies return the whole grid; Valid drops the margin.
        let margin = if config.boundary != Boundary::Valid {
            [0, 0]
        } else if two_d {
            op.margin_2d(&keys)?
        } else {
            let orders: Vec<usize> = keys.iter().map(|&d| order_1d(d)).collect();
            [0, op.margin_1d(&orders)?]
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
            shape: setup.shape(),
        })
    }

    /// `wanted` of the [ny, nx] field `g`, convolved on the evaluation points.
    fn apply(&self, g: Tensor<2>, wanted: &BTreeSet<Deriv2>, what: &'static str) -> Result<Fields> {
        let out: Vec<Tensor<1>> = if self.two_d {
            self.op
                .derivatives_2d(g, &self.keys)?
                .into_iter()
                .map(flat)
                .collect()
        } else {
            let orders: Vec<usize> = self.keys.iter().map(|&d| order_1d(d)).collect();
            self.op.derivatives_1d(flat(g), &orders)?
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
        let (g, p) = net.fields();
        let mut pd = if self.p.iter().any(|&d| d != Deriv2::U) {
            self.apply(p.clone(), &self.p, "p")?
        } else {
            Fields::new("p")
        };
        // The parameter enters the residual pointwise: its value is the network's, not mollified.
        pd.insert(Deriv2::U, flat(crop(p, self.margin)));
        Ok(Derivs {
            u_data: None,
            u: self.apply(g, &self.u, "u")?,
            p: pd,
        })
    }

    fn known(
        &self,
        values: &[f64],
        keys: &BTreeSet<Deriv2>,
        _exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    ) -> Result<Fields> {
        let field = tensor2(values, self.shape, self.op.device());
        // A field asked only for its values is used as given (a source term); one asked for
        // derivatives is mollified whole, value included, so the residual sees one smooth field.
        if keys.iter().all(|&d| d == Deriv2::U) {
            let mut f = Fields::new("a known field");
            f.insert(Deriv2::U, flat(crop(field, self.margin)));
            return Ok(f);
        }
        self.apply(field, keys, "a known field")
    }
}
