//! The backend extension: [`FusedOps`], its `Flex` kernels ([`flex`]) and its `Autodiff`
//! backward passes ([`autodiff`]).
//!
//! `#[backend_extension]` generates the runtime dispatch from a `Dispatch` tensor to the
//! implementation of the backend it lives on. Only `Flex` and `Autodiff<Flex>` are listed: the
//! public functions of [`super`] call into here only for those devices.

mod autodiff;
mod flex;

use burn::backend::tensor::{BoolTensor, FloatTensor};
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::{Bool, Tensor, TensorData};

use super::GeluForm;
use super::adam::AdamScalars;

/// Custom operations with a fused CPU kernel.
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// GELU of `x`: the erf form, or the tanh form when `tanh`.
    fn fused_gelu(x: FloatTensor<Self>, tanh: bool) -> FloatTensor<Self>;

    /// `grad · GELU'(x)`, the backward pass of [`FusedOps::fused_gelu`].
    fn fused_gelu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        tanh: bool,
    ) -> FloatTensor<Self>;

    /// `softmax(Q·Kᵀ/√d, mask)·V`; `mask: [b, lq, lk]`, `true` = visible.
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
    ) -> FloatTensor<Self>;

    /// [`FusedOps::fused_attention`] and the log-sum-exp of each score row `[b, h, lq]`
    /// (−∞ for a row with no visible key), which its backward pass needs.
    fn fused_attention_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Gradients with respect to `q`, `k` and `v`, given the forward's output, log-sum-exp and
    /// the output's gradient.
    #[allow(clippy::too_many_arguments)]
    fn fused_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        d_out: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// `x·weight + bias`: `x: [n, d_in]`, `weight: [d_in, d_out]`, `bias: [d_out]`.
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Gradients of [`FusedOps::fused_linear`] with respect to `x`, `weight` and `bias`.
    fn fused_linear_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        d_out: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// One Adam step (see [`super::adam`]): the new first and second moments and the step,
    /// from the gradient and the old moments (all of one shape). Not differentiable.
    fn fused_adam(
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// GELU through the extension (the caller checked the device and dtype).
pub(super) fn gelu<const D: usize>(x: Tensor<D>, form: GeluForm) -> Tensor<D> {
    let out = <Dispatch as FusedOps>::fused_gelu(x.into_dispatch(), form == GeluForm::Tanh);
    Tensor::from_dispatch(out)
}

/// Attention through the extension (the caller checked the device and dtype).
pub(super) fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<3, Bool>>,
) -> Tensor<4> {
    let [b, _, lq, _] = q.dims();
    let lk = k.dims()[2];
    let mask = mask.unwrap_or_else(|| {
        Tensor::from_data(
            TensorData::new(vec![true; b * lq * lk], [b, lq, lk]),
            &q.device(),
        )
    });
    let out = <Dispatch as FusedOps>::fused_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        mask.into_dispatch(),
    );
    Tensor::from_dispatch(out)
}

/// The dense layer through the extension (the caller checked the device and dtype): `x` is
/// flattened to `[rows, d_in]` and the result shaped back.
pub(super) fn linear<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Tensor<D> {
    let mut dims = x.dims();
    let d_in = dims[D - 1];
    let rows = dims[..D - 1].iter().product::<usize>();
    let d_out = weight.dims()[1];
    let bias = bias.unwrap_or_else(|| Tensor::zeros([d_out], &x.device()));
    let out = <Dispatch as FusedOps>::fused_linear(
        x.reshape([rows, d_in]).into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    );
    dims[D - 1] = d_out;
    Tensor::<2>::from_dispatch(out).reshape(dims)
}

/// One Adam step through the extension (the caller checked the device and dtype).
pub(super) fn adam<const D: usize>(
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
    scalars: AdamScalars,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let (m, v, delta) = <Dispatch as FusedOps>::fused_adam(
        grad.into_dispatch(),
        moment_1.into_dispatch(),
        moment_2.into_dispatch(),
        scalars,
    );
    (
        Tensor::from_dispatch(m),
        Tensor::from_dispatch(v),
        Tensor::from_dispatch(delta),
    )
}
