//! VQ-VAE training glue for the shared loop: square grey images in, reconstruction plus
//! quantiser loss out, and the held-out reconstruction error as PSNR; then the prior over the
//! trained model's code grids, scored by held-out negative log-likelihood.
//!
//! A quantiser built with `ema_decay` follows moving averages instead of the codebook loss:
//! after every optimizer step the task re-encodes the batch with the updated encoder, moves
//! the codebook towards the vectors each code took, and every `restart_every` steps restarts
//! the codes whose average cluster size fell below `dead_below` at the batch's worst-served
//! vectors (largest distance to their code), so no code stays unused.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::vqvae::{CodePrior, VqVae};

use crate::error::Result;
use crate::train::{Evaluation, TrainTask};

/// One image: `side × side` grey levels in [0, 1], row-major.
pub type Image = Vec<f32>;

/// Reconstruction scores over a set of images.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// Mean squared error per pixel.
    pub mse: f64,
    /// 10·log10(1 / mse): the peak signal-to-noise ratio in dB for images in [0, 1].
    pub psnr: f64,
    /// Codebook perplexity over all the set's code positions.
    pub perplexity: f64,
    /// How many code positions took each code.
    pub usage: Vec<u64>,
}

/// Stack images into `[n, 1, side, side]`.
pub fn image_batch(images: &[&Image], side: usize, device: &Device) -> Tensor<4> {
    let mut pixels = Vec::with_capacity(images.len() * side * side);
    for image in images {
        pixels.extend_from_slice(image);
    }
    Tensor::from_data(
        TensorData::new(pixels, [images.len(), 1, side, side]),
        device,
    )
}

/// Reconstruct `images` in batches and score them.
pub fn evaluate_images(model: &VqVae, images: &[Image], side: usize) -> Reconstruction {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let k = model.quantizer.num_codes();
    let (mut squared, mut usage) = (0.0f64, vec![0u64; k]);
    for chunk in images.chunks(64) {
        let refs: Vec<&Image> = chunk.iter().collect();
        let out = model.forward(image_batch(&refs, side, &device));
        let mse = out.reconstruction_loss.into_scalar::<f32>();
        squared += f64::from(mse) * chunk.len() as f64;
        for c in out.codes.into_data().convert::<i64>().iter::<i64>() {
            usage[c as usize] += 1;
        }
    }
    let mse = squared / images.len().max(1) as f64;
    let total: u64 = usage.iter().sum();
    let entropy: f64 = usage
        .iter()
        .filter(|&&n| n > 0)
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.ln()
        })
        .sum();
    Reconstruction {
        mse,
        psnr: 10.0 * (1.0 / mse.max(1e-12)).log10(),
        perplexity: entropy.exp(),
        usage,
    }
}

/// The VQ-VAE task: loss on image batches, PSNR on a dev set.
pub struct VqVaeTask<'a> {
    /// Side of the square images.
    pub side: usize,
    /// Images scored after every epoch.
    pub dev: &'a [Image],
    /// With a moving-average codebook, look for dead codes every this many steps (0: never).
    pub restart_every: usize,
    /// A code is dead when its average number of vectors per batch is below this.
    pub dead_below: f64,
}

impl<'a> VqVaeTask<'a> {
    /// The task on `side × side` images, scored on `dev`; dead codes (under one vector per
    /// batch on average) restart every 20 steps.
    pub fn new(side: usize, dev: &'a [Image]) -> Self {
        Self {
            side,
            dev,
            restart_every: 20,
            dead_below: 1.0,
        }
    }
}

/// Row indices of `z: [N, D]` from the largest squared distance to its code in `codebook`
/// to the smallest: where new codes help the most.
fn worst_served(z: Tensor<2>, codebook: Tensor<2>, codes: Tensor<1, Int>) -> Vec<usize> {
    let errors = z
        .sub(codebook.select(0, codes))
        .powi_scalar(2)
        .sum_dim(1)
        .into_data()
        .convert::<f32>();
    let errors: Vec<f32> = errors.iter::<f32>().collect();
    let mut rows: Vec<usize> = (0..errors.len()).collect();
    rows.sort_by(|&a, &b| errors[b].total_cmp(&errors[a]));
    rows
}

