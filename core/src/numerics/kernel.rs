//! Mollifier kernel families: smooth (or finitely smooth), compactly supported on |t| < 1,
//! non-negative, unit mass, with closed-form derivatives.
//!
//! Profiles are written in the normalised coordinate `t = x/ε`; scaling to a physical width ε
//! (φ_ε(x) = ε⁻ᵈ φ(x/ε), ∂ᵏφ_ε = ε⁻ᵈ⁻ᵏ φ⁽ᵏ⁾) happens in [`crate::numerics::stencil`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A kernel family φ. Each is non-negative on its support |t| < 1 and zero outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum KernelFamily {
    /// The C∞ bump C·exp(−1/(1−t²)): the paper's "original" kernel, differentiable to any order.
    #[default]
    Bump,
    /// The 2nd-order polynomial (1−t²): only C⁰ at the edge, so first derivatives only.
    Poly2,
    /// The 4th-order polynomial (1−t²)²: C¹ at the edge, derivatives up to order 2.
    Poly4,
    /// The cosine kernel cos(πt/2): C⁰ at the edge, first derivatives only.
    Sine,
}

/// Highest derivative order the bump kernel's stencils are built for. The closed form holds for
/// any order; beyond 6 the stencils lose all accuracy in f64 long before the math fails.
const BUMP_MAX_ORDER: usize = 6;

impl KernelFamily {
    /// Every family, in a stable order (for CLIs, UIs and sweeps).
    pub const ALL: [KernelFamily; 4] = [Self::Bump, Self::Poly2, Self::Poly4, Self::Sine];

    /// Short lowercase name, the same spelling serde and the CLI use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bump => "bump",
            Self::Poly2 => "poly2",
            Self::Poly4 => "poly4",
            Self::Sine => "sine",
        }
    }

    /// Highest derivative order for which Dᵏφ is a function (not a distribution with jumps or
    /// Dirac masses at the edge of the support), so that g∗Dᵏφ is a sound derivative of g∗φ.
    pub fn max_order(self) -> usize {
        match self {
            Self::Bump => BUMP_MAX_ORDER,
            Self::Poly4 => 2,
            Self::Poly2 | Self::Sine => 1,
        }
    }

    /// The highest derivative order an operator built on this family can return: orders 3
    /// and 4 are compositions of stencils of order ≤ 2, so a family smooth to order 2 serves
    /// them too.
    pub fn max_operator_order(self) -> usize {
        if self.max_order() >= 2 {
            4
        } else {
            self.max_order()
        }
    }

    /// Fails with a clear error when `order` exceeds what this family's smoothness allows.
    pub fn check_order(self, order: usize) -> Result<()> {
        if order > self.max_order() {
            return Err(Error::OrderTooHigh {
                family: self,
                order,
                max: self.max_order(),
            });
        }
        Ok(())
    }

    /// The k-th derivative of the *unnormalised* 1D profile at t (zero outside |t| < 1).
    fn raw_derivative_1d(self, t: f64, k: usize) -> f64 {
        if t.abs() >= 1.0 {
            return 0.0;
        }
        let s = 1.0 - t * t;
        match self {
            Self::Bump => {
                // φ⁽ᵏ⁾ = P_k(t)/(1−t²)²ᵏ · φ; evaluated in log space so q²ᵏ·e^(−q) never overflows.
                let p = bump_polynomial(k);
                let q = 1.0 / s;
                let value = eval_poly(&p, t);
                if value == 0.0 {
                    return 0.0;
                }
                value.signum() * (value.abs().ln() + 2.0 * k as f64 * q.ln() - q).exp()
            }
            Self::Poly2 => match k {
                0 => s,
                1 => -2.0 * t,
                2 => -2.0,
                _ => 0.0,
            },
            Self::Poly4 => match k {
                0 => s * s,
                1 => -4.0 * t * s,
                2 => 12.0 * t * t - 4.0,
                3 => 24.0 * t,
                4 => 24.0,
                _ => 0.0,
            },
            Self::Sine => {
                let a = std::f64::consts::FRAC_PI_2;
                // d^k/dt^k cos(a t) = a^k cos(a t + kπ/2)
                a.powi(k as i32) * (a * t + k as f64 * std::f64::consts::FRAC_PI_2).cos()
            }
        }
    }

    /// Profile of the radial 2D kernel as a function of s = r², and its first two s-derivatives.
    /// Working in s avoids the removable 1/r singularities of ∂ₓφ(r) at the origin.
    fn raw_radial_s(self, s: f64) -> [f64; 3] {
        if s >= 1.0 {
            return [0.0; 3];
        }
        let w = 1.0 - s;
        match self {
            Self::Bump => {
                let phi = (-1.0 / w).exp();
                [phi, -phi / (w * w), (2.0 * s - 1.0) / w.powi(4) * phi]
            }
            Self::Poly2 => [w, -1.0, 0.0],
            Self::Poly4 => [w * w, -2.0 * w, 2.0],
            Self::Sine => {
                let a = std::f64::consts::FRAC_PI_2;
                let r = s.sqrt();
                // d/ds cos(a√s) = −a sin(a√s)/(2√s) → −a²/2 at s = 0.
                let d1 = if r < 1e-8 {
                    -a * a / 2.0
                } else {
                    -a * (a * r).sin() / (2.0 * r)
                };
                // Second s-derivative is not needed: the family stops at order 1.
                [(a * r).cos(), d1, f64::NAN]
            }
        }
    }
}

