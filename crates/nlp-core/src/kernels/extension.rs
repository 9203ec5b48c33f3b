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
use burn::backend::tensor::{BoolTensor, FloatTensor};
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::{Bool, Tensor, TensorData};

use super::GeluForm;
use super::attention::{self as kernel, Inputs, View};
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

/// A strided `[batch, heads, len, dim]` view of a flex tensor.
fn view(t: &FlexTensor) -> View<'_> {
    let layout = t.layout();
    let (shape, strides) = (layout.shape(), layout.strides());
    assert_eq!(shape.num_dims(), 4, "attention kernel: a 4-d tensor");
    View {
        data: t.storage::<f32>(),
        offset: layout.start_offset(),
        shape: [shape[0], shape[1], shape[2], shape[3]],
        strides: [strides[0], strides[1], strides[2], strides[3]],
    }
}

/// A mask's values in row-major order.
fn mask_values(mask: FlexTensor) -> Vec<bool> {
    mask.into_data()
        .try_into_vec::<bool>()
        .expect("attention kernel: a bool mask")
}

/// Runs the forward kernel; returns `(out, lse)`.
fn flex_attention(
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    mask: FlexTensor,
) -> (FlexTensor, FlexTensor) {
    let mask = mask_values(mask);
    let inputs = flex_inputs(&q, &k, &v, &mask);
    let [b, h, lq, _] = inputs.q.shape;
    let dv = inputs.v.shape[3];
    let mut out = vec![0.0f32; b * h * lq * dv];
    let mut lse = vec![0.0f32; b * h * lq];
    kernel::forward(&inputs, &mut out, &mut lse);
    (
        FlexTensor::from_data(TensorData::new(out, [b, h, lq, dv])),
        FlexTensor::from_data(TensorData::new(lse, [b, h, lq])),
    )
}

fn flex_inputs<'a>(
    q: &'a FlexTensor,
    k: &'a FlexTensor,
    v: &'a FlexTensor,
    mask: &'a [bool],
) -> Inputs<'a> {
    let q = view(q);
    Inputs {
        q,
        k: view(k),
        v: view(v),
        mask: Some(mask),
        scale: 1.0 / (q.shape[3] as f32).sqrt(),
    }
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

    fn fused_attention(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        mask: FlexTensor,
    ) -> FlexTensor {
        flex_attention(q, k, v, mask).0
    }

    fn fused_attention_with_lse(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        mask: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        flex_attention(q, k, v, mask)
    }

    fn fused_attention_backward(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        mask: FlexTensor,
        out: FlexTensor,
        lse: FlexTensor,
        d_out: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let mask = mask_values(mask);
        let inputs = flex_inputs(&q, &k, &v, &mask);
        let (q_shape, k_shape, v_shape) = (inputs.q.shape, inputs.k.shape, inputs.v.shape);
        let (out, lse, d_out) = (packed(out), packed(lse), packed(d_out));
        let mut dq = vec![0.0f32; q_shape.iter().product()];
        let mut dk = vec![0.0f32; k_shape.iter().product()];
        let mut dv = vec![0.0f32; v_shape.iter().product()];
        kernel::backward(
            &inputs,
            out.as_slice::<f32>().expect("packed"),
            lse.as_slice::<f32>().expect("packed"),
            d_out.as_slice::<f32>().expect("packed"),
            kernel::Grads {
                q: &mut dq,
                k: &mut dk,
                v: &mut dv,
            },
        );
        (
            FlexTensor::from_data(TensorData::new(dq, q_shape)),
            FlexTensor::from_data(TensorData::new(dk, k_shape)),
            FlexTensor::from_data(TensorData::new(dv, v_shape)),
        )
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
        let out = B::fused_gelu_backward(inner::<B, C>(x), inner::<B, C>(grad), tanh);
        Self::from_inner(out)
    }

    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct FusedAttention;

        type State<B> = (
            FloatTensor<B>,
            FloatTensor<B>,
            FloatTensor<B>,
            BoolTensor<B>,
            FloatTensor<B>,
            FloatTensor<B>,
        );

        impl<B: Backend + FusedOps> Backward<B, 3> for FusedAttention {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_q, node_k, node_v] = ops.parents;
                let d_out = grads.consume::<B>(&ops.node);
                let (q, k, v, mask, out, lse) = ops.state;
                let (dq, dk, dv) = B::fused_attention_backward(q, k, v, mask, out, lse, d_out);
                for (node, grad) in [(node_q, dq), (node_k, dk), (node_v, dv)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, grad);
                    }
                }
            }
        }

        let nodes = [q.node(), k.node(), v.node()];
        let (q, k, v) = (q.into_primitive(), k.into_primitive(), v.into_primitive());
        match FusedAttention
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, lse) =
                    B::fused_attention_with_lse(q.clone(), k.clone(), v.clone(), mask.clone());
                prep.finish((q, k, v, mask, out.clone(), lse), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_attention(q, k, v, mask)),
        }
    }

    /// Not tracked (only the backward pass of [`FusedOps::fused_attention`] calls it).
    fn fused_attention_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (out, lse) =
            B::fused_attention_with_lse(inner::<B, C>(q), inner::<B, C>(k), inner::<B, C>(v), mask);
        (Self::from_inner(out), Self::from_inner(lse))
    }

    /// Not tracked: the fused attention has no second derivative.
    fn fused_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        d_out: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dq, dk, dv) = B::fused_attention_backward(
            inner::<B, C>(q),
            inner::<B, C>(k),
            inner::<B, C>(v),
            mask,
            inner::<B, C>(out),
            inner::<B, C>(lse),
            inner::<B, C>(d_out),
        );
        (
            Self::from_inner(dq),
            Self::from_inner(dk),
            Self::from_inner(dv),
        )
    }
}

/// The inner backend's tensor of an autodiff tensor.
fn inner<B: Backend, C: CheckpointStrategy>(t: FloatTensor<Autodiff<B, C>>) -> FloatTensor<B> {
    <Autodiff<B, C> as AutodiffBackend>::inner(t)
}
