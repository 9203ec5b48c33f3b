use burn::tensor::{Int, Tensor, TensorData};
use nlp_core::attention::{AttentionInput, KvCache, MultiHeadAttentionConfig};
use nlp_core::mask;

use crate::{assert_close, bools, device, float_tensor, floats, pseudo_random};

/// `x·W + b` for row-major `x: [n, d_in]`, `w: [d_in, d_out]` (Burn's Linear layout).
fn linear(x: &[f64], n: usize, w: &[f32], b: &[f32], d_in: usize, d_out: usize) -> Vec<f64> {
    let mut y = vec![0.0; n * d_out];
    for r in 0..n {
        for o in 0..d_out {
            y[r * d_out + o] = b[o] as f64
                + (0..d_in)
                    .map(|i| x[r * d_in + i] * w[i * d_out + o] as f64)
                    .sum::<f64>();
        }
    }
    y
}

/// Naive multi-head attention for one batch item: softmax over visible keys of
/// QKᵀ/√d + bias, times V, then the output projection. Rows with no visible key give a zero context.
#[allow(clippy::too_many_arguments)]
fn naive(
    xq: &[f64],
    xk: &[f64],
    lq: usize,
    lk: usize,
    d: usize,
    heads: usize,
    params: &[Vec<f32>; 8],
    visible: &dyn Fn(usize, usize) -> bool,
    bias: &dyn Fn(usize, usize, usize) -> f64,
) -> Vec<f64> {
    let [wq, bq, wk, bk, wv, bv, wo, bo] = params;
    let q = linear(xq, lq, wq, bq, d, d);
    let k = linear(xk, lk, wk, bk, d, d);
    let v = linear(xk, lk, wv, bv, d, d);
    let hd = d / heads;
    let mut ctx = vec![0.0; lq * d];
    for h in 0..heads {
        for i in 0..lq {
            let scores: Vec<Option<f64>> = (0..lk)
                .map(|j| {
                    visible(i, j).then(|| {
                        (0..hd)
                            .map(|e| q[i * d + h * hd + e] * k[j * d + h * hd + e])
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                            + bias(h, i, j)
                    })
                })
                .collect();
            let max = scores
                .iter()
                .flatten()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = scores.iter().flatten().map(|s| (s - max).exp()).sum();
            for (j, s) in scores.iter().enumerate() {
                if let Some(s) = s {
                    let p = (s - max).exp() / z;
                    for e in 0..hd {
                        ctx[i * d + h * hd + e] += p * v[j * d + h * hd + e];
                    }
                }
            }
        }
    }
    let wo32: Vec<f32> = wo.clone();
    linear(&ctx, lq, &wo32, bo, d, d)
}

fn params(mha: &nlp_core::attention::MultiHeadAttention) -> [Vec<f32>; 8] {
    let w = |l: &burn::nn::Linear| floats(l.weight.val());
    let b = |l: &burn::nn::Linear| floats(l.bias.as_ref().unwrap().val());
    [
        w(&mha.query),
        b(&mha.query),
        w(&mha.key),
        b(&mha.key),
        w(&mha.value),
        b(&mha.value),
        w(&mha.output),
        b(&mha.output),
    ]
}

#[test]
fn attention_equals_naive_with_mask_and_bias() {
    let dev = device();
    let (batch, len, d, heads) = (2, 5, 8, 2);
    let mha = MultiHeadAttentionConfig::new(d, heads)
        .with_initializer(burn::nn::Initializer::Uniform {
            min: -0.5,
            max: 0.5,
        })
        .init(&dev);
    // Non-zero biases so that they are checked too.
    let x_vals = pseudo_random(batch * len * d, 1);
    let x = float_tensor(x_vals.clone(), [batch, len, d], &dev);
    let bias_vals = pseudo_random(batch * heads * len * len, 2);
    let bias = float_tensor(bias_vals.clone(), [batch, heads, len, len], &dev);
    // Item 0: causal; item 1: UniLM-like with the last key padded, and its row 0 fully masked
    // by AND-ing a mask that hides everything from query 0.
    let causal = mask::causal(batch, len, &dev);
    let pad = mask::key_padding(mask::padding_from_lengths(&[5, 4], len, &dev), len);
    let mut m = bools(mask::and(causal, pad));
    for j in 0..len {
        m[len * len + j] = false; // item 1, query 0 sees nothing
    }
    let mask_t = burn::tensor::Tensor::<3, burn::tensor::Bool>::from_data(
        burn::tensor::TensorData::new(m.clone(), [batch, len, len]),
        &dev,
    );
    // Without probabilities asked for, the layer takes Burn's fused kernel: both paths are
    // checked against the same naive reference.
    let fused = floats(
        mha.forward(
            AttentionInput::self_attn(x.clone())
                .mask(mask_t.clone())
                .bias(bias.clone()),
        )
        .context,
    );
    let out = mha.forward(
        AttentionInput::self_attn(x)
            .mask(mask_t)
            .bias(bias)
            .return_probs(),
    );
    let ctx = floats(out.context);
    assert!(
        fused.iter().all(|v| v.is_finite()),
        "fused context has NaN/inf"
    );
    let probs = floats(out.probs.unwrap());
    assert!(ctx.iter().all(|v| v.is_finite()), "context has NaN/inf");
    let p = params(&mha);
    for b in 0..batch {
        let xb: Vec<f64> = x_vals[b * len * d..(b + 1) * len * d]
            .iter()
            .map(|&v| v as f64)
            .collect();
        let visible = |i: usize, j: usize| m[b * len * len + i * len + j];
        let bias_fn =
            |h: usize, i: usize, j: usize| bias_vals[((b * heads + h) * len + i) * len + j] as f64;
        let expected = naive(&xb, &xb, len, len, d, heads, &p, &visible, &bias_fn);
        assert_close(
            &ctx[b * len * d..(b + 1) * len * d],
            &expected,
            1e-5,
            &format!("context of item {b}"),
        );
        assert_close(
            &fused[b * len * d..(b + 1) * len * d],
            &expected,
            1e-5,
            &format!("fused context of item {b}"),
        );
        for h in 0..heads {
            for i in 0..len {
                for j in 0..len {
                    let pr = probs[((b * heads + h) * len + i) * len + j];
                    if !visible(i, j) {
                        assert_eq!(pr, 0.0, "masked key {j} of query {i} got probability {pr}");
                    }
                }
            }
        }
    }
    // The fully masked query attends to nothing: its context is zero, the output is the bias.
    let bo = &p[7];
    let bo: Vec<f64> = bo.iter().map(|&v| v as f64).collect();
    assert_close(&ctx[len * d..len * d + d], &bo, 1e-6, "fully masked row");
    assert_close(
        &fused[len * d..len * d + d],
        &bo,
        1e-6,
        "fully masked row, fused",
    );
}

