//! Lazy optimisation: rows whose gradient is entirely zero do not move.

use burn::tensor::{Bool, Tensor};

use crate::{
    Extended, Extension, NamePatterns, OptimError, ParamInfo, ParamState, Update, UpdateRule,
};

/// Rows (slices along the first dimension; the whole tensor for a vector) whose gradient is
/// entirely zero keep their values *and* their optimizer state bit for bit, so only the
/// embeddings of tokens present in the batch move, as in bert4keras'
/// `extend_with_lazy_optimization`. Without it, Adam keeps moving every embedding row with
/// its stale momentum.
///
/// Applies to every parameter unless `only` restricts it by name.
/// Built with [`RuleExt::lazy`](crate::RuleExt::lazy).
#[derive(Clone, Debug, Default)]
pub struct Lazy {
    include: NamePatterns,
}

impl<R> Extended<R, Lazy> {
    /// Only parameters whose path matches one of these regular expressions (e.g.
    /// `&["embedding"]`) are updated lazily; the others are updated densely.
    pub fn only<S: AsRef<str>>(mut self, patterns: &[S]) -> Self {
        self.extension.include = NamePatterns::new(patterns);
        self
    }
}

/// True on the rows of `grad` that are entirely zero, broadcast to the full shape.
fn zero_rows<const D: usize>(grad: &Tensor<D>) -> Tensor<D, Bool> {
    let mut sums = grad.clone().abs();
    let first_summed = if D == 1 { 0 } else { 1 };
    for dim in first_summed..D {
        sums = sums.sum_dim(dim);
    }
    sums.equal_elem(0.0).expand(grad.shape())
}

impl Extension for Lazy {
    const NAME: &'static str = "lazy";
    type State<S: ParamState<D>, const D: usize> = S;

    fn settings(&self) -> Option<String> {
        None
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.include.validate()
    }

    fn inner_state<S: ParamState<D>, const D: usize>(state: &S) -> Option<&S> {
        Some(state)
    }

    fn step<R: UpdateRule, const D: usize>(
        &self,
        inner: &R,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<R::State<D>>,
    ) -> (Update<D>, R::State<D>) {
        let applies = D > 0 && (self.include.is_empty() || self.include.matches(param.path));
        if !applies {
            return inner.step(param, lr, tensor, grad, state);
        }
        let keep = zero_rows(&grad);
        let old = state.clone();
        let (update, state) = inner.step(param, lr, tensor.clone(), grad, state);
        let update = match update {
            Update::Delta(delta) => Update::Delta(delta.mask_fill(keep.clone(), 0.0)),
            Update::Value(value) => Update::Value(value.mask_where(keep.clone(), tensor)),
            Update::Unchanged => Update::Unchanged,
        };
        let state = match old {
            Some(old) => state.keep_rows(&old, &keep),
            None => state,
        };
        (update, state)
    }
}
