//! Discrete mollifier stencils: the kernel and its analytic derivatives sampled on a grid,
//! corrected so that they satisfy the discrete moment conditions exactly.
//!
//! A stencil of `size = 2m + 1` points samples the kernel at t_j = j/(m+1), i.e. ε = (m+1)·h, so
//! every tap carries weight (sampling at t = ±1 would waste two taps on zeros). Stencils are kept
//! in *grid units*: applied to samples g_{i+j} they give hᵏ·Dᵏu, and the caller divides by hᵏ.
//! This makes them independent of the spacing and keeps f32 values O(1).
//!
//! Raw samples of Dᵏφ violate the moment conditions badly (a sampled φ″ stencil sums to ≈ −151
//! instead of 0 at small sizes), so each stencil gets φ·P(t) added, with P the polynomial of the
//! stencil's parity that makes Σⱼ wⱼ jᵖ/p! = δ_pk hold for every p ≤ k (and p = k+1 by symmetry).
//! For k = 0 this is exactly the renormalisation Σφ·hᵈ = 1.

use crate::error::{Error, Result};
use crate::numerics::kernel::{Kernel, KernelFamily};
use crate::numerics::mollifier::Accuracy;

/// Validates a kernel size in points: odd (centred) and at least 3.
pub fn check_size(size: usize) -> Result<()> {
    if size < 3 || size.is_multiple_of(2) {
        return Err(Error::Invalid(format!(
            "kernel size must be an odd number of points ≥ 3 (got {size})"
        )));
    }
    Ok(())
}

/// Taps j = −m..=m of a 1D stencil in grid units: Σⱼ wⱼ g_{i+j} ≈ hᵏ·(Dᵏ(g∗φ_ε))(xᵢ).
pub fn stencil_1d(family: KernelFamily, size: usize, order: usize) -> Result<Vec<f64>> {
    stencil_1d_accurate(family, size, order, Accuracy::Second)
}

/// [`stencil_1d`] with the moment conditions of `accuracy`: [`Accuracy::Fourth`] also zeroes
/// the moments of degree k+2 (and k+3 by symmetry), so the stencil is exact on polynomials of
/// degree k+3 — a kernel with negative lobes, as a cubic Savitzky–Golay filter is.
pub fn stencil_1d_accurate(
    family: KernelFamily,
    size: usize,
    order: usize,
    accuracy: Accuracy,
) -> Result<Vec<f64>> {
    check_size(size)?;
    family.check_order(order)?;
    let kernel = Kernel::new(family);
    let m = (size / 2) as i64;
    let scale = (m + 1) as f64;
    let t: Vec<f64> = (-m..=m).map(|j| j as f64 / scale).collect();
    let sign = if order.is_multiple_of(2) { 1.0 } else { -1.0 };
    // Cross-correlation orientation: D^k(g∗φ)(x) = Σ g(x + y)·(−1)ᵏφ⁽ᵏ⁾(y)·h.
    let mut w: Vec<f64> = t
        .iter()
        .map(|&tj| Ok(sign * kernel.derivative_1d(tj, order)? / scale.powi(order as i32 + 1)))
        .collect::<Result<_>>()?;
    let base: Vec<f64> = t.iter().map(|&tj| kernel.value_1d(tj)).collect();
    // Moment rows and correction terms share the stencil's parity: p, a ∈ {k mod 2, …, k}.
    let top = order + accuracy.order() - 2;
    let powers: Vec<usize> = (order % 2..=top).step_by(2).collect();
    // Distinct |j| of the stencil's parity: the free values the corrections can set.
    let free = if order.is_multiple_of(2) {
        size / 2 + 1
    } else {
        size / 2
    };
    if powers.len() > free {
        return Err(Error::Invalid(format!(
            "a {size}-point kernel is too small for order {order} at {accuracy} accuracy"
        )));
    }
    let j: Vec<f64> = (-m..=m).map(|j| j as f64).collect();
    let moment =
        |v: &[f64], p: usize| -> f64 { v.iter().zip(&j).map(|(v, j)| v * j.powi(p as i32)).sum() };
    let matrix: Vec<Vec<f64>> = powers
        .iter()
        .map(|&p| {
            powers
                .iter()
                .map(|&a| {
                    let col: Vec<f64> = base
                        .iter()
                        .zip(&t)
                        .map(|(b, t)| b * t.powi(a as i32))
                        .collect();
                    moment(&col, p)
                })
                .collect()
        })
        .collect();
    let rhs: Vec<f64> = powers
        .iter()
        .map(|&p| if p == order { factorial(order) } else { 0.0 } - moment(&w, p))
        .collect();
    let coeffs = solve(matrix, rhs)?;
    for (i, wi) in w.iter_mut().enumerate() {
        *wi += base[i]
            * powers
                .iter()
                .zip(&coeffs)
                .map(|(&a, c)| c * t[i].powi(a as i32))
                .sum::<f64>();
    }
    Ok(w)
}

