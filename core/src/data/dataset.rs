//! A dataset: a grid, named fields with their roles, and metadata. On disk it is a folder with
//! `dataset.json` (the manifest) and one NPY file per field, so numpy users can read it as is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::grid::{Axis, Grid};
use crate::data::io::{Array, NODE_TOLERANCE, Precision};
use crate::error::{Error, Result};

/// A table's own coordinates must be the manifest's grid, node for node (within the tolerance
/// tables are read with): a field exported on another grid is refused, not reshaped onto it.
fn check_same_grid(table: &Grid, grid: &Grid, file: &str) -> Result<()> {
    let describe = |g: &Grid| {
        g.axes
            .iter()
            .map(|a| format!("{} = {}..{} ({} points)", a.name, a.start, a.end(), a.n))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let same = table.axes.len() == grid.axes.len()
        && table.axes.iter().zip(&grid.axes).all(|(t, g)| {
            t.n == g.n
                && (t.start - g.start).abs() <= NODE_TOLERANCE * g.step
                && (t.end() - g.end()).abs() <= NODE_TOLERANCE * g.step
        });
    if same {
        Ok(())
    } else {
        Err(Error::data(
            file,
            format!(
                "its coordinates span {} but {MANIFEST} has {}",
                describe(table),
                describe(grid)
            ),
        ))
    }
}

/// Manifest file name inside a dataset folder.
pub const MANIFEST: &str = "dataset.json";

/// What a field is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Measured (possibly noisy) solution the data loss fits.
    Observed,
    /// 1 where the observed field was measured, 0 elsewhere.
    Mask,
    /// A known input of the PDE (a source, a coefficient field).
    Known,
    /// Ground truth, for metrics only: never shown to the model.
    Truth,
}

/// One field on the dataset's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its role.
    pub role: Role,
    /// Values in C order on the grid.
    pub values: Vec<f64>,
}

/// Grid + named fields + metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Problem name ("langevin", "heat", "chromatin", "ode", or a user's own).
    pub problem: String,
    /// Case within the problem.
    pub case: String,
    /// The grid all fields live on.
    pub grid: Grid,
    /// Fields by name.
    pub fields: BTreeMap<String, Field>,
    /// Parameters and provenance (noise level, seed, constants of the PDE).
    pub meta: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct ManifestField {
    file: String,
    role: Role,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    problem: String,
    case: String,
    grid: Grid,
    fields: BTreeMap<String, ManifestField>,
    #[serde(default)]
    meta: BTreeMap<String, serde_json::Value>,
}

const FORMAT: &str = "mollify-dataset";

impl Dataset {
    /// An empty dataset on `grid`.
    pub fn new(problem: &str, case: &str, grid: Grid) -> Self {
        Self {
            problem: problem.into(),
            case: case.into(),
            grid,
            fields: BTreeMap::new(),
            meta: BTreeMap::new(),
        }
    }

    /// Adds a field (replacing one of the same name).
    pub fn insert(&mut self, name: &str, role: Role, values: Vec<f64>) {
        self.fields.insert(name.into(), Field { role, values });
    }

    /// Records a metadata entry.
    pub fn set_meta(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.meta.insert(key.into(), value.into());
    }

    /// A numeric metadata entry.
    pub fn meta_f64(&self, key: &str) -> Option<f64> {
        self.meta.get(key).and_then(|v| v.as_f64())
    }

    /// Whether the grid is one period of a periodic field (metadata `periodic: true`).
    pub fn is_periodic(&self) -> bool {
        self.meta.get("periodic").and_then(|v| v.as_bool()) == Some(true)
    }

    /// The values of a field, or an error naming the missing field.
    pub fn field(&self, name: &str) -> Result<&[f64]> {
        self.fields
            .get(name)
            .map(|f| f.values.as_slice())
            .ok_or_else(|| {
                Error::data(
                    &self.problem,
                    format!(
                        "dataset has no field '{name}' (fields: {:?})",
                        self.fields.keys().collect::<Vec<_>>()
                    ),
                )
            })
    }

    /// Checks the grid and that every field has the grid's size and finite values, masks 0/1.
    pub fn validate(&self) -> Result<()> {
        self.grid.validate()?;
        let n = self.grid.len();
        for (name, f) in &self.fields {
            if f.values.len() != n {
                return Err(Error::data(
                    name,
                    format!(
                        "has {} values but the grid {:?} has {n} points",
                        f.values.len(),
                        self.grid.shape()
                    ),
                ));
            }
            Array::new(self.grid.shape(), f.values.clone())?.check_finite(name)?;
            if f.role == Role::Mask && f.values.iter().any(|v| *v != 0.0 && *v != 1.0) {
                return Err(Error::data(name, "a mask holds only 0 and 1"));
            }
        }
        Ok(())
    }

