//! The vector quantiser of VQ-VAE ("VQ-VAE的简明介绍：量子化自编码器"): every encoder vector z is
//! replaced by its nearest codebook vector e_k, the decoder sees z + sg(e_k − z) (its value is
//! e_k, its gradient goes to z unchanged), and the losses β‖sg[z] − e_k‖² + γ‖z − sg[e_k]‖²
//! (γ = 0.25β) pull the codebook towards the encoder and commit the encoder to its codes.
//!
//! Instead of the codebook loss, the codebook can follow exponential moving averages of the
//! vectors assigned to each code (VQ-VAE-2, Sonnet's `VectorQuantizerEMA`), and codes no vector
//! uses any more can be restarted from encoder outputs.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_core::reparam::straight_through;

use crate::error::{Error, Result};

/// Configuration of [`VectorQuantizer`].
#[derive(Config, Debug)]
pub struct VectorQuantizerConfig {
    /// Number of codes K.
    pub num_codes: usize,
    /// Width D of a code (and of the encoder vectors).
    pub code_dim: usize,
    /// β, the weight of the codebook loss ‖sg[z] − e‖².
    #[config(default = 1.0)]
    pub beta: f64,
    /// γ/β: the commitment loss ‖z − sg[e]‖² weighs γ = this · β (the post's 0.25).
    #[config(default = 0.25)]
    pub commitment_ratio: f64,
    /// Update the codebook by moving averages with this decay (e.g. 0.99) instead of the
    /// codebook loss; `None` learns it by gradient.
    #[config(default = "None")]
    pub ema_decay: Option<f64>,
    /// Laplace smoothing of the moving-average cluster sizes.
    #[config(default = 1e-5)]
    pub ema_epsilon: f64,
}

/// Moving-average codebook statistics: how many vectors each code took, and their sum.
#[derive(Module, Debug)]
pub struct EmaStatistics {
    /// N_k, `[K]`.
    pub cluster_size: Param<Tensor<1>>,
    /// m_k = Σ z over the vectors of code k, `[K, D]`.
    pub embed_sum: Param<Tensor<2>>,
    /// Decay γ of the averages.
    pub decay: f64,
    /// Laplace smoothing ε.
    pub epsilon: f64,
}

/// A codebook with nearest-code lookup, straight-through output and the VQ-VAE losses.
#[derive(Module, Debug)]
pub struct VectorQuantizer {
    /// The codes, `[K, D]`.
    pub codebook: Param<Tensor<2>>,
    /// Moving-average statistics when the codebook is updated by EMA.
    pub ema: Option<EmaStatistics>,
    /// β.
    pub beta: f64,
    /// γ.
    pub gamma: f64,
}

impl VectorQuantizerConfig {
    /// Build the quantiser with a codebook drawn uniformly from ±1/K (as the reference code).
    pub fn init(&self, device: &Device) -> VectorQuantizer {
        let bound = 1.0 / self.num_codes as f64;
        let codebook = Initializer::Uniform {
            min: -bound,
            max: bound,
        }
        .init([self.num_codes, self.code_dim], device);
        let ema = self.ema_decay.map(|decay| EmaStatistics {
            cluster_size: Param::from_tensor(Tensor::zeros([self.num_codes], device))
                .set_require_grad(false),
            embed_sum: Param::from_tensor(codebook.val().detach()).set_require_grad(false),
            decay,
            epsilon: self.ema_epsilon,
        });
        VectorQuantizer {
            codebook: match ema {
                Some(_) => codebook.set_require_grad(false),
                None => codebook,
            },
            ema,
            beta: self.beta,
            gamma: self.commitment_ratio * self.beta,
        }
    }
}

/// The result of [`VectorQuantizer::forward`] on `N` vectors.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// z + sg(e − z), `[N, D]`: the codes' values, with the gradient passed straight to z.
    pub quantized: Tensor<2>,
    /// The nearest code of every vector, `[N]`.
    pub codes: Tensor<1, Int>,
    /// β · mean((sg[z] − e)²), `[1]`; zero when the codebook follows moving averages.
    pub codebook_loss: Tensor<1>,
    /// γ · mean((z − sg[e])²), `[1]`.
    pub commitment_loss: Tensor<1>,
    /// exp(entropy of the code usage over the N vectors), `[1]`: K when every code is used
    /// equally often, 1 when one code takes everything.
    pub perplexity: Tensor<1>,
}

impl Quantized {
    /// Codebook plus commitment loss.
    pub fn loss(&self) -> Tensor<1> {
        self.codebook_loss.clone().add(self.commitment_loss.clone())
    }
}

impl VectorQuantizer {
    /// Number of codes K.
    pub fn num_codes(&self) -> usize {
        self.codebook.dims()[0]
    }

    /// Nearest code of each vector of `z: [N, D]` by ‖z‖² + ‖e‖² − 2 z·e (one matmul).
    pub fn nearest(&self, z: Tensor<2>) -> Tensor<1, Int> {
        let [n, _] = z.dims();
        let codebook = self.codebook.val();
        let z_sq = z.clone().powi_scalar(2).sum_dim(1);
        let e_sq = codebook.clone().powi_scalar(2).sum_dim(1).transpose();
        let distances = z_sq
            .add(e_sq)
            .sub(z.matmul(codebook.transpose()).mul_scalar(2.0));
        distances.argmin(1).reshape([n])
    }

