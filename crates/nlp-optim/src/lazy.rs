//! Lazy optimisation: rows whose gradient is entirely zero do not move.

use burn::tensor::{Bool, Tensor};

use crate::{NamePatterns, OptimError, ParamInfo, ParamState, Update, UpdateRule};

/// Rows (slices along the first dimension; the whole tensor for a vector) whose gradient is
/// entirely zero keep their values *and* their optimizer state bit for bit, so only the
/// embeddings of tokens present in the batch move, as in bert4keras'
/// `extend_with_lazy_optimization`. Without it, Adam keeps moving every embedding row with
/// its stale momentum.
///
/// Applies to every parameter unless [`only`](Self::only) restricts it by name.
/// Built with [`RuleExt::lazy`](crate::RuleExt::lazy).
#[derive(Clone, Debug)]
pub struct Lazy<R> {
    inner: R,
    include: NamePatterns,
}

impl<R> Lazy<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            include: NamePatterns::default(),
        }
    }

    /// Only parameters whose path matches one of these regular expressions (e.g.
    /// `&["embedding"]`) are updated lazily; the others are updated densely.
    pub fn only<S: AsRef<str>>(mut self, patterns: &[S]) -> Self {
        self.include = NamePatterns::new(patterns);
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

impl<R: UpdateRule> UpdateRule for Lazy<R> {
    type State<const D: usize> = R::State<D>;

    fn step<const D: usize>(
        &self,
        param: ParamInfo<'_>,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Update<D>, Self::State<D>) {
        let applies = D > 0 && (self.include.is_empty() || self.include.matches(param.path));
        if !applies {
            return self.inner.step(param, lr, tensor, grad, state);
        }
        let keep = zero_rows(&grad);
        let old = state.clone();
        let (update, state) = self.inner.step(param, lr, tensor.clone(), grad, state);
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

    fn validate(&self) -> Result<(), OptimError> {
        self.include.validate()?;
        self.inner.validate()
    }

    fn describe(&self) -> String {
        format!("lazy({})", self.inner.describe())
    }

    fn averaged_weights<const D: usize>(&self, state: &Self::State<D>) -> Option<Tensor<D>> {
        self.inner.averaged_weights(state)
    }

    fn keeps_average(&self) -> bool {
        self.inner.keeps_average()
    }
}
