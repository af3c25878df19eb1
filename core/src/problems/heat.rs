//! Steady 2D heat conduction (second order): infer the conductivity k(x, y) from the
//! temperature T with a known source f, Dirichlet T = 0 on the boundary of [0, 1]².
//!
//! Two forms: k·∇²T + f = 0 (the form whose Laplacian the paper correlates) and the
//! conservative ∇·(k∇T) + f = 0. The forward solver is second-order finite differences
//! (5-point Laplacian; face conductivities by arithmetic means in the divergence form) with a
//! Jacobi-preconditioned conjugate-gradient solve of the symmetric positive definite system.

use serde::{Deserialize, Serialize};

use burn::tensor::Tensor;

use super::{Arith, Inputs, Intermediate, Known, Observation, Parameter, Problem, Size, rms};
use crate::data::dataset::{Dataset, Role};
use crate::data::grid::{Axis, Grid};
use crate::engine::Request;
use crate::error::{Error, Result};
use crate::numerics::mollifier::Deriv2;

/// Which equation relates k and T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// k·∇²T + f = 0.
    #[default]
    NonDivergence,
    /// ∇·(k∇T) + f = 0.
    Divergence,
}

impl Form {
    /// Both forms.
    pub const ALL: [Form; 2] = [Self::NonDivergence, Self::Divergence];

    /// The name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Self::NonDivergence => "non-divergence",
            Self::Divergence => "divergence",
        }
    }
}

impl std::str::FromStr for Form {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        crate::error::parse_named(s, &Self::ALL, Self::name, "heat form")
    }
}

/// Conductivity patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Case {
    /// k = 1.
    Constant,
    /// k = 1 + ½·sin(2πx)·sin(2πy).
    Smooth,
    /// A disc of k = 1.8 in k = 1 with an edge of width ≈ 0.02.
    Sharp,
}

impl Case {
    /// Every case.
    pub const ALL: [Case; 3] = [Self::Constant, Self::Smooth, Self::Sharp];

    /// The name used on the command line and in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Smooth => "smooth",
            Self::Sharp => "sharp",
        }
    }

    /// The conductivity at (x, y).
    pub fn conductivity(self, x: f64, y: f64) -> f64 {
        use std::f64::consts::TAU;
        match self {
            Self::Constant => 1.0,
            Self::Smooth => 1.0 + 0.5 * (TAU * x).sin() * (TAU * y).sin(),
            Self::Sharp => {
                let r = ((x - 0.5).powi(2) + (y - 0.5).powi(2)).sqrt();
                1.0 + 0.8 / (1.0 + ((r - 0.25) / 0.01).exp())
            }
        }
    }
}

impl std::str::FromStr for Case {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        crate::error::parse_named(s, &Self::ALL, Self::name, "heat case")
    }
}

/// Known source f (uniform heating).
pub const SOURCE: f64 = 10.0;

/// Grid points per axis: quick 64, paper 101.
pub fn points(size: Size) -> usize {
    match size {
        Size::Quick => 64,
        Size::Paper => 101,
    }
}

/// Relative residual at which the conjugate-gradient solve stops.
const CG_TOLERANCE: f64 = 1e-12;

