//! The DGCNN reader (Keras, 2019): characters plus words, embeddings trained from scratch.
//! The question goes through 3 DGCNN blocks (dilations 1, 2, 1) and attention pooling into one
//! vector q; the passage, concatenated with q (and optional per-position features) at every
//! position, through Dense(d) and 6 DGCNN blocks (1, 2, 4, 8, 16, 1). Start and end sigmoids
//! at every passage position are multiplied by a global "has an answer" gate (attention
//! pooling of the passage, then a sigmoid), and the three are trained together with the focal
//! loss on the gated probabilities.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Bool, Device, Int, Tensor};
use nlp_models::dgcnn::{AttentionPooling, AttentionPoolingConfig, Dgcnn, DgcnnConfig};

/// Configuration of [`DgcnnReader`].
#[derive(Config, Debug)]
pub struct DgcnnReaderConfig {
    /// Characters (padding 0 and unknown 1 included).
    pub char_vocab: usize,
    /// Words (padding 0 and unknown 1 included).
    pub word_vocab: usize,
    /// Width of the embeddings and of every block.
    #[config(default = 128)]
    pub d_model: usize,
    /// Dilations of the question's blocks.
    #[config(default = "vec![1, 2, 1]")]
    pub question_dilations: Vec<usize>,
    /// Dilations of the passage's blocks.
    #[config(default = "vec![1, 2, 4, 8, 16, 1]")]
    pub passage_dilations: Vec<usize>,
    /// Numbers per passage position appended to `[p; q]` before the Dense layer (the codec's
    /// match features).
    #[config(default = 3)]
    pub passage_features: usize,
    /// Dropout after the embeddings.
    #[config(default = 0.1)]
    pub embedding_dropout: f64,
    /// Dropout on the DGCNN gates.
    #[config(default = 0.1)]
    pub gate_dropout: f64,
}

/// The reader: see the module docs.
#[derive(Module, Debug)]
pub struct DgcnnReader {
    /// Character table.
    pub chars: Embedding,
    /// Word table (each character gets the vector of its word).
    pub words: Embedding,
    /// Dropout after the embeddings.
    pub dropout: Dropout,
    /// The question's blocks.
    pub question: Dgcnn,
    /// Question → one vector.
    pub question_pool: AttentionPooling,
    /// `[p; q]` → d.
    pub merge: Linear,
    /// The passage's blocks.
    pub passage: Dgcnn,
    /// Start logit per position.
    pub start: Linear,
    /// End logit per position.
    pub end: Linear,
    /// Passage → one vector for the gate.
    pub gate_pool: AttentionPooling,
    /// The "has an answer" logit.
    pub gate: Linear,
}

/// A batch of questions and passages as ids, `[batch, len]`, with padding masks.
#[derive(Debug, Clone)]
pub struct ReaderInput {
    /// Question character ids.
    pub question_chars: Tensor<2, Int>,
    /// Question word ids, one per character.
    pub question_words: Tensor<2, Int>,
    /// Real question positions.
    pub question_mask: Tensor<2, Bool>,
    /// Passage character ids.
    pub passage_chars: Tensor<2, Int>,
    /// Passage word ids, one per character.
    pub passage_words: Tensor<2, Int>,
    /// Real passage positions.
    pub passage_mask: Tensor<2, Bool>,
    /// Extra numbers per passage position, `[batch, len, passage_features]`.
    pub passage_features: Tensor<3>,
}

/// Gated start and end probabilities `[batch, passage len]`, zero on padding.
#[derive(Debug, Clone)]
pub struct ReaderOutput {
    /// P(answer starts here) × gate.
    pub start: Tensor<2>,
    /// P(answer ends here) × gate.
    pub end: Tensor<2>,
}

impl DgcnnReaderConfig {
    /// Build the reader.
    pub fn init(&self, device: &Device) -> DgcnnReader {
        let d = self.d_model;
        let stack = |dilations: &[usize]| {
            DgcnnConfig::new(d)
                .with_dilations(dilations.to_vec())
                .with_gate_dropout(self.gate_dropout)
                .init(device)
        };
        let pool = || AttentionPoolingConfig::new(d, d).init(device);
        DgcnnReader {
            chars: EmbeddingConfig::new(self.char_vocab, d).init(device),
            words: EmbeddingConfig::new(self.word_vocab, d).init(device),
            dropout: DropoutConfig::new(self.embedding_dropout).init(),
            question: stack(&self.question_dilations),
            question_pool: pool(),
            merge: LinearConfig::new(2 * d + self.passage_features, d).init(device),
            passage: stack(&self.passage_dilations),
            start: LinearConfig::new(d, 1).init(device),
            end: LinearConfig::new(d, 1).init(device),
            gate_pool: pool(),
            gate: LinearConfig::new(d, 1).init(device),
        }
    }
}

impl DgcnnReader {
    fn embed(&self, chars: Tensor<2, Int>, words: Tensor<2, Int>) -> Tensor<3> {
        let x = self.chars.forward(chars).add(self.words.forward(words));
        self.dropout.forward(x)
    }

    /// Start and end probabilities of every passage position.
    pub fn forward(&self, input: ReaderInput) -> ReaderOutput {
        let q = self.embed(input.question_chars, input.question_words);
        let q = self.question.forward(q, &input.question_mask);
        let q = self.question_pool.forward(q, &input.question_mask);
        let p = self.embed(input.passage_chars, input.passage_words);
        let [batch, len, d] = p.dims();
        let q = q.unsqueeze_dim::<3>(1).expand([batch, len, d]);
        let p = self
            .merge
            .forward(Tensor::cat(vec![p, q, input.passage_features], 2));
        let p = self.passage.forward(p, &input.passage_mask);
        let gate = sigmoid(
            self.gate
                .forward(self.gate_pool.forward(p.clone(), &input.passage_mask)),
        );
        let real = input.passage_mask.float();
        let gated = |head: &Linear| {
            sigmoid(head.forward(p.clone()).reshape([batch, len]))
                .mul(gate.clone())
                .mul(real.clone())
        };
        ReaderOutput {
            start: gated(&self.start),
            end: gated(&self.end),
        }
    }
}

/// Focal loss (Lin et al. 2017, γ = 2) of probabilities `p` against 0/1 `labels`, averaged
/// over the real positions of `mask`: −(1−p)²·y·log p − p²·(1−y)·log(1−p). Down-weights the
/// many easy "not here" positions of a passage.
pub fn focal_loss(p: Tensor<2>, labels: Tensor<2>, mask: Tensor<2>) -> Tensor<1> {
    let eps = 1e-7;
    let p = p.clamp(eps, 1.0 - eps);
    let one_minus = p.clone().neg().add_scalar(1.0);
    let positive = one_minus
        .clone()
        .powi_scalar(2)
        .mul(p.clone().log())
        .mul(labels.clone());
    let negative = p
        .powi_scalar(2)
        .mul(one_minus.log())
        .mul(labels.neg().add_scalar(1.0));
    let per_position = positive.add(negative).neg().mul(mask.clone());
    per_position.sum().div(mask.sum().clamp_min(1.0))
}
