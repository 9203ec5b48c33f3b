//! The VQ-VAE vector quantiser against PyTorch autograd (`scripts/fixtures/make_vqvae_fixtures.py`)
//! and against brute force.

use std::path::PathBuf;

use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::vqvae::{EmaStatistics, VectorQuantizer, VectorQuantizerConfig};
use serde_json::Value;

fn fixture() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vqvae/quantizer.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn values(f: &Value, key: &str) -> Vec<f32> {
    f[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn size(f: &Value, key: &str) -> usize {
    f[key].as_u64().unwrap() as usize
}

fn matrix(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol, "{what}[{i}]: {a} vs {e}");
    }
}

/// The fixture's quantiser: its codebook, and moving-average statistics when `ema`.
fn quantizer(f: &Value, ema: bool, device: &Device) -> VectorQuantizer {
    let (k, d) = (size(f, "k"), size(f, "d"));
    let codebook = matrix(values(f, "codebook"), k, d, device);
    let ema = ema.then(|| EmaStatistics {
        cluster_size: Param::from_tensor(Tensor::zeros([k], device)).set_require_grad(false),
        embed_sum: Param::from_tensor(codebook.clone()).set_require_grad(false),
        decay: f["decay"].as_f64().unwrap(),
        epsilon: f["epsilon"].as_f64().unwrap(),
    });
    VectorQuantizer {
        codebook: Param::from_tensor(codebook),
        ema,
        beta: f["beta"].as_f64().unwrap(),
        gamma: f["gamma"].as_f64().unwrap(),
    }
}

fn codes(t: Tensor<1, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
}

#[test]
fn forward_matches_pytorch() {
    let f = fixture();
    let device = Device::flex();
    let vq = quantizer(&f, false, &device);
    let z = matrix(values(&f, "z"), size(&f, "n"), size(&f, "d"), &device);
    let out = vq.forward(z);
    let expected: Vec<i64> = f["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_i64().unwrap())
        .collect();
    assert_eq!(codes(out.codes.clone()), expected);
    assert_close(
        &floats(out.quantized.clone()),
        &values(&f, "quantized"),
        1e-6,
        "quantized",
    );
    let scalar = |key: &str| f[key].as_f64().unwrap() as f32;
    assert_close(
        &floats(out.codebook_loss),
        &[scalar("codebook_loss")],
        1e-6,
        "codebook loss",
    );
    assert_close(
        &floats(out.commitment_loss),
        &[scalar("commitment_loss")],
        1e-6,
        "commitment loss",
    );
    assert_close(
        &floats(out.perplexity),
        &[scalar("perplexity")],
        1e-5,
        "perplexity",
    );
}

#[test]
fn gradients_match_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let (n, d) = (size(&f, "n"), size(&f, "d"));
    let vq = quantizer(&f, false, &device);
    let z = matrix(values(&f, "z"), n, d, &device).require_grad();
    let upstream = matrix(values(&f, "upstream"), n, d, &device);
    let out = vq.forward(z.clone());
    // The upstream gradient stands for the decoder: total = losses + Σ G·quantized.
    let total = out.loss().add(out.quantized.mul(upstream).sum());
    let grads = total.backward();
    let grad_z = z.grad(&grads).unwrap();
    let grad_codebook = vq.codebook.val().grad(&grads).unwrap();
    assert_close(&floats(grad_z), &values(&f, "grad_z"), 1e-6, "∂/∂z");
    assert_close(
        &floats(grad_codebook),
        &values(&f, "grad_codebook"),
        1e-6,
        "∂/∂codebook",
    );
}

#[test]
fn straight_through_passes_the_decoder_gradient_unchanged() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let (n, d) = (size(&f, "n"), size(&f, "d"));
    let vq = quantizer(&f, false, &device);
    let z = matrix(values(&f, "z"), n, d, &device).require_grad();
    let upstream = values(&f, "upstream");
    let out = vq.forward(z.clone());
    let decoder = out
        .quantized
        .mul(matrix(upstream.clone(), n, d, &device))
        .sum();
    let grads = decoder.backward();
    assert_eq!(floats(z.grad(&grads).unwrap()), upstream);
    // The decoder term gives the codebook nothing: only the codebook loss moves it.
    assert!(
        vq.codebook
            .val()
            .grad(&grads)
            .is_none_or(|g| floats(g).iter().all(|&v| v == 0.0))
    );
}