/// Solves the Dirichlet problem (T = 0 on the boundary) for conductivity `k` and source `f`,
/// both sampled on the n×n grid of [0, 1]²; returns T on the whole grid and the CG iterations.
pub fn solve(form: Form, k: &[f64], f: &[f64], n: usize) -> Result<(Vec<f64>, usize)> {
    if n < 3 || k.len() != n * n || f.len() != n * n {
        return Err(Error::Invalid(format!(
            "heat solve needs n ≥ 3 and k, f of n² = {} values",
            n * n
        )));
    }
    if let Some(v) = k.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(Error::Invalid(format!(
            "conductivity must be positive and finite (found {v})"
        )));
    }
    let h2 = (1.0 / (n - 1) as f64).powi(2);
    let m = n - 2; // interior points per axis
    let at = |i: usize, j: usize| (j + 1) * n + (i + 1); // interior (i, j) → full-grid index
    // A·T for the SPD operator −(discrete PDE operator), on interior unknowns; boundary T = 0.
    let face = |a: usize, b: usize| 0.5 * (k[a] + k[b]);
    let diag: Vec<f64> = (0..m * m)
        .map(|p| {
            let (i, j) = (p % m, p / m);
            let c = at(i, j);
            match form {
                Form::NonDivergence => 4.0 / h2,
                Form::Divergence => {
                    (face(c, c + 1) + face(c, c - 1) + face(c, c + n) + face(c, c - n)) / h2
                }
            }
        })
        .collect();
    let apply = |t: &[f64], out: &mut [f64]| {
        for p in 0..m * m {
            let (i, j) = (p % m, p / m);
            let c = at(i, j);
            let nb = |di: isize, dj: isize| -> (f64, usize) {
                let (ii, jj) = (i as isize + di, j as isize + dj);
                let value = if ii < 0 || jj < 0 || ii >= m as isize || jj >= m as isize {
                    0.0
                } else {
                    t[jj as usize * m + ii as usize]
                };
                let full = (c as isize + di + dj * n as isize) as usize;
                (value, full)
            };
            let mut s = diag[p] * t[p];
            for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                let (v, full) = nb(di, dj);
                let w = match form {
                    Form::NonDivergence => 1.0,
                    Form::Divergence => face(c, full),
                };
                s -= w * v / h2;
            }
            out[p] = s;
        }
    };
    // Right-hand side: −∇²T = f/k (non-divergence) or −∇·(k∇T) = f.
    let b: Vec<f64> = (0..m * m)
        .map(|p| {
            let c = at(p % m, p / m);
            match form {
                Form::NonDivergence => f[c] / k[c],
                Form::Divergence => f[c],
            }
        })
        .collect();
    let (t, iterations) = conjugate_gradient(apply, &diag, &b, CG_TOLERANCE, 20 * m * m)?;
    let mut full = vec![0.0; n * n];
    for p in 0..m * m {
        full[at(p % m, p / m)] = t[p];
    }
    Ok((full, iterations))
}

/// Jacobi-preconditioned conjugate gradients for an SPD operator given matrix-free.
fn conjugate_gradient(
    apply: impl Fn(&[f64], &mut [f64]),
    diag: &[f64],
    b: &[f64],
    tol: f64,
    max_iter: usize,
) -> Result<(Vec<f64>, usize)> {
    let n = b.len();
    let dot = |a: &[f64], c: &[f64]| a.iter().zip(c).map(|(x, y)| x * y).sum::<f64>();
    let mut x = vec![0.0; n];
    let mut r = b.to_vec();
    let mut z: Vec<f64> = r.iter().zip(diag).map(|(r, d)| r / d).collect();
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let b_norm = dot(b, b).sqrt().max(1e-300);
    let mut ap = vec![0.0; n];
    for it in 0..max_iter {
        if dot(&r, &r).sqrt() <= tol * b_norm {
            return Ok((x, it));
        }
        apply(&p, &mut ap);
        let alpha = rz / dot(&p, &ap);
        for i in 0..n {
            x[i] += alpha * p[i];
            r[i] -= alpha * ap[i];
        }
        for i in 0..n {
            z[i] = r[i] / diag[i];
        }
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        for i in 0..n {
            p[i] = z[i] + beta * p[i];
        }
    }
    Err(Error::Invalid(format!(
        "conjugate gradients did not converge in {max_iter} iterations"
    )))
}

