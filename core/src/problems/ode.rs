//! Forward toy problem (paper B.5): the mollifier layer also solves forward problems. The linear
//! ODE u′ + a·u = sin(2t) on [0, 5] with u(0) = 0 is solved from the residual alone, the only
//! data being the initial value. The closed-form solution is the ground truth.

use serde::{Deserialize, Serialize};

use burn::tensor::Tensor;

use super::{Arith, Inputs, Known, Observation, Parameter, Problem, Size, meta, rms};
use crate::data::dataset::{Dataset, Role};
use crate::data::grid::{Axis, Grid};
use crate::engine::Request;
use crate::error::{Error, Result};
use crate::numerics::mollifier::Deriv2;

/// Constants of the ODE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Decay rate a > 0.
    pub a: f64,
    /// End of the time window.
    pub t_end: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self { a: 1.0, t_end: 5.0 }
    }
}

/// u(t) for u′ + a·u = sin(2t), u(0) = 0.
pub fn solution(t: f64, a: f64) -> f64 {
    let d = a * a + 4.0;
    (a * (2.0 * t).sin() - 2.0 * (2.0 * t).cos() + 2.0 * (-a * t).exp()) / d
}

/// The source sin(2t).
pub fn source(t: f64) -> f64 {
    (2.0 * t).sin()
}

/// Residual u′ + a·u − s.
pub fn residual<T: Arith>(u: T, u_t: T, s: T, a: f64) -> T {
    u_t + u * a - s
}

/// The dataset: `u` observed only at t = 0 (`mask`), `s` known, `u_exact` truth.
pub fn simulate(size: Size, p: &Params) -> Result<Dataset> {
    if !(p.a > 0.0 && p.t_end > 0.0) {
        return Err(Error::Invalid(
            "the toy ODE needs a > 0 and t_end > 0".into(),
        ));
    }
    let n = match size {
        Size::Quick => 200,
        Size::Paper => 1000,
    };
    let grid = Grid::d1(Axis::span("t", n, 0.0, p.t_end));
    let exact = grid.sample(|t, _| solution(t, p.a));
    let mut observed = vec![0.0; n];
    observed[0] = exact[0];
    let mut mask = vec![0.0; n];
    mask[0] = 1.0;
    let mut ds = Dataset::new("ode", "forward", grid.clone());
    ds.insert("u", Role::Observed, observed);
    ds.insert("mask", Role::Mask, mask);
    ds.insert("s", Role::Known, grid.sample(|t, _| source(t)));
    ds.insert("u_exact", Role::Truth, exact);
    ds.set_meta("a", p.a);
    Ok(ds)
}

/// The forward toy ODE with its decay rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ode {
    /// Decay rate a.
    pub a: f64,
}

impl Default for Ode {
    fn default() -> Self {
        Self {
            a: Params::default().a,
        }
    }
}

impl Problem for Ode {
    fn name(&self) -> &'static str {
        "ode"
    }
    fn description(&self) -> &'static str {
        "Forward toy ODE u′ + au = sin 2t (no parameter to infer)"
    }
    fn observed(&self) -> &'static str {
        "u"
    }
    fn parameter(&self) -> Option<Parameter> {
        None
    }
    fn request(&self) -> Request {
        Request::new([Deriv2::X], [])
    }
    fn known(&self) -> Vec<Known> {
        vec![Known {
            field: "s",
            derivs: [Deriv2::U].into(),
        }]
    }
    fn residual(&self, f: &Inputs<'_>) -> Result<Tensor<1>> {
        Ok(residual(
            f.u.get(Deriv2::U)?,
            f.u.get(Deriv2::X)?,
            f.known("s", Deriv2::U)?,
            self.a,
        ))
    }
    fn residual_scale(&self, ds: &Dataset, _observed: &[f64], _spread: f64) -> Result<f64> {
        Ok(rms(ds.field("s")?))
    }
    fn bind(&self, ds: &Dataset, _notes: &mut Vec<String>) -> Result<Box<dyn Problem>> {
        Ok(Box::new(Self { a: meta(ds, "a")? }))
    }
    fn simulate(&self, case: Option<&str>, size: Size, _obs: &Observation) -> Result<Dataset> {
        if case.is_some() {
            return Err(Error::Invalid("the toy ODE has no cases".into()));
        }
        simulate(
            size,
            &Params {
                a: self.a,
                ..Params::default()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_solves_the_ode() {
        let a = 1.3;
        assert_eq!(solution(0.0, a), 0.0);
        for i in 1..50 {
            let t = i as f64 * 0.1;
            let h = 1e-5;
            let ut = (solution(t + h, a) - solution(t - h, a)) / (2.0 * h);
            assert!(residual(solution(t, a), ut, source(t), a).abs() < 1e-8);
        }
        let ds = simulate(Size::Quick, &Params::default()).unwrap();
        assert_eq!(ds.field("mask").unwrap().iter().sum::<f64>(), 1.0);
        ds.validate().unwrap();
    }
}
