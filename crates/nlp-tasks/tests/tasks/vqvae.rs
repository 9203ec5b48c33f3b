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

/// 40 tiny 8×8 images: a bright square at one of 16 positions with one of 10 grey levels.
fn square_images() -> Vec<Image> {
    (0..40)
        .map(|i| {
            let (at, level) = (i % 16, 0.1 + (i % 10) as f32 / 11.0);
            let (y0, x0) = (at / 4 * 2, at % 4 * 2);
            (0..64)
                .map(|p| {
                    let (y, x) = (p / 8, p % 8);
                    if (y0..y0 + 3).contains(&y) && (x0..x0 + 3).contains(&x) {
                        level
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// Train a tiny moving-average VQ-VAE for `steps` steps with the shared loop; returns every
/// float parameter (codebook statistics included) and the final model.
fn train_ema(
    out: &std::path::Path,
    steps: usize,
    stop_after: Option<usize>,
    restart_every: usize,
) -> (Vec<f32>, nlp_models::vqvae::VqVae) {
    use burn::module::Module;
    use nlp_optim::{Adam, RuleExt};
    use nlp_tasks::train::{TrainConfig, fit};
    use nlp_tasks::vqvae::VqVaeTask;

    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(3);
    let model = VqVaeConfig::new(VectorQuantizerConfig::new(16, 4).with_ema_decay(Some(0.9)))
        .with_hidden(8)
        .with_residual_blocks(1)
        .init(&device);
    let images = square_images();
    let mut task = VqVaeTask::new(8, &images[..8]);
    task.restart_every = restart_every;
    task.dead_below = 0.5;
    let mut optim = Adam::new().init().unwrap();
    let mut config = TrainConfig::new(out);
    config.epochs = 100;
    config.max_steps = Some(steps);
    config.batch_size = 10;
    config.checkpoint_every = 3;
    config.stop_after_steps = stop_after;
    config.progress = false;
    let outcome = fit(&task, model, &mut optim, &images, &config).unwrap();
    let mut values = crate::train::Values(Vec::new());
    outcome.model.visit(&mut values);
    (values.0, outcome.model)
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nlp-tasks-vq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_loop_moves_the_codebook_by_moving_averages_after_every_step() {
    let out = scratch("ema");
    let steps = 7;
    let (_, model) = train_ema(&out, steps, None, 0);
    let ema = model.quantizer.ema.as_ref().expect("ema statistics");
    // Starting from zero, N_k ← 0.9 N_k + 0.1 n_k over batches of n = 10 images × 4 positions
    // gives Σ_k N_k = 40 (1 − 0.9^t) after t updates, whichever codes took the vectors: one
    // update per optimizer step, none skipped or doubled.
    let total: f32 = ema.cluster_size.val().sum().into_scalar();
    let expected = 40.0 * (1.0 - 0.9f32.powi(steps as i32));
    assert!((total - expected).abs() < 1e-3, "{total} vs {expected}");
    // The codebook is m_k / Ñ_k of its own statistics, not the initial random codes.
    let sizes: Vec<f32> = ema.cluster_size.val().try_into_vec_as::<f32>().unwrap();
    let sums: Vec<f32> = ema.embed_sum.val().try_into_vec_as::<f32>().unwrap();
    let codebook: Vec<f32> = model
        .quantizer
        .codebook
        .val()
        .try_into_vec_as::<f32>()
        .unwrap();
    let k = sizes.len() as f32;
    let busiest = (0..sizes.len())
        .max_by(|&a, &b| sizes[a].total_cmp(&sizes[b]))
        .unwrap();
    let smoothed = (sizes[busiest] + 1e-5) / (total + k * 1e-5) * total;
    for d in 0..4 {
        let want = sums[busiest * 4 + d] / smoothed;
        assert!((codebook[busiest * 4 + d] - want).abs() < 1e-4);
    }
    // Without restarts, some codes are dead (the case restarts are for).
    assert!(sizes.iter().any(|&s| s < 0.5), "{sizes:?}");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_killed_moving_average_run_with_restarts_resumes_exactly() {
    let straight = scratch("straight");
    let (a, model) = train_ema(&straight, 8, None, 2);
    let resumed = scratch("resumed");
    // Stopped after 5 steps: the checkpoint is at step 3, so steps 4 and 5 are redone.
    train_ema(&resumed, 8, Some(5), 2);
    let (b, _) = train_ema(&resumed, 8, None, 2);
    assert!(!a.is_empty());
    assert!(a == b, "weights or codebook statistics differ after resume");
    // Restarts ran: after the restart at step 8 every code that had fallen below 0.5 vectors
    // per batch restarted at one, so none is below 0.5 (without restarts some are: see
    // `the_loop_moves_the_codebook_by_moving_averages_after_every_step`).
    let ema = model.quantizer.ema.expect("ema statistics");
    let sizes: Vec<f32> = ema.cluster_size.val().try_into_vec_as::<f32>().unwrap();
    assert!(sizes.iter().all(|&s| s >= 0.5), "{sizes:?}");
    std::fs::remove_dir_all(&straight).ok();
    std::fs::remove_dir_all(&resumed).ok();
}

#[test]
fn code_grids_and_prior_nll_are_batched_without_changing_them() {
    use nlp_models::vqvae::CodePriorConfig;
    use nlp_tasks::vqvae::{code_batch, image_codes, prior_nll};

    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(4);
    let model = VqVaeConfig::new(VectorQuantizerConfig::new(8, 4))
        .with_hidden(8)
        .with_residual_blocks(1)
        .init(&device);
    // 70 images: more than one batch of 64.
    let images: Vec<Image> = (0..70)
        .map(|i| {
            (0..64)
                .map(|p| ((i * 3 + p * 5) % 7) as f32 / 6.0)
                .collect()
        })
        .collect();
    let grids = image_codes(&model, &images, 8);
    assert_eq!(grids.len(), 70);
    for i in [0, 63, 64, 69] {
        let one = model.forward(image_batch(&[&images[i]], 8, &device)).codes;
        let one: Vec<i64> = one.into_data().convert::<i64>().iter::<i64>().collect();
        assert_eq!(grids[i], one, "image {i}");
    }
    let prior = CodePriorConfig::new(8, 4)
        .with_hidden(16)
        .with_layers(1)
        .with_heads(2)
        .with_dropout(0.0)
        .init(&device);
    // The mean over grids of each grid's own mean NLL per code.
    let by_one: f64 = grids
        .iter()
        .map(|g| f64::from(prior.loss(code_batch(&[g], &device)).into_scalar::<f32>()))
        .sum::<f64>()
        / 70.0;
    let batched = prior_nll(&prior, &grids);
    assert!((batched - by_one).abs() < 1e-5, "{batched} vs {by_one}");
    assert!(batched > 0.0);
}