impl std::fmt::Display for KernelFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KernelFamily {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        crate::error::parse_named(s, &Self::ALL, Self::name, "kernel")
    }
}

/// Coefficients (ascending powers of t) of P_k in φ⁽ᵏ⁾ = P_k(t)/(1−t²)²ᵏ·φ for the bump.
///
/// From φ′ = −2t/(1−t²)²·φ: P₀ = 1, P_{k+1} = (P_k′(1−t²) + 4k·t·P_k)(1−t²) − 2t·P_k.
fn bump_polynomial(k: usize) -> Vec<f64> {
    let mut p = vec![1.0];
    for j in 0..k {
        let dp: Vec<f64> = p
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, c)| i as f64 * c)
            .collect();
        // a = P′(1−t²) + 4j·t·P
        let mut a = vec![0.0; p.len() + 2];
        for (i, c) in dp.iter().enumerate() {
            a[i] += c;
            a[i + 2] -= c;
        }
        for (i, c) in p.iter().enumerate() {
            a[i + 1] += 4.0 * j as f64 * c;
        }
        // next = a(1−t²) − 2t·P
        let mut next = vec![0.0; a.len() + 2];
        for (i, c) in a.iter().enumerate() {
            next[i] += c;
            next[i + 2] -= c;
        }
        for (i, c) in p.iter().enumerate() {
            next[i + 1] -= 2.0 * c;
        }
        while next.len() > 1 && next.last() == Some(&0.0) {
            next.pop();
        }
        p = next;
    }
    p
}

fn eval_poly(coeffs: &[f64], t: f64) -> f64 {
    coeffs.iter().rev().fold(0.0, |acc, c| acc * t + c)
}

/// A kernel family with its normalisation constants, in 1D and radial 2D.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kernel {
    family: KernelFamily,
    c1: f64,
    c2: f64,
}

/// Trapezoid points for the normalisation integrals. The integrands vanish smoothly at the ends
/// (to all orders for the bump), where the trapezoid rule converges faster than any power.
const QUADRATURE_POINTS: usize = 1 << 14;

impl Kernel {
    /// Builds the kernel, computing the constants that give it unit mass in 1D and in 2D.
    pub fn new(family: KernelFamily) -> Self {
        let n = QUADRATURE_POINTS;
        let h = 1.0 / n as f64;
        // ∫_{−1}^{1} φ dt = 2∫₀¹ φ dt; ∫_{B₁} φ = 2π∫₀¹ φ(r) r dr. Endpoint terms: φ(1) = 0 but the
        // trapezoid rule still needs the t = 0 end with weight ½.
        let (mut m1, mut m2) = (0.5 * family.raw_derivative_1d(0.0, 0), 0.0);
        for i in 1..n {
            let t = i as f64 * h;
            m1 += family.raw_derivative_1d(t, 0);
            m2 += family.raw_radial_s(t * t)[0] * t;
        }
        let mass1 = 2.0 * m1 * h;
        let mass2 = 2.0 * std::f64::consts::PI * m2 * h;
        Self {
            family,
            c1: 1.0 / mass1,
            c2: 1.0 / mass2,
        }
    }