/// Row-major `size × size` taps (row = y offset, column = x offset) of the radial 2D stencil
/// for ∂ₓᵃ∂ᵧᵇ (a + b ≤ 2) in grid units: Σ w·g ≈ hxᵃ·hyᵇ·∂ₓᵃ∂ᵧᵇ(g∗φ_ε).
///
/// The kernel is radial in grid-normalised coordinates (x/εx, y/εy): a true ball when hx = hy,
/// an ellipse otherwise, so the same size in points serves anisotropic grids.
pub fn stencil_2d_radial(
    family: KernelFamily,
    size: usize,
    a: usize,
    b: usize,
) -> Result<Vec<f64>> {
    check_size(size)?;
    let kernel = Kernel::new(family);
    let order = a + b;
    let m = (size / 2) as i64;
    let scale = (m + 1) as f64;
    let sign = if order.is_multiple_of(2) { 1.0 } else { -1.0 };
    let offsets: Vec<(f64, f64)> = (-m..=m)
        .flat_map(|iy| (-m..=m).map(move |ix| (ix as f64, iy as f64)))
        .collect();
    let mut w: Vec<f64> = offsets
        .iter()
        .map(|&(ix, iy)| {
            Ok(sign * kernel.derivative_2d(ix / scale, iy / scale, a, b)?
                / scale.powi(order as i32 + 2))
        })
        .collect::<Result<_>>()?;
    let base: Vec<f64> = offsets
        .iter()
        .map(|&(ix, iy)| kernel.derivative_2d(ix / scale, iy / scale, 0, 0))
        .collect::<Result<_>>()?;
    // Monomials xᵖyᵠ of the stencil's parity in each axis with p + q ≤ a + b.
    let terms: Vec<(i32, i32)> = (0..=order as i32)
        .flat_map(|p| (0..=order as i32 - p).map(move |q| (p, q)))
        .filter(|&(p, q)| p % 2 == a as i32 % 2 && q % 2 == b as i32 % 2)
        .collect();
    let moment = |v: &[f64], (p, q): (i32, i32)| -> f64 {
        v.iter()
            .zip(&offsets)
            .map(|(v, (x, y))| v * x.powi(p) * y.powi(q))
            .sum()
    };
    let matrix: Vec<Vec<f64>> = terms
        .iter()
        .map(|&row| {
            terms
                .iter()
                .map(|&(p, q)| {
                    let col: Vec<f64> = base
                        .iter()
                        .zip(&offsets)
                        .map(|(bv, (x, y))| bv * (x / scale).powi(p) * (y / scale).powi(q))
                        .collect();
                    moment(&col, row)
                })
                .collect()
        })
        .collect();
    let target = (a as i32, b as i32);
    let rhs: Vec<f64> = terms
        .iter()
        .map(|&row| if row == target { factorial(a) * factorial(b) } else { 0.0 } - moment(&w, row))
        .collect();
    let coeffs = solve(matrix, rhs)?;
    for (i, wi) in w.iter_mut().enumerate() {
        let (x, y) = (offsets[i].0 / scale, offsets[i].1 / scale);
        *wi += base[i]
            * terms
                .iter()
                .zip(&coeffs)
                .map(|(&(p, q), c)| c * x.powi(p) * y.powi(q))
                .sum::<f64>();
    }
    Ok(w)
}

