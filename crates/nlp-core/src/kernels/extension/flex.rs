//! [`FusedOps`] on the `flex` backend: the host kernels of [`crate::kernels`] on the tensors'
//! storage.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;

use super::FusedOps;
use crate::kernels::Strided;
use crate::kernels::adam::{self, AdamScalars};
use crate::kernels::dense;
use crate::kernels::math::{GeluErf, GeluErfGrad, GeluTanh, GeluTanhGrad};
use crate::kernels::sdpa::{self as kernel, Inputs};
use crate::kernels::simd::{map_in_place, scale_in_place};

/// A flex tensor of rank `R` as a strided view of its storage (no copy).
fn strided<'a, const R: usize>(t: &'a FlexTensor, what: &str) -> Strided<'a, R> {
    let layout = t.layout();
    let (shape, strides) = (layout.shape(), layout.strides());
    assert_eq!(shape.num_dims(), R, "{what} kernel: a {R}-d tensor");
    Strided {
        data: t.storage::<f32>(),
        offset: layout.start_offset(),
        shape: std::array::from_fn(|i| shape[i]),
        strides: std::array::from_fn(|i| strides[i]),
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
    let q = strided(q, "attention");
    Inputs {
        q,
        k: strided(k, "attention"),
        v: strided(v, "attention"),
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

    fn fused_linear(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let bias = packed(bias);
        let (x, w) = (strided(&x, "linear"), strided(&weight, "linear"));
        let shape = [x.shape[0], w.shape[1]];
        let mut out = vec![0.0f32; shape[0] * shape[1]];
        dense::forward(x, w, bias.as_slice::<f32>().expect("packed"), &mut out);
        FlexTensor::from_data(TensorData::new(out, shape))
    }

    fn fused_linear_backward(
        x: FlexTensor,
        weight: FlexTensor,
        d_out: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let d_out = packed(d_out);
        let (x, w) = (strided(&x, "linear"), strided(&weight, "linear"));
        let mut dx = vec![0.0f32; x.shape[0] * x.shape[1]];
        let mut dw = vec![0.0f32; w.shape[0] * w.shape[1]];
        let mut db = vec![0.0f32; w.shape[1]];
        dense::backward(
            x,
            w,
            d_out.as_slice::<f32>().expect("packed"),
            &mut dx,
            &mut dw,
            &mut db,
        );
        (
            FlexTensor::from_data(TensorData::new(dx, x.shape)),
            FlexTensor::from_data(TensorData::new(dw, w.shape)),
            FlexTensor::from_data(TensorData::new(db, [w.shape[1]])),
        )
    }

    fn fused_adam(
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        scalars: AdamScalars,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let grad = packed(grad);
        let shape = grad.layout().shape().clone();
        let g = grad.as_slice::<f32>().expect("packed");
        // The moments are updated in place when nothing else holds them (copy-on-write).
        let (mut m, mut v) = (packed(moment_1), packed(moment_2));
        let mut delta = vec![0.0f32; g.len()];
        adam::step(
            g,
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
            &mut delta,
            scalars,
        );
        let delta = FlexTensor::from_data(TensorData::new(delta, shape));
        (m, v, delta)
    }
}
