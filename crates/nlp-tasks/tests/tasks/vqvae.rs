//! The VQ-VAE task's scores, recomputed by hand from the model's own reconstructions.

use burn::tensor::Device;
use nlp_models::vqvae::{VectorQuantizerConfig, VqVaeConfig};
use nlp_tasks::vqvae::{Image, evaluate_images, image_batch};

#[test]
fn evaluation_scores_are_mse_psnr_and_code_use_over_all_images() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(2);
    let model = VqVaeConfig::new(VectorQuantizerConfig::new(8, 4))
        .with_hidden(8)
        .with_residual_blocks(1)
        .init(&device);
    let side = 8;
    // 70 images: more than one evaluation batch of 64.
    let images: Vec<Image> = (0..70)
        .map(|i| {
            (0..side * side)
                .map(|p| ((i * 7 + p * 3) % 11) as f32 / 10.0)
                .collect()
        })
        .collect();
    let scores = evaluate_images(&model, &images, side);

    let refs: Vec<&Image> = images.iter().collect();
    let out = model.forward(image_batch(&refs, side, &device));
    let decoded = out
        .reconstruction
        .clone()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let pixels: Vec<f32> = images.iter().flatten().copied().collect();
    let mse = pixels
        .iter()
        .zip(&decoded)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        / pixels.len() as f64;
    assert!((scores.mse - mse).abs() < 1e-6, "{} vs {mse}", scores.mse);
    assert!((scores.psnr - 10.0 * (1.0 / mse).log10()).abs() < 1e-3);
    // Every code position of every image is counted once, as one unbatched forward assigns
    // them: 70 images × (8/4)² positions.
    let mut usage = vec![0u64; 8];
    for c in out.codes.into_data().convert::<i64>().iter::<i64>() {
        usage[c as usize] += 1;
    }
    assert_eq!(scores.usage, usage);
    assert_eq!(usage.iter().sum::<u64>(), 70 * 4);
    let total = 280.0;
    let entropy: f64 = usage
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| -(n as f64 / total) * (n as f64 / total).ln())
        .sum();
    assert!((scores.perplexity - entropy.exp()).abs() < 1e-9);
    assert!((1.0..=8.0).contains(&scores.perplexity));
}
