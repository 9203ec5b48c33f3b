//! The LSTM seq2seq model of the title-generation post ("玩转Keras之seq2seq自动生成标题",
//! 2018-09): character ids (0 padding, 1 unknown, 2 start, 3 end), one embedding shared by
//! encoder and decoder, a 2-layer bidirectional LSTM encoder, a 2-layer LSTM decoder attending
//! over the encoder (scaled dot product, padding masked), and the copy-like prior: with χ the
//! multi-hot of the characters present in the source, ŷ = s⊙χ + t (trainable per-vocabulary
//! s, t), and the final logits are (y + ŷ) / 2.
//!
//! The backward direction of each encoder layer runs on every row reversed *within its own
//! length*, so right padding never reaches a real position in either direction.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use nlp_core::attention::masked_softmax;
use nlp_core::mask::{key_padding, padding_from_lengths};

/// Padding id.
pub const PAD: usize = 0;
/// Unknown-character id.
pub const UNK: usize = 1;
/// Start-of-target id (the decoder's first input).
pub const START: usize = 2;
/// End-of-target id.
pub const END: usize = 3;

/// Settings of [`LstmSeq2Seq`].
#[derive(Config, Debug)]
pub struct LstmSeq2SeqConfig {
    /// Vocabulary size, the four special ids included.
    pub vocab_size: usize,
    /// Embedding width.
    #[config(default = 128)]
    pub d_embed: usize,
    /// Width of the decoder and of the encoder output (each direction has half).
    #[config(default = 128)]
    pub d_hidden: usize,
}

impl LstmSeq2SeqConfig {
    /// A freshly initialised model.
    pub fn init(&self, device: &Device) -> LstmSeq2Seq {
        let half = self.d_hidden / 2;
        assert!(
            half > 0 && self.d_hidden.is_multiple_of(2),
            "d_hidden must be even and positive"
        );
        let lstm = |d_in: usize, d_out: usize| LstmConfig::new(d_in, d_out, true).init(device);
        LstmSeq2Seq {
            embedding: EmbeddingConfig::new(self.vocab_size, self.d_embed).init(device),
            encoder_forward: vec![lstm(self.d_embed, half), lstm(self.d_hidden, half)],
            encoder_backward: vec![lstm(self.d_embed, half), lstm(self.d_hidden, half)],
            decoder: vec![
                lstm(self.d_embed, self.d_hidden),
                lstm(self.d_hidden, self.d_hidden),
            ],
            output: LinearConfig::new(2 * self.d_hidden, self.vocab_size).init(device),
            prior_scale: Param::from_tensor(Tensor::zeros([self.vocab_size], device)),
            prior_bias: Param::from_tensor(Tensor::zeros([self.vocab_size], device)),
        }
    }
}

/// The model (see the module docs).
#[derive(Module, Debug)]
pub struct LstmSeq2Seq {
    /// Shared character embedding.
    pub embedding: Embedding,
    /// Forward direction of the two encoder layers.
    pub encoder_forward: Vec<Lstm>,
    /// Backward direction of the two encoder layers (run on per-row reversed inputs).
    pub encoder_backward: Vec<Lstm>,
    /// The two decoder layers.
    pub decoder: Vec<Lstm>,
    /// [decoder output; attention context] → vocabulary logits y.
    pub output: Linear,
    /// s of the copy prior.
    pub prior_scale: Param<Tensor<1>>,
    /// t of the copy prior.
    pub prior_bias: Param<Tensor<1>>,
}

/// What decoding needs of the encoded sources, one row per hypothesis.
#[derive(Debug, Clone)]
pub struct LstmMemory {
    /// Encoder outputs `[rows, S, d_hidden]`.
    pub encoded: Tensor<3>,
    /// Source padding `[rows, S]` (`true` on real characters).
    pub padding: Tensor<2, Bool>,
    /// χ: which characters the source holds, `[rows, V]` (1.0 or 0.0).
    pub present: Tensor<2>,
    /// Decoder state per layer, `[rows, d_hidden]` each.
    pub state: Vec<LstmState<2>>,
}

