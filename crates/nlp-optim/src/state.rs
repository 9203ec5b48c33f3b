//! Per-parameter optimizer state: how it is saved, loaded and partially kept (lazy rows).

use burn::optim::{StateSink, StateSource};
use burn::tensor::{Bool, Device, Tensor};
use burn_pack::Scalar;

/// The state an [`UpdateRule`](crate::UpdateRule) keeps for one parameter of rank `D`.
///
/// Every wrapper nests its inner rule's state under `inner`, so a whole chain's state saves
/// and loads as one record (see [`ModelOptimizer::save`](crate::ModelOptimizer::save)).
pub trait ParamState<const D: usize>: Clone + Send + Sync + 'static {
    /// Write every tensor and counter under `prefix` (names are `prefix.field`).
    fn save(&self, prefix: &str, out: &mut StateSink);

    /// Rebuild the state written by [`save`](Self::save); `None` when a leaf is missing.
    fn load(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self>;

    /// Row-wise merge used by [lazy optimisation](crate::Lazy): every tensor takes `old`'s
    /// values where `keep` (same shape as the parameter) is true and `self`'s elsewhere.
    /// Counters are taken from `self`.
    fn keep_rows(self, old: &Self, keep: &Tensor<D, Bool>) -> Self;
}

/// A counter stored in a state record.
pub(crate) fn save_count(out: &mut StateSink, prefix: &str, leaf: &str, value: u64) {
    out.push_scalar(prefix, leaf, Scalar::from(value));
}

/// Read back a counter written by [`save_count`].
pub(crate) fn load_count(src: &mut StateSource, prefix: &str, leaf: &str) -> Option<u64> {
    u64::try_from(src.take_scalar(prefix, leaf)?).ok()
}

/// A tensor stored in a state record, bit for bit.
pub(crate) fn save_tensor<const D: usize>(
    out: &mut StateSink,
    prefix: &str,
    leaf: &str,
    tensor: &Tensor<D>,
) {
    out.push_tensor(prefix, leaf, tensor.to_data());
}

/// Read back a tensor written by [`save_tensor`], checking its rank.
pub(crate) fn load_tensor<const D: usize>(
    src: &mut StateSource,
    prefix: &str,
    leaf: &str,
    device: &Device,
) -> Option<Tensor<D>> {
    let data = src.take_tensor(prefix, leaf)?;
    (data.rank() == D).then(|| Tensor::from_data(data, device))
}

/// `new` where `keep` is false, `old` where it is true.
pub(crate) fn keep_old<const D: usize>(
    new: Tensor<D>,
    old: &Tensor<D>,
    keep: &Tensor<D, Bool>,
) -> Tensor<D> {
    new.mask_where(keep.clone(), old.clone())
}

/// Join a record prefix and a nested field.
pub(crate) fn nested(prefix: &str, leaf: &str) -> String {
    burn::optim::join_path(prefix, leaf)
}

/// Implement [`ParamState`] for a state struct from its fields, named as they are saved: the
/// wrapped rule's state (`nested`, saved under `prefix.inner`), parameter-shaped tensors (each
/// row kept by [`ParamState::keep_rows`]) and counters (taken from the new state). Burn's
/// `RecordState` derive would write the same layout, but it rebuilds a tensor of the wrong rank
/// with a panic where [`load_tensor`] reports the record as incomplete.
macro_rules! param_state {
    (
        [$($generics:tt)*] $state:ty {
            $(nested $inner:ident;)?
            tensors $($tensor:ident),*;
            counts $($count:ident),*;
        }
    ) => {
        impl<$($generics)*> $crate::ParamState<D> for $state {
            fn save(&self, prefix: &str, out: &mut burn::optim::StateSink) {
                $(self.$inner.save(&$crate::state::nested(prefix, stringify!($inner)), out);)?
                $($crate::state::save_tensor(out, prefix, stringify!($tensor), &self.$tensor);)*
                $($crate::state::save_count(out, prefix, stringify!($count), self.$count);)*
            }

            fn load(
                prefix: &str,
                src: &mut burn::optim::StateSource,
                device: &burn::tensor::Device,
            ) -> Option<Self> {
                Some(Self {
                    $($inner: $crate::ParamState::<D>::load(
                        &$crate::state::nested(prefix, stringify!($inner)),
                        src,
                        device,
                    )?,)?
                    $($tensor: $crate::state::load_tensor(src, prefix, stringify!($tensor), device)?,)*
                    $($count: $crate::state::load_count(src, prefix, stringify!($count))?,)*
                })
            }

            fn keep_rows(
                self,
                old: &Self,
                keep: &burn::tensor::Tensor<D, burn::tensor::Bool>,
            ) -> Self {
                Self {
                    $($inner: self.$inner.keep_rows(&old.$inner, keep),)?
                    $($tensor: $crate::state::keep_old(self.$tensor, &old.$tensor, keep),)*
                    $($count: self.$count,)*
                }
            }
        }
    };
}
pub(crate) use param_state;

/// Rules without state (plain weight decay, multipliers...) use `()`.
impl<const D: usize> ParamState<D> for () {
    fn save(&self, _prefix: &str, _out: &mut StateSink) {}

    fn load(_prefix: &str, _src: &mut StateSource, _device: &Device) -> Option<Self> {
        Some(())
    }

    fn keep_rows(self, _old: &Self, _keep: &Tensor<D, Bool>) -> Self {}
}