/// n! as f64 (moment conditions, Taylor coefficients).
pub(crate) fn factorial(n: usize) -> f64 {
    (1..=n).map(|i| i as f64).product()
}

/// Gaussian elimination with partial pivoting for the small moment systems.
pub(crate) fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Result<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        if a[pivot][col].abs() < 1e-300 {
            return Err(Error::Invalid(
                "singular moment system: kernel too small for this order".into(),
            ));
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment_1d(w: &[f64], p: i32) -> f64 {
        let m = (w.len() / 2) as i64;
        w.iter()
            .zip(-m..=m)
            .map(|(w, j)| w * (j as f64).powi(p))
            .sum::<f64>()
            / factorial(p as usize)
    }

    #[test]
    fn one_d_stencils_satisfy_their_moment_conditions() {
        for family in KernelFamily::ALL {
            for size in [5, 7, 9, 11, 15, 39] {
                for order in 0..=family.max_order().min(4) {
                    for accuracy in [Accuracy::Second, Accuracy::Fourth] {
                        let Ok(w) = stencil_1d_accurate(family, size, order, accuracy) else {
                            // Too few taps for the fourth-order moments: refused, never wrong.
                            assert!(accuracy == Accuracy::Fourth && size <= 7, "{family} {size}");
                            continue;
                        };
                        for p in 0..=(order + accuracy.order()) as i32 - 1 {
                            let expect = if p == order as i32 { 1.0 } else { 0.0 };
                            let got = moment_1d(&w, p);
                            // Rounding relative to the size of the sum's terms.
                            let abs: Vec<f64> = w.iter().map(|v| v.abs()).collect();
                            let scale = moment_1d(&abs, p).abs().max(1.0);
                            assert!(
                                (got - expect).abs() < 1e-12 * scale,
                                "{family} K={size} k={order} {accuracy} p={p}: {got}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn raw_samples_would_violate_the_moments() {
        // The correction is not cosmetic: without it the second-derivative stencil's sum is far from 0.
        let kernel = Kernel::new(KernelFamily::Bump);
        let raw: f64 = (-3..=3)
            .map(|j| kernel.derivative_1d(j as f64 / 4.0, 2).unwrap() / 64.0)
            .sum();
        assert!(raw.abs() > 0.1, "{raw}");
        assert!(
            stencil_1d(KernelFamily::Bump, 7, 2)
                .unwrap()
                .iter()
                .sum::<f64>()
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn two_d_stencils_satisfy_their_moment_conditions() {
        for family in KernelFamily::ALL {
            for size in [5, 9, 11] {
                for (a, b) in [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)] {
                    if a + b > family.max_order() {
                        assert!(stencil_2d_radial(family, size, a, b).is_err());
                        continue;
                    }
                    let w = stencil_2d_radial(family, size, a, b).unwrap();
                    let m = (size / 2) as i64;
                    for p in 0..=3i32 {
                        for q in 0..=3 - p {
                            let got: f64 = w
                                .iter()
                                .enumerate()
                                .map(|(i, w)| {
                                    let (x, y) = ((i % size) as i64 - m, (i / size) as i64 - m);
                                    w * (x as f64).powi(p) * (y as f64).powi(q)
                                })
                                .sum::<f64>()
                                / (factorial(p as usize) * factorial(q as usize));
                            let expect = if (p, q) == (a as i32, b as i32) {
                                1.0
                            } else {
                                0.0
                            };
                            if p + q <= (a + b) as i32 + 1 {
                                assert!(
                                    (got - expect).abs() < 1e-9,
                                    "{family} K={size} ∂{a},{b} moment {p},{q}: {got}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sizes_and_orders_are_validated() {
        assert!(
            stencil_1d(KernelFamily::Bump, 4, 1)
                .unwrap_err()
                .to_string()
                .contains("odd")
        );
        assert!(stencil_1d(KernelFamily::Bump, 1, 0).is_err());
        assert!(
            stencil_1d(KernelFamily::Poly4, 9, 3)
                .unwrap_err()
                .to_string()
                .contains("at most 2")
        );
    }
}