#[test]
fn cross_attention_with_different_lengths() {
    let dev = device();
    let (lq, lk, d, heads) = (3, 6, 4, 1);
    let mha = MultiHeadAttentionConfig::new(d, heads)
        .with_initializer(burn::nn::Initializer::Uniform {
            min: -0.5,
            max: 0.5,
        })
        .init(&dev);
    let q_vals = pseudo_random(lq * d, 3);
    let k_vals = pseudo_random(lk * d, 4);
    let out = mha.forward(AttentionInput::new(
        float_tensor(q_vals.clone(), [1, lq, d], &dev),
        float_tensor(k_vals.clone(), [1, lk, d], &dev),
        float_tensor(k_vals.clone(), [1, lk, d], &dev),
    ));
    let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let expected = naive(
        &to64(&q_vals),
        &to64(&k_vals),
        lq,
        lk,
        d,
        heads,
        &params(&mha),
        &|_, _| true,
        &|_, _, _| 0.0,
    );
    assert_close(&floats(out.context), &expected, 1e-5, "cross attention");
}

fn incremental_matches_full(rotary: bool) {
    let dev = device();
    // 40 steps: past the cache's first buffer (1 + 32 positions), so it grows once.
    let (batch, len, d, heads) = (2, 40, 8, 2);
    let mha = MultiHeadAttentionConfig::new(d, heads)
        .with_rotary(rotary)
        .init(&dev);
    let x = float_tensor(pseudo_random(batch * len * d, 5), [batch, len, d], &dev);
    let full = floats(
        mha.forward(AttentionInput::self_attn(x.clone()).mask(mask::causal(batch, len, &dev)))
            .context,
    );
    let mut cache = KvCache::new();
    let mut steps = Vec::new();
    for t in 0..len {
        let xt = x.clone().slice_dim(1, t..t + 1);
        let m = mask::causal_with_offset(batch, 1, t + 1, &dev);
        steps.push(
            mha.forward_cached(AttentionInput::self_attn(xt).mask(m), &mut cache)
                .context,
        );
    }
    assert_eq!(cache.len(), len);
    let incremental = floats(Tensor::cat(steps, 1));
    let expected: Vec<f64> = full.iter().map(|&v| v as f64).collect();
    assert_close(&incremental, &expected, 1e-5, "incremental vs full");
}

#[test]
fn kv_cache_incremental_equals_full_pass() {
    incremental_matches_full(false);
}

#[test]
fn kv_cache_incremental_equals_full_pass_with_rope() {
    incremental_matches_full(true);
}

/// Beam search reorders the cache's rows and may keep a copy: a reordered cache continues as
/// the reordered full pass does, and writing to a clone leaves the original as it was.
#[test]
fn kv_cache_reorders_rows_and_clones_stay_independent() {
    let dev = device();
    let (batch, len, d, heads) = (2, 8, 8, 2);
    let mha = MultiHeadAttentionConfig::new(d, heads).init(&dev);
    let x = float_tensor(pseudo_random(batch * len * d, 9), [batch, len, d], &dev);
    let step = |cache: &mut KvCache, x: &Tensor<3>, t: usize| {
        let m = mask::causal_with_offset(batch, 1, t + 1, &dev);
        let xt = x.clone().slice_dim(1, t..t + 1);
        floats(
            mha.forward_cached(AttentionInput::self_attn(xt).mask(m), cache)
                .context,
        )
    };
    // Rows swapped after 3 positions: the full pass over x with its rows swapped.
    let swap = || Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &dev);
    let swapped = x.clone().select(0, swap());
    let full = floats(
        mha.forward(
            AttentionInput::self_attn(swapped.clone()).mask(mask::causal(batch, len, &dev)),
        )
        .context,
    );
    let mut cache = KvCache::new();
    for t in 0..3 {
        step(&mut cache, &x, t);
    }
    cache.select_batch(swap());
    // The clone gets other tokens at the same positions, each right after the original's:
    // were the buffers shared, the original would read the clone's keys at its next step.
    let mut copy = cache.clone();
    let mut last = Vec::new();
    for t in 3..len {
        last = step(&mut cache, &swapped, t);
        if t < 6 {
            step(&mut copy, &x, t);
        }
    }
    assert_eq!(copy.len(), 6);
    assert_eq!(cache.len(), len);
    // The last position of each row of the full pass.
    let expected: Vec<f64> = (0..batch)
        .flat_map(|b| full[(b * len + len - 1) * d..(b * len + len) * d].to_vec())
        .map(|v| v as f64)
        .collect();
    assert_close(&last, &expected, 1e-5, "reordered cache vs full pass");
}