    /// Quantise `z: [N, D]`.
    pub fn forward(&self, z: Tensor<2>) -> Quantized {
        let [n, _] = z.dims();
        let codes = self.nearest(z.clone().detach());
        let chosen = self.codebook.val().select(0, codes.clone());
        let codebook_loss = match self.ema {
            Some(_) => Tensor::zeros([1], &z.device()),
            None => mean_square(z.clone().detach().sub(chosen.clone())).mul_scalar(self.beta),
        };
        let commitment_loss =
            mean_square(z.clone().sub(chosen.clone().detach())).mul_scalar(self.gamma);
        let usage = codes
            .clone()
            .one_hot::<2>(self.num_codes())
            .float()
            .sum_dim(0)
            .div_scalar(n as f64)
            .reshape([self.num_codes()]);
        let entropy = usage.clone().mul(usage.clamp_min(1e-10).log()).sum().neg();
        Quantized {
            quantized: straight_through(z, chosen),
            codes,
            codebook_loss,
            commitment_loss,
            perplexity: entropy.exp(),
        }
    }

    /// One moving-average step of the codebook from the vectors `z: [N, D]` and their codes
    /// (as [`forward`](Self::forward) chose them): N_k ← γN_k + (1−γ)n_k,
    /// m_k ← γm_k + (1−γ)Σz, e_k = m_k / Ñ_k with Ñ_k = (N_k + ε)/(ΣN + Kε) · ΣN.
    /// An error when the quantiser learns its codebook by gradient.
    pub fn ema_update(mut self, z: Tensor<2>, codes: Tensor<1, Int>) -> Result<Self> {
        let k = self.num_codes();
        let Some(ema) = self.ema.as_mut() else {
            return Err(Error::Invalid(
                "ema_update: the quantiser learns its codebook by gradient (no ema_decay)".into(),
            ));
        };
        let one_hot = codes.one_hot::<2>(k).float();
        let counts = one_hot.clone().sum_dim(0).reshape([k]);
        let sums = one_hot.transpose().matmul(z.detach());
        let decay = ema.decay;
        let size = ema
            .cluster_size
            .val()
            .mul_scalar(decay)
            .add(counts.mul_scalar(1.0 - decay));
        let sum = ema
            .embed_sum
            .val()
            .mul_scalar(decay)
            .add(sums.mul_scalar(1.0 - decay));
        let total = size.clone().sum();
        let smoothed = size
            .clone()
            .add_scalar(ema.epsilon)
            .div(total.clone().add_scalar(k as f64 * ema.epsilon))
            .mul(total);
        let codebook = sum.clone().div(smoothed.unsqueeze_dim::<2>(1));
        ema.cluster_size = ema.cluster_size.clone().map(|_| size);
        ema.embed_sum = ema.embed_sum.clone().map(|_| sum);
        self.codebook = self.codebook.map(|_| codebook);
        Ok(self)
    }

    /// Restart the codes whose moving-average cluster size is below `threshold` from encoder
    /// outputs: dead code j takes row `rows[j] mod N` of `z: [N, D]` (the caller chooses the
    /// rows, e.g. a random permutation, so runs stay reproducible). Their statistics restart
    /// at one vector. Returns the quantiser and the restarted codes.
    pub fn restart_dead_codes(
        mut self,
        z: Tensor<2>,
        threshold: f64,
        rows: &[usize],
    ) -> Result<(Self, Vec<usize>)> {
        let Some(ema) = self.ema.as_mut() else {
            return Err(Error::Invalid(
                "restart_dead_codes: needs the moving-average statistics (ema_decay)".into(),
            ));
        };
        let [n, _] = z.dims();
        let sizes = ema
            .cluster_size
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| Error::Invalid(format!("cluster sizes: {e:?}")))?;
        let dead: Vec<usize> = (0..sizes.len())
            .filter(|&k| f64::from(sizes[k]) < threshold)
            .collect();
        if dead.is_empty() || n == 0 || rows.is_empty() {
            return Ok((self, Vec::new()));
        }
        // K×D is small: the restart is done on the host, row by row.
        let device = z.device();
        let [k, d] = self.codebook.dims();
        let host = |t: Tensor<2>| {
            t.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Invalid(format!("codebook: {e:?}")))
        };
        let z = host(z.detach())?;
        let mut codebook = host(self.codebook.val())?;
        let mut sums = host(ema.embed_sum.val())?;
        let mut sizes = sizes;
        for (j, &code) in dead.iter().enumerate() {
            let row = rows[j % rows.len()] % n;
            let fresh = &z[row * d..(row + 1) * d];
            codebook[code * d..(code + 1) * d].copy_from_slice(fresh);
            sums[code * d..(code + 1) * d].copy_from_slice(fresh);
            sizes[code] = 1.0;
        }
        let tensor = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [k, d]), &device);
        let size = Tensor::<1>::from_data(TensorData::new(sizes, [k]), &device);
        ema.cluster_size = ema.cluster_size.clone().map(|_| size);
        ema.embed_sum = ema.embed_sum.clone().map(|_| tensor(sums));
        self.codebook = self.codebook.map(|_| tensor(codebook));
        Ok((self, dead))
    }
}

/// mean(x²) as a `[1]` tensor.
fn mean_square(x: Tensor<2>) -> Tensor<1> {
    x.powi_scalar(2).mean()
}
