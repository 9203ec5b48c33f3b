//! Any Burn optimizer as a base rule for the wrappers of this crate.

use std::collections::HashMap;

use burn::optim::{Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Bool, Device, Tensor};

use crate::{OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// Wraps a Burn [`Optimizer`] (e.g. `burn::optim::AdamWConfig::new().build()`, Lion, Adafactor)
/// so that the wrappers of this crate compose over it.
///
/// Burn optimizers return the new weights rather than the step, so wrappers that need the
/// step (layer adaptation) recover it as θ − θ'. Their states are merged row by row for
/// [lazy](crate::Lazy) updates through Burn's record format, which copies them to the host:
/// prefer the crate's own rules for large lazily-updated embeddings.
#[derive(Clone)]
pub struct BurnOptimizer<O> {
    optimizer: O,
    name: String,
}

impl<O: Optimizer> BurnOptimizer<O> {
    /// Wrap `optimizer`; `name` appears in [`UpdateRule::describe`] and in saved records.
    pub fn new(optimizer: O, name: impl Into<String>) -> Self {
        Self {
            optimizer,
            name: name.into(),
        }
    }
}

/// The state of a wrapped Burn optimizer (`None` until it first reports one).
#[derive(Clone)]
pub struct BurnState<S>(pub Option<S>);

impl<const D: usize, S: RecordState + Clone> ParamState<D> for BurnState<S> {
    fn save(&self, prefix: &str, out: &mut StateSink) {
        if let Some(state) = &self.0 {
            state.state_flatten(prefix, out);
        }
    }

    fn load(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let recorded = src.has_under(prefix);
        match S::state_unflatten(prefix, src, device) {
            Some(state) => Some(Self(Some(state))),
            // Nothing was recorded: the optimizer had no state yet.
            None if !recorded => Some(Self(None)),
            None => None,
        }
    }

    fn keep_rows(self, old: &Self, keep: &Tensor<D, Bool>) -> Self {
        let (Some(new), Some(old)) = (&self.0, &old.0) else {
            return self;
        };
        let device = keep.device();
        let (mut new_sink, mut old_sink) = (StateSink::default(), StateSink::default());
        new.state_flatten("s", &mut new_sink);
        old.state_flatten("s", &mut old_sink);
        let old_tensors: HashMap<_, _> = old_sink.tensors.into_iter().collect();
        let mut merged = StateSource::new(new_sink.scalars.into_iter().collect());
        for (name, data) in new_sink.tensors {
            let data = match old_tensors.get(&name) {
                Some(old) if data.rank() == D && old.shape() == data.shape() => {
                    let new_t = Tensor::<D>::from_data(data, &device);
                    let old_t = Tensor::<D>::from_data(old.clone(), &device);
                    new_t.mask_where(keep.clone(), old_t).into_data()
                }
                _ => data,
            };
            merged.insert_tensor(name, data);
        }
        match S::state_unflatten("s", &mut merged, &device) {
            Some(state) => Self(Some(state)),
            None => self,
        }
    }
}

impl<O: Optimizer> UpdateRule for BurnOptimizer<O> {
    type State<const D: usize> = BurnState<O::State<D>>;

    fn step<const D: usize>(
        &self,
        _param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let (value, state) = self
            .optimizer
            .step(lr, tensor, grad, state.and_then(|s| s.0));
        (Update::Value(value), BurnState(state))
    }

    fn validate(&self) -> Result<(), OptimError> {
        Ok(())
    }

    fn describe(&self) -> String {
        format!("burn::{}", self.name)
    }

    fn averaged_weights<const D: usize>(&self, _state: &Self::State<D>) -> Option<Tensor<D>> {
        None
    }
}
