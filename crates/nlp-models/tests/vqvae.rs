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