#[test]
fn nearest_codes_match_brute_force() {
    let device = Device::flex();
    device.seed(11);
    let (n, k, d) = (300, 37, 8);
    let vq = VectorQuantizerConfig::new(k, d).init(&device);
    // Codes spread out so that distances differ clearly.
    let codebook = Tensor::<2>::random(
        [k, d],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let vq = VectorQuantizer {
        codebook: Param::from_tensor(codebook.clone()),
        ..vq
    };
    let z = Tensor::<2>::random(
        [n, d],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let got = codes(vq.nearest(z.clone()));
    let (e, z) = (floats(codebook), floats(z));
    for i in 0..n {
        let dist = |c: usize| -> f64 {
            (0..d)
                .map(|j| f64::from(z[i * d + j] - e[c * d + j]).powi(2))
                .sum()
        };
        let best = (0..k).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
        assert_eq!(got[i] as usize, best, "vector {i}");
    }
}

#[test]
fn ema_update_and_dead_code_restart() {
    let f = fixture();
    let device = Device::flex();
    let (n, d) = (size(&f, "n"), size(&f, "d"));
    let vq = quantizer(&f, true, &device);
    let z = matrix(values(&f, "z"), n, d, &device);
    let out = vq.forward(z.clone());
    assert_eq!(
        floats(out.codebook_loss),
        [0.0],
        "EMA codebooks take no codebook loss"
    );
    let vq = vq.ema_update(z.clone(), out.codes).unwrap();
    let ema = vq.ema.as_ref().unwrap();
    assert_close(
        &floats(ema.cluster_size.val()),
        &values(&f, "ema_cluster_size"),
        1e-6,
        "cluster sizes",
    );
    assert_close(
        &floats(ema.embed_sum.val()),
        &values(&f, "ema_embed_sum"),
        1e-6,
        "sums",
    );
    let expected = values(&f, "ema_codebook");
    let got = floats(vq.codebook.val());
    // Unused codes grow large (a tiny smoothed size divides them): compare relatively.
    for (i, (a, e)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-5 * e.abs().max(1.0),
            "codebook[{i}]: {a} vs {e}"
        );
    }

    // Codes 1 and 4 took no vector (sizes 0; the others 0.3–0.5): they restart from rows 3 and
    // 7 and then win those rows.
    let (vq, restarted) = vq.restart_dead_codes(z.clone(), 0.05, &[3, 7]).unwrap();
    assert_eq!(restarted, [1, 4]);
    let zs = values(&f, "z");
    let book = floats(vq.codebook.val());
    assert_eq!(&book[d..2 * d], &zs[3 * d..4 * d]);
    assert_eq!(&book[4 * d..5 * d], &zs[7 * d..8 * d]);
    let sizes = floats(vq.ema.as_ref().unwrap().cluster_size.val());
    assert_eq!((sizes[1], sizes[4]), (1.0, 1.0));
    let after = codes(vq.forward(z).codes);
    assert_eq!((after[3], after[7]), (1, 4));
}

#[test]
fn ema_calls_on_a_gradient_codebook_are_errors() {
    let f = fixture();
    let device = Device::flex();
    let vq = quantizer(&f, false, &device);
    let z = matrix(values(&f, "z"), size(&f, "n"), size(&f, "d"), &device);
    let codes = vq.nearest(z.clone());
    let err = vq
        .clone()
        .ema_update(z.clone(), codes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ema_decay"), "{err}");
    let err = vq.restart_dead_codes(z, 1.0, &[0]).unwrap_err().to_string();
    assert!(err.contains("ema_decay"), "{err}");
}

/// Tiny 16×16 "glyphs": a horizontal and a vertical bar at image-dependent places.
fn bar_images(count: usize, device: &Device) -> Tensor<4> {
    let side = 16;
    let mut pixels = vec![0.0f32; count * side * side];
    for i in 0..count {
        let (row, col) = (2 + (i * 5) % 11, 2 + (i * 7) % 11);
        for j in 0..side {
            for t in 0..3 {
                pixels[i * side * side + (row + t) * side + j] = 1.0;
                pixels[i * side * side + j * side + col + t] = 1.0;
            }
        }
    }
    Tensor::from_data(TensorData::new(pixels, [count, 1, side, side]), device)
}

fn tiny_vqvae(device: &Device) -> nlp_models::vqvae::VqVae {
    nlp_models::vqvae::VqVaeConfig::new(VectorQuantizerConfig::new(16, 8))
        .with_hidden(16)
        .with_residual_blocks(1)
        .init(device)
}

#[test]
fn autoencoder_shapes_and_decoding_codes_repeats_the_forward() {
    let device = Device::flex();
    device.seed(5);
    let model = tiny_vqvae(&device);
    let images = bar_images(3, &device);
    let out = model.forward(images);
    assert_eq!(out.reconstruction.dims(), [3, 1, 16, 16]);
    assert_eq!(out.codes.dims(), [3, 4, 4]);
    assert_eq!(out.encoded.dims(), [3 * 4 * 4, 8]);
    let again = floats(model.decode_codes(out.codes.clone()));
    assert_close(&again, &floats(out.reconstruction), 1e-5, "decode_codes");
}

#[test]
fn autoencoder_learns_to_reconstruct_through_the_quantiser() {
    use burn::optim::{AdamConfig, GradientsParams};
    let device = Device::flex().autodiff();
    device.seed(7);
    let mut model = tiny_vqvae(&device);
    let images = bar_images(8, &device);
    let encoder_before = floats(model.encoder.down[0].weight.val());
    let mut optim = AdamConfig::new().init();
    let mut losses = Vec::new();
    for _ in 0..300 {
        let out = model.forward(images.clone());
        losses.push(floats(out.reconstruction_loss.clone())[0]);
        let grads = GradientsParams::from_grads(out.loss().backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    // The best image-independent answer (each pixel's mean over the set) scores this:
    let pixels = floats(bar_images(8, &Device::flex()));
    let per_image = 16 * 16;
    let baseline: f32 = (0..per_image)
        .map(|p| {
            let column: Vec<f32> = (0..8).map(|i| pixels[i * per_image + p]).collect();
            let mean = column.iter().sum::<f32>() / 8.0;
            column.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 8.0
        })
        .sum::<f32>()
        / per_image as f32;
    let last = *losses.last().unwrap();
    eprintln!("mse {} -> {last}, baseline {baseline}", losses[0]);
    assert!(
        last < 0.5 * baseline,
        "reconstruction mse {} → {last}, per-pixel-mean baseline {baseline}",
        losses[0]
    );
    // The encoder learns only through the straight-through path and the commitment loss.
    let encoder_after = floats(model.encoder.down[0].weight.val());
    assert!(
        encoder_before
            .iter()
            .zip(&encoder_after)
            .any(|(a, b)| a != b)
    );
}

mod prior {
    use burn::module::Module;
    use burn::tensor::{Device, Int, Tensor, TensorData};
    use nlp_models::vqvae::{CodePrior, CodePriorConfig, Sampling, draw};
    use rand::SeedableRng;

    use super::floats;

    fn tiny_prior(device: &Device, num_codes: usize, positions: usize) -> CodePrior {
        CodePriorConfig::new(num_codes, positions)
            .with_hidden(32)
            .with_layers(2)
            .with_heads(2)
            .with_dropout(0.0)
            .init(device)
    }

    fn int_matrix(values: Vec<i64>, rows: usize, device: &Device) -> Tensor<2, Int> {
        let cols = values.len() / rows;
        Tensor::from_data(TensorData::new(values, [rows, cols]), device)
    }

    /// log softmax(row)[target] in f64.
    fn log_p(row: &[f32], target: usize) -> f64 {
        let max = row.iter().copied().fold(f32::MIN, f32::max) as f64;
        let sum: f64 = row.iter().map(|&l| (l as f64 - max).exp()).sum();
        row[target] as f64 - max - sum.ln()
    }

    #[test]
    fn a_position_sees_only_the_codes_before_it_and_the_loss_is_their_nll() {
        let device = Device::flex();
        device.seed(11);
        let (k, n) = (7, 12);
        let prior = tiny_prior(&device, k, n);
        let codes: Vec<i64> = (0..2 * n as i64).map(|i| (i * 5 + 3) % k as i64).collect();
        let logits = floats(prior.logits(int_matrix(codes.clone(), 2, &device)));
        let mut changed = codes.clone();
        changed[5] = (changed[5] + 1) % k as i64;
        changed[n + 5] = (changed[n + 5] + 2) % k as i64;
        let logits2 = floats(prior.logits(int_matrix(changed, 2, &device)));
        for row in 0..2 {
            for pos in 0..n {
                let at = (row * n + pos) * k;
                let diff: f32 = (0..k)
                    .map(|c| (logits[at + c] - logits2[at + c]).abs())
                    .fold(0.0, f32::max);
                if pos <= 5 {
                    assert!(diff < 1e-6, "row {row} position {pos} saw a later code");
                } else if pos == 6 {
                    assert!(diff > 1e-4, "row {row} position 6 ignores code 5");
                }
            }
        }
        let hand = -(0..2 * n)
            .map(|i| log_p(&logits[i * k..(i + 1) * k], codes[i] as usize))
            .sum::<f64>()
            / (2 * n) as f64;
        let loss = floats(prior.loss(int_matrix(codes, 2, &device)))[0] as f64;
        assert!((loss - hand).abs() < 1e-5, "{loss} vs {hand}");
    }

    #[test]
    fn cached_sampling_repeats_the_full_recompute() {
        let device = Device::flex();
        device.seed(12);
        let (k, n) = (9, 10);
        let prior = tiny_prior(&device, k, n);
        let settings = Sampling {
            temperature: 1.0,
            top_k: 0,
            seed: 4,
        };
        let samples = prior.sample(3, settings, &device);
        let codes: Vec<i64> = samples
            .codes
            .clone()
            .into_data()
            .convert::<i64>()
            .iter::<i64>()
            .collect();
        let logits = floats(prior.logits(samples.codes.clone()));
        for row in 0..3 {
            let hand: f64 = (0..n)
                .map(|p| {
                    let i = row * n + p;
                    log_p(&logits[i * k..(i + 1) * k], codes[i] as usize)
                })
                .sum();
            let cached = samples.log_likelihood[row];
            assert!(
                (hand - cached).abs() < 1e-3,
                "row {row}: {cached} vs {hand}"
            );
        }
        // The same seed draws the same samples; temperature 0 takes the argmax at every step.
        let again = prior.sample(3, settings, &device);
        assert_eq!(floats(again.codes.float()), floats(samples.codes.float()));
        let greedy = prior.sample(
            2,
            Sampling {
                temperature: 0.0,
                ..settings
            },
            &device,
        );
        let greedy_codes: Vec<i64> = greedy
            .codes
            .clone()
            .into_data()
            .convert::<i64>()
            .iter::<i64>()
            .collect();
        let logits = floats(prior.logits(greedy.codes));
        for (i, &code) in greedy_codes.iter().enumerate() {
            let row = &logits[i * k..(i + 1) * k];
            let best = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert_eq!(code as usize, best, "greedy position {i}");
        }
    }

    #[test]
    fn draws_follow_the_tempered_truncated_softmax() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let count = |logits: &[f32], settings: Sampling, rng: &mut rand::rngs::StdRng| {
            let mut counts = vec![0usize; logits.len()];
            for _ in 0..20_000 {
                counts[draw(logits, settings, rng)] += 1;
            }
            counts
                .iter()
                .map(|&c| c as f64 / 20_000.0)
                .collect::<Vec<f64>>()
        };
        // Top 2 of [0, ln 3, −1, −2]: probabilities 1/4 and 3/4, nothing else.
        let top2 = Sampling {
            temperature: 1.0,
            top_k: 2,
            seed: 0,
        };
        let f = count(&[0.0, 3f32.ln(), -1.0, -2.0], top2, &mut rng);
        assert_eq!((f[2], f[3]), (0.0, 0.0));
        assert!(
            (f[0] - 0.25).abs() < 0.015 && (f[1] - 0.75).abs() < 0.015,
            "{f:?}"
        );
        // Temperature 2 on [0, ln 4]: exp(l/2) ∝ [1, 2], so 1/3 and 2/3.
        let warm = Sampling {
            temperature: 2.0,
            top_k: 0,
            seed: 0,
        };
        let f = count(&[0.0, 4f32.ln()], warm, &mut rng);
        assert!((f[0] - 1.0 / 3.0).abs() < 0.015, "{f:?}");
    }

    #[test]
    fn a_tiny_prior_learns_a_code_rule_and_its_samples_follow_it() {
        use burn::optim::{AdamConfig, GradientsParams};
        let device = Device::flex().autodiff();
        device.seed(13);
        let (k, n) = (6, 8);
        // Sequences start anywhere and step by 1 (even start) or 2 (odd start), modulo K.
        let rule = |start: i64| -> Vec<i64> {
            let step = 1 + start % 2;
            (0..n as i64)
                .map(|i| (start + i * step) % k as i64)
                .collect()
        };
        let data: Vec<i64> = (0..12).flat_map(|i| rule(i % k as i64)).collect();
        let batch = int_matrix(data, 12, &device);
        let mut prior = tiny_prior(&device, k, n);
        let mut optim = AdamConfig::new().init();
        let mut loss = f32::MAX;
        for _ in 0..150 {
            let l = prior.loss(batch.clone());
            loss = floats(l.clone())[0];
            let grads = GradientsParams::from_grads(l.backward(), &prior);
            prior = optim.step(3e-3, prior, grads);
        }
        // Only the first code is uncertain: the bound is ln(6)/8 nats per code.
        let bound = (k as f32).ln() / n as f32;
        assert!(loss < bound + 0.05, "loss {loss}, bound {bound}");
        let prior = prior.valid();
        let plain = Device::flex();
        let settings = Sampling {
            temperature: 0.7,
            top_k: 0,
            seed: 1,
        };
        let samples = prior.sample(16, settings, &plain);
        let codes: Vec<i64> = samples
            .codes
            .into_data()
            .convert::<i64>()
            .iter::<i64>()
            .collect();
        let mut starts = std::collections::BTreeSet::new();
        for sample in codes.chunks(n) {
            assert_eq!(sample, rule(sample[0]).as_slice(), "sample breaks the rule");
            starts.insert(sample[0]);
        }
        assert!(starts.len() >= 3, "samples start at {starts:?} only");
    }
}
