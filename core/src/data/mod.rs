//! Data: uniform grids, datasets (named fields with roles, a manifest), and the file formats
//! they are read from and written to.

pub mod dataset;
pub mod grid;
pub mod io;
