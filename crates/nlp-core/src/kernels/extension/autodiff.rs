//! [`FusedOps`] under autodiff: each forward runs on the inner backend and records a
//! hand-written backward pass that calls the inner backend's backward kernel.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::tensor::{BoolTensor, FloatTensor};
use burn::backend::{Autodiff, AutodiffBackend, Backend};

use super::FusedOps;
use crate::kernels::adam::AdamScalars;

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
                let parents = ops.parents.map(|node| node.map(|node| node.id));
                let d_out = grads.consume::<B>(&ops.node);
                let (q, k, v, mask, out, lse) = ops.state;
                let (dq, dk, dv) = B::fused_attention_backward(q, k, v, mask, out, lse, d_out);
                register::<B, 3>(grads, parents, [dq, dk, dv]);
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

    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct FusedLinear;

        impl<B: Backend + FusedOps> Backward<B, 3> for FusedLinear {
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|node| node.map(|node| node.id));
                let d_out = grads.consume::<B>(&ops.node);
                let (x, w) = ops.state;
                let (dx, dw, db) = B::fused_linear_backward(x, w, d_out);
                register::<B, 3>(grads, parents, [dx, dw, db]);
            }
        }

        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, w, b) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        match FusedLinear.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fused_linear(x.clone(), w.clone(), b);
                prep.finish((x, w), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_linear(x, w, b)),
        }
    }

    /// Not tracked: the fused dense layer has no second derivative.
    fn fused_linear_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        d_out: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (dx, dw, db) = B::fused_linear_backward(
            inner::<B, C>(x),
            inner::<B, C>(weight),
            inner::<B, C>(d_out),
        );
        (
            Self::from_inner(dx),
            Self::from_inner(dw),
            Self::from_inner(db),
        )
    }

    /// Not tracked: an optimizer step works on gradients and state, outside the graph.
    fn fused_adam(
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        scalars: AdamScalars,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (m, v, delta) = B::fused_adam(
            inner::<B, C>(grad),
            inner::<B, C>(moment_1),
            inner::<B, C>(moment_2),
            scalars,
        );
        (
            Self::from_inner(m),
            Self::from_inner(v),
            Self::from_inner(delta),
        )
    }
}

/// Registers each gradient for the parent it belongs to, skipping parents that are not tracked.
fn register<B: Backend, const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    values: [FloatTensor<B>; N],
) {
    for (id, grad) in parents.into_iter().zip(values) {
        if let Some(id) = id {
            grads.register::<B>(id, grad);
        }
    }
}

/// The inner backend's tensor of an autodiff tensor.
fn inner<B: Backend, C: CheckpointStrategy>(t: FloatTensor<Autodiff<B, C>>) -> FloatTensor<B> {
    <Autodiff<B, C> as AutodiffBackend>::inner(t)
}