impl LstmMemory {
    /// Keep rows `rows` (repeats allowed), in that order.
    pub fn select(&mut self, rows: Tensor<1, Int>) {
        self.encoded = self.encoded.clone().select(0, rows.clone());
        self.padding = self
            .padding
            .clone()
            .int()
            .select(0, rows.clone())
            .greater_elem(0);
        self.present = self.present.clone().select(0, rows.clone());
        for s in &mut self.state {
            *s = LstmState::new(
                s.cell.clone().select(0, rows.clone()),
                s.hidden.clone().select(0, rows.clone()),
            );
        }
    }
}

/// Per row, the index of position t when the row's first `len` positions are reversed (the
/// padding after them stays in place): `[rows, S]`, its own inverse.
fn reversal(lengths: &[usize], width: usize, device: &Device) -> Tensor<2, Int> {
    let mut idx = Vec::with_capacity(lengths.len() * width);
    for &len in lengths {
        idx.extend((0..width).map(|t| if t < len { len - 1 - t } else { t } as i64));
    }
    Tensor::from_data(TensorData::new(idx, [lengths.len(), width]), device)
}

/// `x[b, idx[b, t], :]` for every b, t.
fn gather_positions(x: Tensor<3>, idx: Tensor<2, Int>) -> Tensor<3> {
    let [rows, len, width] = x.dims();
    let idx = idx.reshape([rows, len, 1]).expand([rows, len, width]);
    x.gather(1, idx)
}

impl LstmSeq2Seq {
    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.prior_bias.dims()[0]
    }

    /// Encode right-padded `sources` `[rows, S]` with their lengths; the decoder starts from
    /// zero states.
    pub fn encode(&self, sources: Tensor<2, Int>, lengths: &[usize]) -> LstmMemory {
        let device = sources.device();
        let [rows, width] = sources.dims();
        let padding = padding_from_lengths(lengths, width, &device);
        let reverse = reversal(lengths, width, &device);
        let mut x = self.embedding.forward(sources.clone());
        for (fwd, bwd) in self.encoder_forward.iter().zip(&self.encoder_backward) {
            let (ahead, _) = fwd.forward(x.clone(), None);
            let (behind, _) = bwd.forward(gather_positions(x, reverse.clone()), None);
            x = Tensor::cat(vec![ahead, gather_positions(behind, reverse.clone())], 2);
        }
        let vocab = self.vocab_size();
        let real = padding.clone().float();
        let hits = Tensor::<2>::zeros([rows, vocab], &device).scatter(
            1,
            sources,
            real,
            burn::tensor::IndexingUpdateOp::Add,
        );
        let d_hidden = self.output.weight.dims()[0] / 2;
        LstmMemory {
            encoded: x,
            padding,
            present: hits.greater_elem(0.0).float(),
            state: (0..self.decoder.len())
                .map(|_| LstmState::initial([rows, d_hidden], &device))
                .collect(),
        }
    }

    /// Run the decoder on `inputs` `[rows, T]` (teacher forcing: `START` then the target; or
    /// one token per step) from `memory`'s state, which it advances; logits `[rows, T, V]`.
    pub fn decode(&self, memory: &mut LstmMemory, inputs: Tensor<2, Int>) -> Tensor<3> {
        let [rows, steps] = inputs.dims();
        let mut h = self.embedding.forward(inputs);
        for (layer, state) in self.decoder.iter().zip(memory.state.iter_mut()) {
            let (out, next) = layer.forward(h, Some(state.clone()));
            *state = next;
            h = out;
        }
        let d = h.dims()[2];
        let scores = h
            .clone()
            .matmul(memory.encoded.clone().swap_dims(1, 2))
            .div_scalar((d as f64).sqrt())
            .unsqueeze_dim::<4>(1);
        let probs =
            masked_softmax(scores, key_padding(memory.padding.clone(), steps)).squeeze_dim(1);
        let context = probs.matmul(memory.encoded.clone());
        let y = self.output.forward(Tensor::cat(vec![h, context], 2));
        let vocab = self.vocab_size();
        let prior = memory.present.clone() * self.prior_scale.val().unsqueeze_dim(0)
            + self.prior_bias.val().unsqueeze_dim(0);
        (y + prior.reshape([rows, 1, vocab])).div_scalar(2.0)
    }
}
