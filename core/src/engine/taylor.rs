//! The autodiff baseline: derivatives of the network with respect to its input coordinates,
//! propagated forward through the network as truncated Taylor series (jets), on every grid
//! point. Data fields cannot be differentiated this way: their derivatives come from the
//! problem's exact ones.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use burn::tensor::Device;

use super::{Derivs, Engine, EngineKind, Fields, Net, Request, Setup, assemble, flat, known_exact};
use crate::error::Result;
use crate::numerics::jet::{Jet, JetLayout};
use crate::numerics::mollifier::Deriv2;

#[derive(Debug)]
pub(super) struct Taylor {
    request: Request,
    device: Device,
    /// The network's encoding of the coordinates' jets: constant, as [`super::Points`]' is.
    encoded: OnceLock<Jet<2>>,
}

impl Taylor {
    pub(super) fn new(setup: &Setup<'_>) -> Self {
        Self {
            request: setup.request.clone(),
            device: setup.device.clone(),
            encoded: OnceLock::new(),
        }
    }

    /// The jets of the normalised coordinates, encoded by the network.
    fn encode(&self, net: &Net<'_>) -> Result<Jet<2>> {
        // Only the coefficients the requested derivatives hang on (heat's ∇² skips ∂ₓᵧ).
        let asked = self.request.u.iter().chain(&self.request.p);
        let coords = net.points.coords();
        let layout = JetLayout::covering(
            coords.len(),
            asked.flat_map(|d| d.terms().iter().map(|&(_, ab)| ab)),
        )?;
        let inputs: Vec<Jet<2>> = coords
            .iter()
            .zip(net.normalise)
            .enumerate()
            .map(|(k, (c, (s, o)))| {
                Ok(Jet::coordinate(&layout, c.clone(), k)?.map_linear(|c| c * *s, |c| c + *o))
            })
            .collect::<Result<_>>()?;
        Ok(net.model.encode(&inputs))
    }
}

/// The derivatives `keys` (and the value) of a jet.
fn collect(jet: &Jet<2>, keys: &BTreeSet<Deriv2>, what: &'static str) -> Result<Fields> {
    let mut f = Fields::new(what);
    f.insert(Deriv2::U, flat(jet.value()));
    for &d in keys {
        f.insert(d, assemble(d, |[a, b]| Ok(flat(jet.derivative(a, b)?)))?);
    }
    Ok(f)
}

impl Engine for Taylor {
    fn margin(&self) -> [usize; 2] {
        [0, 0]
    }

    fn derivatives(&self, net: &Net<'_>) -> Result<Derivs> {
        let encoded = match self.encoded.get() {
            Some(e) => e,
            None => {
                let e = self.encode(net)?;
                self.encoded.get_or_init(|| e)
            }
        };
        let out = net.model.forward_encoded(encoded);
        let (std, mean) = net.scale;
        let u = out.map_linear(|c| c.narrow(1, 0, 1) * std, |c| c + mean);
        let p = out.map_linear(|c| c.narrow(1, 1, 1), |c| c + 1.0);
        Ok(Derivs {
            u_data: None,
            u: collect(&u, &self.request.u, "u")?,
            p: collect(&p, &self.request.p, "p")?,
        })
    }

    fn known(
        &self,
        values: &[f64],
        keys: &BTreeSet<Deriv2>,
        exact: &dyn Fn(Deriv2) -> Option<Vec<f64>>,
    ) -> Result<Fields> {
        known_exact(values, keys, exact, EngineKind::Taylor, &self.device)
    }
}