/// Simulates a case; the dataset holds `T` (observed), `mask`, `T_clean` and `k` (truth), `f` (known).
pub fn simulate(case: Case, form: Form, size: Size, obs: &Observation) -> Result<Dataset> {
    let n = points(size);
    let grid = Grid::d2(Axis::span("y", n, 0.0, 1.0), Axis::span("x", n, 0.0, 1.0));
    let k = grid.sample(|x, y| case.conductivity(x, y));
    let f = vec![SOURCE; n * n];
    let (t, iterations) = solve(form, &k, &f, n)?;
    let mut ds = Dataset::new("heat", case.name(), grid);
    obs.apply(&mut ds, "T", &t)?;
    ds.insert("T_clean", Role::Truth, t);
    ds.insert("k", Role::Truth, k);
    ds.insert("f", Role::Known, f);
    ds.set_meta("form", form.name());
    ds.set_meta("cg_iterations", iterations);
    Ok(ds)
}

/// Residual k·∇²T + f (non-divergence) or k·∇²T + ∇k·∇T + f (divergence).
/// `grad_k_dot_grad_t` is ignored in the non-divergence form.
pub fn residual<T: Arith>(form: Form, k: T, lap_t: T, grad_k_dot_grad_t: T, f: T) -> T {
    match form {
        Form::NonDivergence => k * lap_t + f,
        Form::Divergence => k * lap_t + grad_k_dot_grad_t + f,
    }
}

/// Steady heat conduction in one of its forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Heat {
    /// Which equation relates k and T.
    pub form: Form,
}

