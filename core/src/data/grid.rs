//! Regular grids: the coordinates every field, dataset and operator shares.
//!
//! Axes are listed outermost first, the numpy convention for C-order arrays: a 1D grid is
//! `[t]` or `[x]`, a 2D grid `[y, x]`, so `field[j * nx + i]` sits at (x_i, y_j).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One uniformly spaced axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Coordinate name: "t", "x" or "y".
    pub name: String,
    /// Number of points (≥ 2).
    pub n: usize,
    /// Coordinate of the first point.
    pub start: f64,
    /// Spacing between points (> 0).
    pub step: f64,
}

impl Axis {
    /// An axis of `n` points from `start` to `end` inclusive.
    pub fn span(name: &str, n: usize, start: f64, end: f64) -> Self {
        Self {
            name: name.to_string(),
            n,
            start,
            step: (end - start) / (n.max(2) - 1) as f64,
        }
    }

    /// Coordinate of point `i`.
    pub fn coord(&self, i: usize) -> f64 {
        self.start + self.step * i as f64
    }

    /// All coordinates.
    pub fn coords(&self) -> Vec<f64> {
        (0..self.n).map(|i| self.coord(i)).collect()
    }

    /// Coordinate of the last point.
    pub fn end(&self) -> f64 {
        self.coord(self.n - 1)
    }
}

/// Largest grid accepted (2³¹ points, 16 GiB per f64 field): beyond it a manifest is corrupt.
pub const MAX_POINTS: usize = 1 << 31;

/// A regular 1D or 2D grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Axes, outermost first.
    pub axes: Vec<Axis>,
}

impl Grid {
    /// A 1D grid.
    pub fn d1(axis: Axis) -> Self {
        Self { axes: vec![axis] }
    }

    /// A 2D grid with rows along `y` and columns along `x`.
    pub fn d2(y: Axis, x: Axis) -> Self {
        Self { axes: vec![y, x] }
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.axes.len()
    }

    /// Shape, outermost first.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.n).collect()
    }

    /// [ny, nx] (1D: [1, n]): the 2D view the operators and the trainer work on.
    pub fn shape_2d(&self) -> [usize; 2] {
        [self.y().map_or(1, |a| a.n), self.x().n]
    }

    /// [hy, hx] (1D: [1, h]).
    pub fn spacing_2d(&self) -> [f64; 2] {
        [self.y().map_or(1.0, |a| a.step), self.x().step]
    }

    /// Total number of points.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.n).product()
    }

    /// Whether the grid has no points (never true for a validated grid).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The x axis of a 2D grid (the last axis of any grid).
    pub fn x(&self) -> &Axis {
        &self.axes[self.axes.len() - 1]
    }

    /// The y axis of a 2D grid.
    pub fn y(&self) -> Option<&Axis> {
        (self.axes.len() == 2).then(|| &self.axes[0])
    }

    /// Checks that the grid is 1D (`t` or `x`) or 2D (`[y, x]`, outermost first), with at
    /// least two points and a positive, finite spacing on every axis. Axes are matched by
    /// name: a 2D grid listed as `[x, y]` would silently swap the spacings, so it is refused.
    pub fn validate(&self) -> Result<()> {
        let names: Vec<&str> = self.axes.iter().map(|a| a.name.as_str()).collect();
        match names.as_slice() {
            ["t" | "x"] | ["y", "x"] => {}
            ["x", "y"] => {
                return Err(Error::Invalid(
                    "axes are listed outermost first: a 2D grid is [y, x] (rows along y, C order), not [x, y]"
                        .into(),
                ));
            }
            [_] => {
                return Err(Error::Invalid(format!(
                    "a 1D axis is named 't' or 'x' (got '{}')",
                    names[0]
                )));
            }
            [_, _] => {
                return Err(Error::Invalid(format!(
                    "a 2D grid has axes named [y, x], outermost first (got {names:?})"
                )));
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "grids are 1D or 2D (got {} axes)",
                    self.axes.len()
                )));
            }
        }
        if self
            .axes
            .iter()
            .try_fold(1usize, |acc, a| acc.checked_mul(a.n))
            .is_none_or(|n| n > MAX_POINTS)
        {
            return Err(Error::Invalid(format!(
                "grid {:?} has more than {MAX_POINTS} points",
                self.shape()
            )));
        }
        for a in &self.axes {
            if a.n < 2 {
                return Err(Error::Invalid(format!(
                    "axis '{}' needs at least 2 points (got {})",
                    a.name, a.n
                )));
            }
            if !(a.step.is_finite() && a.step > 0.0 && a.start.is_finite()) {
                return Err(Error::Invalid(format!(
                    "axis '{}' needs a finite start and positive finite spacing (got start {}, step {})",
                    a.name, a.start, a.step
                )));
            }
        }
        Ok(())
    }

    /// Evaluates `f(x)` (1D) or `f(x, y)` (2D) at every point, in C order.
    pub fn sample(&self, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        match self.y() {
            None => self.x().coords().into_iter().map(|x| f(x, 0.0)).collect(),
            Some(y) => {
                let xs = self.x().coords();
                y.coords()
                    .into_iter()
                    .flat_map(|yv| xs.iter().map(move |&xv| (xv, yv)))
                    .map(|(x, y)| f(x, y))
                    .collect()
            }
        }
    }
}