    fn manifest(&self) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: 1,
            problem: self.problem.clone(),
            case: self.case.clone(),
            grid: self.grid.clone(),
            fields: self
                .fields
                .iter()
                .map(|(name, f)| {
                    (
                        name.clone(),
                        ManifestField {
                            file: format!("{name}.npy"),
                            role: f.role,
                        },
                    )
                })
                .collect(),
            meta: self.meta.clone(),
        }
    }

    /// The manifest as pretty JSON and each field as NPY bytes: what [`Dataset::save`] writes.
    pub fn to_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.validate()?;
        let mut files = Vec::new();
        for (name, f) in &self.fields {
            let file = format!("{name}.npy");
            let array = Array::new(self.grid.shape(), f.values.clone())?;
            files.push((
                file.clone(),
                crate::data::io::encode(&array, &file, Precision::F64)?,
            ));
        }
        let json = serde_json::to_vec_pretty(&self.manifest())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        // The manifest goes last: a folder without it is never taken for a dataset.
        files.push((MANIFEST.into(), json));
        Ok(files)
    }

    /// Rebuilds a dataset from its manifest and a function that returns a file's bytes.
    pub fn from_files(
        manifest: &[u8],
        mut read: impl FnMut(&str) -> Result<Vec<u8>>,
    ) -> Result<Self> {
        let m: Manifest = serde_json::from_slice(manifest)
            .map_err(|e| Error::data(MANIFEST, format!("invalid manifest: {e}")))?;
        if m.format != FORMAT {
            return Err(Error::data(
                MANIFEST,
                format!("format is '{}', expected '{FORMAT}'", m.format),
            ));
        }
        let mut ds = Dataset::new(&m.problem, &m.case, m.grid);
        ds.meta = m.meta;
        ds.grid
            .validate()
            .map_err(|e| Error::data(MANIFEST, e.to_string()))?;
        for (name, mf) in m.fields {
            if mf.file.contains(['/', '\\']) || mf.file.starts_with('.') {
                return Err(Error::data(
                    MANIFEST,
                    format!("field '{name}' points outside the folder: '{}'", mf.file),
                ));
            }
            let (coords, array) = crate::data::io::decode(&read(&mf.file)?, &mf.file)?;
            if let Some(table) = coords {
                check_same_grid(&table, &ds.grid, &mf.file)?;
            }
            if array.shape != ds.grid.shape() {
                return Err(Error::data(
                    &mf.file,
                    format!(
                        "shape {:?} does not match the grid {:?} in {MANIFEST}",
                        array.shape,
                        ds.grid.shape()
                    ),
                ));
            }
            ds.insert(&name, mf.role, array.data);
        }
        ds.validate()?;
        ds.open_periodic_ends()?;
        Ok(ds)
    }

    /// A periodic dataset (`periodic: true`, period `domain` in the metadata) exported with both
    /// ends — n nodes spanning the closed [start, start + domain], the last row and column
    /// repeating the first, as the authors' COMSOL exports (201 nodes on [0, 10]) — is stored
    /// once per point of the period: the repeated last node of each axis is dropped. The known
    /// and truth fields must repeat there (relative 10⁻⁶), else the grid is not one period.
    /// Returns whether anything was dropped; the metadata record it (`closed_period_input`).
    pub fn open_periodic_ends(&mut self) -> Result<bool> {
        let (Some(domain), true) = (self.meta_f64("domain"), self.is_periodic()) else {
            return Ok(false);
        };
        let closed = |a: &Axis| {
            a.n > 2 && ((a.n - 1) as f64 * a.step - domain).abs() <= NODE_TOLERANCE * a.step
        };
        if !self.grid.axes.iter().any(closed) {
            return Ok(false);
        }
        let shape = self.grid.shape();
        let keep: Vec<usize> = self
            .grid
            .axes
            .iter()
            .map(|a| a.n - usize::from(closed(a)))
            .collect();
        let strides: Vec<usize> = (0..shape.len())
            .map(|k| shape[k + 1..].iter().product())
            .collect();
        // Index of every kept node in the closed grid, and of its wrapped twin on each closed
        // axis (the same node with that coordinate at the period's last node).
        let kept: Vec<usize> = (0..keep.iter().product())
            .map(|mut q| {
                let mut flat = 0;
                for k in (0..keep.len()).rev() {
                    flat += (q % keep[k]) * strides[k];
                    q /= keep[k];
                }
                flat
            })
            .collect();
        for (name, f) in &self.fields {
            if !matches!(f.role, Role::Known | Role::Truth) {
                continue;
            }
            let scale = f
                .values
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
                .max(1e-300);
            for (k, axis) in self.grid.axes.iter().enumerate() {
                if !closed(axis) {
                    continue;
                }
                let last = (axis.n - 1) * strides[k];
                let worst = kept
                    .iter()
                    .filter(|&&flat| (flat / strides[k]).is_multiple_of(shape[k]))
                    .map(|&flat| (f.values[flat + last] - f.values[flat]).abs())
                    .fold(0.0, f64::max);
                if worst > 1e-6 * scale {
                    return Err(Error::data(
                        name,
                        format!(
                            "axis '{}' has {} nodes spanning the period {domain} with both ends, but the \
                             last node does not repeat the first (they differ by up to {worst:.3e}): \
                             a periodic grid holds each point of the period once, or repeats the first at the end",
                            axis.name, axis.n
                        ),
                    ));
                }
            }
        }
        for f in self.fields.values_mut() {
            f.values = kept.iter().map(|&q| f.values[q]).collect();
        }
        for (a, n) in self.grid.axes.iter_mut().zip(keep) {
            a.n = n;
        }
        self.set_meta("closed_period_input", true);
        Ok(true)
    }

    /// Writes the dataset folder: every file atomically, the manifest last.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        let files = self.to_files()?;
        crate::data::io::create_dir_all(dir)?;
        for (name, bytes) in files {
            crate::data::io::write_atomic(&dir.join(name), &bytes)?;
        }
        Ok(())
    }

    /// Reads a dataset folder written by [`Dataset::save`] (or by hand, following its manifest).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(dir: &std::path::Path) -> Result<Self> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let manifest = read(MANIFEST)?;
        Self::from_files(&manifest, read)
    }
}