impl TrainTask for VqVaeTask<'_> {
    type Model = VqVae;
    type Example = Image;

    fn loss(&self, model: &VqVae, batch: &[&Image]) -> Tensor<1> {
        let device = model.devices().into_iter().next().unwrap_or_default();
        model.forward(image_batch(batch, self.side, &device)).loss()
    }

    fn after_step(&self, mut model: VqVae, batch: &[&Image], step: usize) -> Result<VqVae> {
        if model.quantizer.ema.is_none() {
            return Ok(model);
        }
        let device = model.devices().into_iter().next().unwrap_or_default();
        let z = model
            .encode(image_batch(batch, self.side, &device))
            .detach();
        let codes = model.quantizer.nearest(z.clone());
        let mut quantizer = model.quantizer.ema_update(z.clone(), codes.clone())?;
        if self.restart_every > 0 && step.is_multiple_of(self.restart_every) {
            let rows = worst_served(z.clone(), quantizer.codebook.val(), codes);
            quantizer = quantizer.restart_dead_codes(z, self.dead_below, &rows)?.0;
        }
        model.quantizer = quantizer;
        Ok(model)
    }

    fn evaluate(&self, model: &VqVae) -> Result<Evaluation> {
        let r = evaluate_images(model, self.dev, self.side);
        Ok(Evaluation {
            score: r.psnr,
            report: format!("mse {:.5} perplexity {:.1}", r.mse, r.perplexity),
        })
    }
}

/// The code grid of every image, row by row, in batches of 64.
pub fn image_codes(model: &VqVae, images: &[Image], side: usize) -> Vec<Vec<i64>> {
    let device = model.devices().into_iter().next().unwrap_or_default();
    let mut grids = Vec::with_capacity(images.len());
    for chunk in images.chunks(64) {
        let refs: Vec<&Image> = chunk.iter().collect();
        // The encoder and the quantiser only: no decoding.
        let codes = model
            .quantizer
            .nearest(model.encode(image_batch(&refs, side, &device)));
        let values: Vec<i64> = codes.into_data().convert::<i64>().iter::<i64>().collect();
        let per_image = values.len() / chunk.len().max(1);
        grids.extend(values.chunks(per_image.max(1)).map(<[i64]>::to_vec));
    }
    grids
}

/// Stack code grids of equal length into `[n, positions]`.
pub fn code_batch(grids: &[&Vec<i64>], device: &Device) -> Tensor<2, Int> {
    let positions = grids.first().map_or(0, |g| g.len());
    let flat: Vec<i64> = grids.iter().flat_map(|g| g.iter().copied()).collect();
    Tensor::from_data(TensorData::new(flat, [grids.len(), positions]), device)
}

/// Mean negative log-likelihood per code (nats) of `grids` under `prior`, in batches of 64.
pub fn prior_nll(prior: &CodePrior, grids: &[Vec<i64>]) -> f64 {
    let device = prior.devices().into_iter().next().unwrap_or_default();
    let mut total = 0.0f64;
    for chunk in grids.chunks(64) {
        let refs: Vec<&Vec<i64>> = chunk.iter().collect();
        let loss = prior.loss(code_batch(&refs, &device)).into_scalar::<f32>();
        total += f64::from(loss) * chunk.len() as f64;
    }
    total / grids.len().max(1) as f64
}

/// The prior's task: next-code cross-entropy on code grids; the dev score is minus the mean
/// negative log-likelihood per code.
pub struct PriorTask<'a> {
    /// Code grids scored after every epoch.
    pub dev: &'a [Vec<i64>],
}

impl TrainTask for PriorTask<'_> {
    type Model = CodePrior;
    type Example = Vec<i64>;

    fn loss(&self, model: &CodePrior, batch: &[&Vec<i64>]) -> Tensor<1> {
        let device = model.devices().into_iter().next().unwrap_or_default();
        model.loss(code_batch(batch, &device))
    }

    fn evaluate(&self, model: &CodePrior) -> Result<Evaluation> {
        let nll = prior_nll(model, self.dev);
        Ok(Evaluation {
            score: -nll,
            report: format!("nll {nll:.4} nats/code, code perplexity {:.2}", nll.exp()),
        })
    }
}