impl Problem for Heat {
    fn name(&self) -> &'static str {
        "heat"
    }
    fn description(&self) -> &'static str {
        "Steady 2D heat equation k∇²T + f = 0: infer the conductivity k(x, y)"
    }
    fn observed(&self) -> &'static str {
        "T"
    }
    fn parameter(&self) -> Option<Parameter> {
        Some(Parameter {
            truth: "k",
            meaning: "conductivity k(x, y)",
        })
    }
    fn request(&self) -> Request {
        match self.form {
            Form::NonDivergence => Request::new([Deriv2::Laplacian], []),
            Form::Divergence => Request::new(
                [Deriv2::X, Deriv2::Y, Deriv2::Laplacian],
                [Deriv2::X, Deriv2::Y],
            ),
        }
    }
    fn known(&self) -> Vec<Known> {
        vec![Known {
            field: "f",
            derivs: [Deriv2::U].into(),
        }]
    }
    fn residual(&self, f: &Inputs<'_>) -> Result<Tensor<1>> {
        let k = f.p.get(Deriv2::U)?;
        let grad = match self.form {
            Form::Divergence => {
                f.p.get(Deriv2::X)? * f.u.get(Deriv2::X)?
                    + f.p.get(Deriv2::Y)? * f.u.get(Deriv2::Y)?
            }
            Form::NonDivergence => k.zeros_like(),
        };
        Ok(residual(
            self.form,
            k,
            f.u.get(Deriv2::Laplacian)?,
            grad,
            f.known("f", Deriv2::U)?,
        ))
    }
    fn intermediate(&self) -> Option<Intermediate> {
        Some(Intermediate {
            key: Deriv2::Laplacian,
            symbol: "∇²T",
            clean: "T_clean",
        })
    }
    /// T is smooth at the domain's scale: features to 6 let the fit wander between the 10 %
    /// observed points (5 % noise, 500 steps, 5 seeds: the mollifier's k correlation 0.931,
    /// ∇²T 0.925), features to 3 do not (0.958, 0.967; autodiff 0.945 → 0.965, fd 0.950 → 0.971).
    fn fourier_max(&self) -> f64 {
        3.0
    }
    fn separable(&self) -> bool {
        // k̂ = −f/∇²T̂; the divergence form also has ∇k.
        self.form == Form::NonDivergence
    }
    fn residual_scale(&self, ds: &Dataset, _observed: &[f64], _spread: f64) -> Result<f64> {
        Ok(rms(ds.field("f")?))
    }
    fn bind(&self, ds: &Dataset, notes: &mut Vec<String>) -> Result<Box<dyn Problem>> {
        let form = match ds.meta.get("form") {
            None => {
                notes.push(format!(
                    "meta 'form' is absent: the {} form k∇²T + f = 0 applies",
                    Form::NonDivergence.name()
                ));
                Form::NonDivergence
            }
            Some(serde_json::Value::String(name)) => name
                .parse()
                .map_err(|e: Error| Error::data("dataset.json", format!("meta 'form': {e}")))?,
            Some(other) => {
                return Err(Error::data(
                    "dataset.json",
                    format!("meta 'form' is {other}, expected the name of a heat form"),
                ));
            }
        };
        Ok(Box::new(Self { form }))
    }
    fn cases(&self) -> &'static [&'static str] {
        &["smooth", "constant", "sharp", "smooth:divergence"]
    }
    /// A case may name the form after a colon ("smooth:divergence", "sharp:non-divergence");
    /// without one, this problem's form (non-divergence unless bound to a dataset).
    fn simulate(&self, case: Option<&str>, size: Size, obs: &Observation) -> Result<Dataset> {
        let case = case.unwrap_or("smooth");
        let (name, form) = match case.split_once(':') {
            Some((name, form)) => (name, form.parse()?),
            None => (case, self.form),
        };
        simulate(name.parse()?, form, size, obs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Manufactured solution T* = sin(πx)·sin(πy)·eˣ (zero on the boundary) with
    /// k* = 1 + ½xy; f from the PDE. Returns the max error of the FD solution.
    fn manufactured_error(form: Form, n: usize) -> f64 {
        let g = |x: f64| (PI * x).sin() * x.exp();
        let gx = |x: f64| (PI * (PI * x).cos() + (PI * x).sin()) * x.exp();
        let gxx = |x: f64| ((1.0 - PI * PI) * (PI * x).sin() + 2.0 * PI * (PI * x).cos()) * x.exp();
        let s = |y: f64| (PI * y).sin();
        let t = |x: f64, y: f64| g(x) * s(y);
        let lap = |x: f64, y: f64| gxx(x) * s(y) - PI * PI * g(x) * s(y);
        let k = |x: f64, y: f64| 1.0 + 0.5 * x * y;
        let f = |x: f64, y: f64| {
            let grad = 0.5 * y * gx(x) * s(y) + 0.5 * x * g(x) * PI * (PI * y).cos();
            match form {
                Form::NonDivergence => -k(x, y) * lap(x, y),
                Form::Divergence => -(k(x, y) * lap(x, y) + grad),
            }
        };
        let grid = Grid::d2(Axis::span("y", n, 0.0, 1.0), Axis::span("x", n, 0.0, 1.0));
        let (sol, _) = solve(form, &grid.sample(k), &grid.sample(f), n).unwrap();
        sol.iter()
            .zip(grid.sample(t))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn manufactured_solution_converges_at_second_order() {
        for form in [Form::NonDivergence, Form::Divergence] {
            let errors: Vec<f64> = [17, 33, 65, 129]
                .iter()
                .map(|&n| manufactured_error(form, n))
                .collect();
            let orders: Vec<f64> = errors.windows(2).map(|e| (e[0] / e[1]).log2()).collect();
            println!(
                "heat {}: errors {:?}, observed orders {:?}",
                form.name(),
                errors
                    .iter()
                    .map(|e| format!("{e:.3e}"))
                    .collect::<Vec<_>>(),
                orders.iter().map(|o| format!("{o:.3}")).collect::<Vec<_>>()
            );
            assert!(orders.iter().all(|o| (1.9..2.1).contains(o)), "{orders:?}");
        }
    }

    /// The smooth case on the quick grid, noise-free.
    fn smooth() -> Dataset {
        simulate(
            Case::Smooth,
            Form::NonDivergence,
            Size::Quick,
            &Observation::default(),
        )
        .unwrap()
    }

    /// The 5-point Laplacian of the simulated T on the interior (NaN on the edge).
    fn discrete_laplacian(ds: &Dataset) -> Vec<f64> {
        crate::train::metrics::reference_derivative(
            ds.field("T_clean").unwrap(),
            &ds.grid,
            Deriv2::Laplacian,
        )
        .unwrap()
    }

    #[test]
    fn simulated_temperature_satisfies_the_discrete_pde() {
        let ds = smooth();
        let (t, k) = (ds.field("T_clean").unwrap(), ds.field("k").unwrap());
        let lap = discrete_laplacian(&ds);
        assert_eq!(lap.iter().filter(|v| v.is_finite()).count(), 62 * 62);
        let worst = lap
            .iter()
            .zip(k)
            .filter(|(l, _)| l.is_finite())
            .map(|(l, k)| residual(Form::NonDivergence, *k, *l, 0.0, SOURCE).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-8, "{worst}");
        assert!(t.iter().all(|v| *v >= 0.0) && t.iter().cloned().fold(0.0, f64::max) > 0.1);
    }

    /// k̂ = −f/∇²T from the simulation's own (discrete) Laplacian is the truth: the simulated
    /// T satisfies the discrete PDE to the solver's tolerance.
    #[test]
    fn separable_estimate_recovers_k_from_the_exact_laplacian() {
        use crate::engine::Fields;
        use burn::tensor::{Device, TensorData};
        let ds = smooth();
        let lap = discrete_laplacian(&ds);
        let inner: Vec<usize> = (0..lap.len()).filter(|&i| lap[i].is_finite()).collect();
        let pick = |f: &[f64]| inner.iter().map(|&i| f[i]).collect::<Vec<f64>>();
        let device = Device::flex();
        let t = |v: Vec<f64>| {
            let n = v.len();
            Tensor::<1>::from_data(TensorData::new(v, [n]), &device)
        };
        let field = |what, d, v| {
            let mut f = Fields::new(what);
            f.insert(d, t(v));
            f
        };
        let u = field("u", Deriv2::Laplacian, pick(&lap));
        let p = field("p", Deriv2::U, vec![0.0; inner.len()]);
        let known = [("f", field("f", Deriv2::U, pick(ds.field("f").unwrap())))].into();
        let inputs = Inputs {
            u: &u,
            p: &p,
            known: &known,
        };
        let est = super::super::separable_estimate(&Heat::default(), &inputs)
            .unwrap()
            .unwrap();
        let est: Vec<f64> = est.into_data().convert::<f64>().try_to_vec().unwrap();
        let worst = est
            .iter()
            .zip(pick(ds.field("k").unwrap()))
            .map(|(a, b)| (a - b).abs() / b)
            .fold(0.0, f64::max);
        assert!(worst < 1e-5, "{worst}");
        let divergence = Heat {
            form: Form::Divergence,
        };
        assert!(
            super::super::separable_estimate(&divergence, &inputs)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_case_names_the_divergence_form() {
        let heat = crate::problems::builtin("heat").unwrap();
        let obs = Observation::default();
        let form = |case: &str| {
            let ds = heat.simulate(Some(case), Size::Quick, &obs).unwrap();
            ds.meta["form"].as_str().unwrap().to_string()
        };
        assert_eq!(form("smooth"), "non-divergence");
        assert_eq!(form("smooth:divergence"), "divergence");
        assert_eq!(form("sharp:non-divergence"), "non-divergence");
        let err = heat
            .simulate(Some("smooth:divergent"), Size::Quick, &obs)
            .unwrap_err()
            .to_string();
        assert!(err.contains("divergent"), "{err}");
    }

    #[test]
    fn bad_conductivity_is_rejected() {
        let err = solve(
            Form::Divergence,
            &[1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            &[1.0; 9],
            3,
        )
        .unwrap_err();
        assert!(err.to_string().contains("positive"), "{err}");
    }
}
