//! The autoregressive prior over a VQ-VAE's code grid (the post fits the codes with a
//! PixelCNN-like model, then samples codes and decodes them into images). Here the grid is read
//! row by row as a sequence after a start token, and a small causal transformer predicts each
//! code from those before it: a BERT in LM mode (`nlp-core`'s causal mask and attention), its
//! MLM head tied to the code embedding. Sampling feeds one position at a time through the
//! transformer's key/value cache, with temperature and top-k.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};

use crate::bert::{Bert, BertCache, BertConfig, BertInput, BertMode};

/// Configuration of [`CodePrior`].
#[derive(Config, Debug)]
pub struct CodePriorConfig {
    /// Codes of the quantiser, K.
    pub num_codes: usize,
    /// Code positions of a grid, h·w (read row by row).
    pub positions: usize,
    /// Width of the transformer.
    #[config(default = 128)]
    pub hidden: usize,
    /// Transformer blocks.
    #[config(default = 4)]
    pub layers: usize,
    /// Attention heads per block.
    #[config(default = 4)]
    pub heads: usize,
    /// Dropout on embeddings, block outputs and attention probabilities.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// A causal transformer over code sequences; id `num_codes` is the start token.
#[derive(Module, Debug)]
pub struct CodePrior {
    /// The transformer: a BERT in LM mode with its MLM head.
    pub transformer: Bert,
    /// K.
    pub num_codes: usize,
    /// h·w.
    pub positions: usize,
}

impl CodePriorConfig {
    /// The transformer's BERT configuration (vocabulary K codes + the start token).
    pub fn bert_config(&self) -> BertConfig {
        BertConfig::new(
            self.num_codes + 1,
            self.hidden,
            self.layers,
            self.heads,
            4 * self.hidden,
        )
        .with_hidden_dropout_prob(self.dropout)
        .with_attention_probs_dropout_prob(self.dropout)
        .with_max_position_embeddings(self.positions)
        .with_type_vocab_size(1)
        .with_mode(BertMode::Lm)
        .with_with_pool(false)
        .with_with_mlm(true)
    }

    /// Build a randomly initialised prior on `device`.
    pub fn init(&self, device: &Device) -> CodePrior {
        CodePrior {
            transformer: self.bert_config().init(device),
            num_codes: self.num_codes,
            positions: self.positions,
        }
    }
}

/// Sampling settings of [`CodePrior::sample`].
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Logits are divided by this before the softmax.
    pub temperature: f64,
    /// Draw among the `top_k` most likely codes only (`0`: all).
    pub top_k: usize,
    /// Seed of the draws: the same seed gives the same samples.
    pub seed: u64,
}

/// Sampled code sequences.
#[derive(Debug, Clone)]
pub struct Samples {
    /// `[n, positions]` code ids, row by row.
    pub codes: Tensor<2, Int>,
    /// Per sample, the sum over positions of log p(code | codes before), from the
    /// temperature-1 distribution of the untruncated softmax.
    pub log_likelihood: Vec<f64>,
}

impl CodePrior {
    /// Id of the start token.
    pub fn start_id(&self) -> usize {
        self.num_codes
    }

    /// Logits of every position given the codes before it: `codes: [batch, len]` (len ≤ h·w)
    /// → `[batch, len, K]`; position `i` sees `codes[.., ..i]` only.
    pub fn logits(&self, codes: Tensor<2, Int>) -> Tensor<3> {
        let [batch, len] = codes.dims();
        let device = codes.device();
        let start = Tensor::<2, Int>::full([batch, 1], self.start_id() as i64, &device);
        let input = Tensor::cat(vec![start, codes.slice_dim(1, 0..len - 1)], 1);
        let all = self
            .transformer
            .forward(BertInput::new(input).padding(Tensor::<2, Bool>::full(
                [batch, len],
                true,
                &device,
            )));
        all.mlm_logits
            .expect("the prior's BERT is built with its MLM head")
            .slice_dim(2, 0..self.num_codes)
    }

    /// Mean negative log-likelihood per code of `codes: [batch, h·w]`, `[1]` (nats).
    pub fn loss(&self, codes: Tensor<2, Int>) -> Tensor<1> {
        let [batch, len] = codes.dims();
        let logits = self
            .logits(codes.clone())
            .reshape([batch * len, self.num_codes]);
        let targets = codes.reshape([batch * len, 1]);
        log_softmax(logits, 1).gather(1, targets).mean().neg()
    }

    /// Draw `n` code sequences of `positions` codes, one position at a time on the key/value
    /// cache.
    pub fn sample(&self, n: usize, settings: Sampling, device: &Device) -> Samples {
        let mut rng = rand::rngs::StdRng::seed_from_u64(settings.seed);
        let mut cache = BertCache::new();
        let mut next = vec![self.start_id() as i64; n];
        let mut codes = vec![Vec::with_capacity(self.positions); n];
        let mut log_likelihood = vec![0.0f64; n];
        let ones = Tensor::<2, Bool>::full([n, 1], true, device);
        for _ in 0..self.positions {
            let input = Tensor::<2, Int>::from_data(TensorData::new(next.clone(), [n, 1]), device);
            let out = self
                .transformer
                .forward_cached(BertInput::new(input).padding(ones.clone()), &mut cache);
            let logits: Vec<f32> = out
                .mlm_logits
                .expect("the prior's BERT is built with its MLM head")
                .into_data()
                .convert::<f32>()
                .iter::<f32>()
                .collect();
            let vocab = self.num_codes + 1;
            for (row, row_logits) in logits.chunks(vocab).enumerate() {
                let row_logits = &row_logits[..self.num_codes];
                let code = draw(row_logits, settings, &mut rng);
                log_likelihood[row] += log_probability(row_logits, code);
                codes[row].push(code as i64);
                next[row] = code as i64;
            }
        }
        let flat: Vec<i64> = codes.into_iter().flatten().collect();
        Samples {
            codes: Tensor::from_data(TensorData::new(flat, [n, self.positions]), device),
            log_likelihood,
        }
    }
}

/// log softmax(logits)[code], in f64.
fn log_probability(logits: &[f32], code: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    logits[code] as f64 - max - sum.ln()
}

/// Draw an index from softmax(logits / temperature) restricted to the `top_k` largest logits
/// (ties broken by the lower index). A temperature of 0 takes the argmax.
pub fn draw(logits: &[f32], settings: Sampling, rng: &mut impl Rng) -> usize {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let keep = match settings.top_k {
        0 => logits.len(),
        k => k.min(logits.len()),
    };
    if settings.temperature <= 0.0 || keep == 1 {
        return order[0];
    }
    let best = logits[order[0]] as f64;
    let weights: Vec<f64> = order[..keep]
        .iter()
        .map(|&i| ((logits[i] as f64 - best) / settings.temperature).exp())
        .collect();
    let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (&i, &w) in order.iter().zip(&weights) {
        if u < w {
            return i;
        }
        u -= w;
    }
    order[keep - 1]
}
