//! The mathematics of mollification, independent of training: kernel families and their
//! analytic derivatives, sampled moment-corrected stencils, mollifier operators as burn
//! convolutions, Taylor-mode jets, kernel sizing from the data's noise, and regression of
//! point localisations onto grids.

pub mod autosize;
pub mod dense;
pub mod jet;
pub mod kernel;
pub mod mollifier;
pub mod regression;
pub mod stencil;
pub mod tanh;