    /// The family this kernel belongs to.
    pub fn family(&self) -> KernelFamily {
        self.family
    }

    /// The 1D normalisation constant C (∫φ = 1); ≈ 2.25228 for the bump.
    pub fn constant_1d(&self) -> f64 {
        self.c1
    }

    /// The radial 2D normalisation constant C (∫∫φ = 1); ≈ 2.14357 for the bump.
    pub fn constant_2d(&self) -> f64 {
        self.c2
    }

    /// φ⁽ᵏ⁾(t) of the unit-mass 1D kernel.
    pub fn derivative_1d(&self, t: f64, k: usize) -> Result<f64> {
        self.family.check_order(k)?;
        Ok(self.c1 * self.family.raw_derivative_1d(t, k))
    }

    /// φ(t) of the unit-mass 1D kernel.
    pub fn value_1d(&self, t: f64) -> f64 {
        self.c1 * self.family.raw_derivative_1d(t, 0)
    }

    /// ∂ₓᵃ∂ᵧᵇ φ(x, y) of the unit-mass radial 2D kernel, for a + b ≤ 2.
    pub fn derivative_2d(&self, x: f64, y: f64, a: usize, b: usize) -> Result<f64> {
        self.family.check_order(a + b)?;
        let [f, fs, fss] = self.family.raw_radial_s(x * x + y * y);
        let v = match (a, b) {
            (0, 0) => f,
            (1, 0) => 2.0 * x * fs,
            (0, 1) => 2.0 * y * fs,
            (2, 0) => 2.0 * fs + 4.0 * x * x * fss,
            (0, 2) => 2.0 * fs + 4.0 * y * y * fss,
            (1, 1) => 4.0 * x * y * fss,
            _ => {
                return Err(Error::Invalid(format!(
                    "radial kernel derivatives are built up to total order 2 (asked ∂x^{a}∂y^{b}); \
                     higher orders are composed from second-order stencils"
                )));
            }
        };
        Ok(self.c2 * v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8th-order central first derivative of f at t with step h.
    fn fd8(f: impl Fn(f64) -> f64, t: f64, h: f64) -> f64 {
        const C: [f64; 4] = [4.0 / 5.0, -1.0 / 5.0, 4.0 / 105.0, -1.0 / 280.0];
        C.iter()
            .enumerate()
            .map(|(i, c)| {
                let d = (i + 1) as f64 * h;
                c * (f(t + d) - f(t - d))
            })
            .sum::<f64>()
            / h
    }

    #[test]
    fn bump_constants_match_the_literature() {
        let k = Kernel::new(KernelFamily::Bump);
        assert!(
            (k.constant_1d() - 2.252_283_6).abs() < 1e-6,
            "{}",
            k.constant_1d()
        );
        assert!(
            (k.constant_2d() - 2.143_57).abs() < 1e-5,
            "{}",
            k.constant_2d()
        );
    }

    #[test]
    fn closed_forms_of_polynomial_kernels() {
        // ∫(1−t²) = 4/3, ∫(1−t²)² = 16/15, ∫cos(πt/2) = 4/π; radial: π/2, π/3, 4 − 8/π.
        let pi = std::f64::consts::PI;
        let cases = [
            (KernelFamily::Poly2, 0.75, 2.0 / pi),
            (KernelFamily::Poly4, 15.0 / 16.0, 3.0 / pi),
            (KernelFamily::Sine, pi / 4.0, 1.0 / (4.0 - 8.0 / pi)),
        ];
        for (family, c1, c2) in cases {
            let k = Kernel::new(family);
            assert!(
                (k.constant_1d() - c1).abs() < 1e-7,
                "{family} 1D {}",
                k.constant_1d()
            );
            assert!(
                (k.constant_2d() - c2).abs() < 1e-7,
                "{family} 2D {}",
                k.constant_2d()
            );
        }
    }

    #[test]
    fn kernels_are_nonnegative_symmetric_and_compact() {
        for family in KernelFamily::ALL {
            let k = Kernel::new(family);
            for i in 0..=200 {
                let t = -1.2 + 2.4 * i as f64 / 200.0;
                let v = k.value_1d(t);
                assert!(v >= 0.0, "{family} negative at {t}");
                assert_eq!(v, k.value_1d(-t), "{family} not even at {t}");
                if t.abs() >= 1.0 {
                    assert_eq!(v, 0.0, "{family} not compact at {t}");
                }
                for order in 1..=family.max_order() {
                    let d = k.derivative_1d(t, order).unwrap();
                    let parity = if order % 2 == 0 { 1.0 } else { -1.0 };
                    assert!(
                        (d - parity * k.derivative_1d(-t, order).unwrap()).abs()
                            <= 1e-12 * d.abs().max(1.0)
                    );
                }
            }
        }
    }

    #[test]
    fn bump_recurrence_reproduces_the_known_second_derivative() {
        // φ″ = 2(3t⁴ − 1)/(1 − t²)⁴ · φ
        assert_eq!(bump_polynomial(2), vec![-2.0, 0.0, 0.0, 0.0, 6.0]);
    }

    #[test]
    fn derivatives_match_finite_differences_of_the_closed_form() {
        for family in KernelFamily::ALL {
            let k = Kernel::new(family);
            for order in 1..=family.max_order().min(4) {
                let mut worst: f64 = 0.0;
                let mut scale: f64 = 0.0;
                for i in 0..=60 {
                    let t = -0.9 + 1.8 * i as f64 / 60.0;
                    let exact = k.derivative_1d(t, order).unwrap();
                    let fd = fd8(|s| k.derivative_1d(s, order - 1).unwrap(), t, 1e-3);
                    worst = worst.max((exact - fd).abs());
                    scale = scale.max(exact.abs());
                }
                assert!(
                    worst <= 1e-8 * scale.max(1.0),
                    "{family} order {order}: {worst:e} (scale {scale:e})"
                );
            }
            // Radial 2D: first and second partials against FD of the lower-order closed forms.
            for (x, y) in [(0.3, -0.2), (0.0, 0.5), (-0.45, 0.4), (0.05, 0.02)] {
                let d = |a, b| move |x: f64, y: f64| k.derivative_2d(x, y, a, b).unwrap();
                let cases: Vec<((usize, usize), f64)> = [
                    ((1, 0), fd8(|s| d(0, 0)(s, y), x, 1e-3)),
                    ((0, 1), fd8(|s| d(0, 0)(x, s), y, 1e-3)),
                ]
                .into_iter()
                .chain(if family.max_order() >= 2 {
                    vec![
                        ((2, 0), fd8(|s| d(1, 0)(s, y), x, 1e-3)),
                        ((1, 1), fd8(|s| d(1, 0)(x, s), y, 1e-3)),
                        ((0, 2), fd8(|s| d(0, 1)(x, s), y, 1e-3)),
                    ]
                } else {
                    vec![]
                })
                .collect();
                for ((a, b), fd) in cases {
                    let exact = d(a, b)(x, y);
                    assert!(
                        (exact - fd).abs() <= 1e-8 * exact.abs().max(1.0),
                        "{family} ∂x^{a}∂y^{b} at ({x},{y}): {exact} vs {fd}"
                    );
                }
            }
        }
    }

    #[test]
    fn asking_beyond_the_smoothness_is_an_error() {
        let k = Kernel::new(KernelFamily::Poly2);
        let err = k.derivative_1d(0.1, 2).unwrap_err().to_string();
        assert!(
            err.contains("poly2") && err.contains("order 2") && err.contains("at most 1"),
            "{err}"
        );
        assert!(
            Kernel::new(KernelFamily::Sine)
                .derivative_2d(0.1, 0.1, 1, 1)
                .is_err()
        );
        assert!(
            Kernel::new(KernelFamily::Bump)
                .derivative_1d(0.1, 7)
                .is_err()
        );
    }

    #[test]
    fn names_round_trip() {
        for family in KernelFamily::ALL {
            assert_eq!(family.name().parse::<KernelFamily>().unwrap(), family);
        }
        assert!(
            "gauss"
                .parse::<KernelFamily>()
                .unwrap_err()
                .to_string()
                .contains("gauss")
        );
    }
}
