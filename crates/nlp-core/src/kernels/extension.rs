//! The backend extension: [`FusedOps`], its `Flex` kernels and its `Autodiff` backward passes.
//!
//! `#[backend_extension]` generates the runtime dispatch from a `Dispatch` tensor to the
//! implementation of the backend it lives on. Only `Flex` and `Autodiff<Flex>` are listed: the
//! public functions of [`super`] call into here only for those devices.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use super::GeluForm;
use super::math::{GeluErf, GeluErfGrad, GeluTanh, GeluTanhGrad};
use super::simd::{map_in_place, scale_in_place};

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
}

/// GELU through the extension (the caller checked the device and dtype).
pub(super) fn gelu<const D: usize>(x: Tensor<D>, form: GeluForm) -> Tensor<D> {
    let out = <Dispatch as FusedOps>::fused_gelu(x.into_dispatch(), form == GeluForm::Tanh);
    Tensor::from_dispatch(out)
}

/// `t` as a tensor that owns exactly its elements in row-major order (a copy when `t` is a
/// strided view or shares a larger buffer).
fn packed(t: FlexTensor) -> FlexTensor {
    let whole = t.bytes().len() / size_of::<f32>();
    if t.layout().contiguous_offsets() == Some((0, whole)) {
        t
    } else {
        t.to_contiguous()
    }
}

impl FusedOps for Flex {
    fn fused_gelu(x: FlexTensor, tanh: bool) -> FlexTensor {
        // Writes in place when `x` is not shared (copy-on-write otherwise).
        let mut out = packed(x);
        let data = out.storage_mut::<f32>();
        if tanh {
            map_in_place::<GeluTanh>(data);
        } else {
            map_in_place::<GeluErf>(data);
        }
        out
    }

    fn fused_gelu_backward(x: FlexTensor, grad: FlexTensor, tanh: bool) -> FlexTensor {
        let x = packed(x);
        let x = x.as_slice::<f32>().expect("a packed f32 tensor");
        let mut out = packed(grad);
        let data = out.storage_mut::<f32>();
        if tanh {
            scale_in_place::<GeluTanhGrad>(data, x);
        } else {
            scale_in_place::<GeluErfGrad>(data, x);
        }
        out
    }
}

impl<B: Backend + FusedOps, C: CheckpointStrategy> FusedOps for Autodiff<B, C> {
    fn fused_gelu(x: FloatTensor<Self>, tanh: bool) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct FusedGelu;

        impl<B: Backend + FusedOps> Backward<B, 1> for FusedGelu {
            type State = (FloatTensor<B>, bool);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (x, tanh) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::fused_gelu_backward(x, grad, tanh)
                });
            }
        }

        let node = x.node();
        let x = x.into_primitive();
        match FusedGelu.prepare::<C>([node]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fused_gelu(x.clone(), tanh);
                prep.finish((x, tanh), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_gelu(x, tanh)),
        }
    }

    /// Computed on the inner backend and not tracked: the fused GELU has no second derivative.
    fn fused_gelu_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        tanh: bool,
    ) -> FloatTensor<Self> {
        let out = B::fused_gelu_backward(x.into_primitive(), grad.into_primitive(), tanh);
        <Self as AutodiffBackend>::from_inner(out)
    }
}
