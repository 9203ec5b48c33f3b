//! UniLM generation on BERT ("从语言模型到Seq2Seq：Transformer如戏，全靠Mask"): the input is
//! `[CLS] source [SEP]` in segment 0, the target grows in segment 1, and the UniLM mask lets
//! the source attend to itself and each target token to the source and the target before it.
//!
//! A BERT in LM mode (a causal decoder, as transformers' `BertLMHeadModel`) generates the same
//! way, its prompt read causally and every token in segment 0.
//!
//! With the key/value cache (the default) the sources are encoded once and every step feeds
//! one token per row; beams of a source copy its cached keys and values instead of recomputing
//! them. Without it every step re-runs the whole sequence (what bert4keras does), which gives
//! the same tokens and is kept for comparison.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use nlp_models::bert::{Bert, BertCache, BertInput, BertMlmHead, BertMode};

use crate::error::{Error, Result};
use crate::generate::StepModel;

/// A UniLM (or LM-mode) BERT as a [`StepModel`]. Sources are token ids `[CLS] source [SEP]`
/// (or any prompt in LM mode).
pub struct UnilmGenerator {
    encoder: Bert,
    head: BertMlmHead,
    cached: bool,
    /// Segment id of generated tokens: 1 in UniLM mode, 0 in LM mode.
    target_segment: i64,
    device: Device,
}

/// What [`UnilmGenerator`] keeps between steps.
pub enum UnilmState {
    /// Per-layer keys and values of everything fed so far, and each row's next position.
    Cached {
        /// The cache.
        cache: Box<BertCache>,
        /// Position id of each row's next token (sources of different lengths share the
        /// padded cache, each row continues at its own position).
        next_position: Vec<usize>,
    },
    /// Every row's tokens so far, re-run in full at each step.
    Full {
        /// Source then target ids of each row.
        sequences: Vec<Vec<usize>>,
        /// Length of each row's source.
        source_lens: Vec<usize>,
    },
}

impl UnilmGenerator {
    /// Generate with `bert`, which must be in UniLM or LM mode and have its MLM head.
    pub fn new(bert: &Bert) -> Result<Self> {
        let target_segment = match bert.mode {
            BertMode::Unilm => 1,
            BertMode::Lm => 0,
            other => {
                return Err(Error::Generation(format!(
                    "generation needs a BERT in Unilm or Lm mode, not {other:?}"
                )));
            }
        };
        let mut encoder = bert.clone();
        let head = encoder
            .mlm
            .take()
            .ok_or_else(|| Error::Generation("UniLM generation needs the MLM head".into()))?;
        encoder.pooler = None;
        encoder.nsp = None;
        let device = bert.embeddings.word_embeddings.weight.device();
        Ok(Self {
            encoder,
            head,
            cached: true,
            target_segment,
            device,
        })
    }

    /// Re-run the whole sequence at every step instead of using the key/value cache.
    pub fn without_cache(mut self) -> Self {
        self.cached = false;
        self
    }

    fn max_positions(&self) -> usize {
        self.encoder
            .embeddings
            .position_embeddings
            .table
            .weight
            .dims()[0]
    }

    fn ints(&self, values: Vec<i64>, rows: usize) -> Tensor<2, Int> {
        let cols = values.len() / rows.max(1);
        Tensor::from_data(TensorData::new(values, [rows, cols]), &self.device)
    }

    /// Logits `[rows × V]` on the host from `hidden: [rows, len, H]` at `positions[r]`.
    fn logits_at(&self, hidden: Tensor<3>, positions: &[usize]) -> Result<Vec<f32>> {
        let [rows, _, width] = hidden.dims();
        let index = self
            .ints(positions.iter().map(|&p| p as i64).collect(), rows)
            .unsqueeze_dim::<3>(2)
            .expand([rows, 1, width]);
        let last = hidden.gather(1, index);
        let embedding = self.encoder.embeddings.word_embeddings.weight.val();
        let logits = self.head.forward(last, embedding);
        logits
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| Error::Generation(format!("logits: {e:?}")))
    }

    /// Run `sequences` (right-padded) in full, segment 1 after each source; logits at each
    /// row's last token.
    fn run_full(&self, sequences: &[Vec<usize>], source_lens: &[usize]) -> Result<Vec<f32>> {
        let rows = sequences.len();
        let len = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if len > self.max_positions() {
            return Err(self.too_long(len));
        }
        let pad = self.encoder.pad_id as i64;
        let mut ids = Vec::with_capacity(rows * len);
        let mut types = Vec::with_capacity(rows * len);
        let mut real = Vec::with_capacity(rows * len);
        for (seq, &source) in sequences.iter().zip(source_lens) {
            for i in 0..len {
                ids.push(seq.get(i).map_or(pad, |&t| t as i64));
                types.push(i64::from(i >= source && i < seq.len()) * self.target_segment);
                real.push(i < seq.len());
            }
        }
        let padding = self.mask(real, rows);
        let out = self.encoder.forward(
            BertInput::new(self.ints(ids, rows))
                .token_types(self.ints(types, rows))
                .padding(padding),
        );
        let last: Vec<usize> = sequences.iter().map(|s| s.len() - 1).collect();
        self.logits_at(out.last_hidden_state, &last)
    }

    /// A `[rows, len]` mask from booleans, always made the same way (by comparison): Flex
    /// stores masks from comparisons and from `Tensor::full` as different element types, and
    /// the cache cannot concatenate the two.
    fn mask(&self, values: Vec<bool>, rows: usize) -> Tensor<2, Bool> {
        self.ints(values.into_iter().map(i64::from).collect(), rows)
            .greater_elem(0)
    }

    fn too_long(&self, len: usize) -> Error {
        Error::Generation(format!(
            "a sequence of {len} tokens exceeds the model's {} positions",
            self.max_positions()
        ))
    }
}

impl StepModel for UnilmGenerator {
    type State = UnilmState;

    fn vocab_size(&self) -> usize {
        self.encoder.vocab_size()
    }

    fn prefill(&self, sources: &[Vec<usize>]) -> Result<(UnilmState, Vec<f32>)> {
        if let Some(i) = sources.iter().position(Vec::is_empty) {
            return Err(Error::Generation(format!("source {i} is empty")));
        }
        let source_lens: Vec<usize> = sources.iter().map(Vec::len).collect();
        if !self.cached {
            let logits = self.run_full(sources, &source_lens)?;
            let state = UnilmState::Full {
                sequences: sources.to_vec(),
                source_lens,
            };
            return Ok((state, logits));
        }
        let rows = sources.len();
        let len = source_lens.iter().copied().max().unwrap_or(0);
        if len > self.max_positions() {
            return Err(self.too_long(len));
        }
        let pad = self.encoder.pad_id as i64;
        let ids: Vec<i64> = sources
            .iter()
            .flat_map(|s| (0..len).map(move |i| s.get(i).map_or(pad, |&t| t as i64)))
            .collect();
        let real: Vec<bool> = source_lens
            .iter()
            .flat_map(|&n| (0..len).map(move |i| i < n))
            .collect();
        let padding = self.mask(real, rows);
        let mut cache = BertCache::new();
        let out = self.encoder.forward_cached(
            BertInput::new(self.ints(ids, rows))
                .token_types(Tensor::zeros([rows, len], &self.device))
                .padding(padding),
            &mut cache,
        );
        let last: Vec<usize> = source_lens.iter().map(|n| n - 1).collect();
        let logits = self.logits_at(out.last_hidden_state, &last)?;
        let state = UnilmState::Cached {
            cache: Box::new(cache),
            next_position: source_lens,
        };
        Ok((state, logits))
    }

    fn step(&self, state: &mut UnilmState, tokens: &[usize]) -> Result<Vec<f32>> {
        match state {
            UnilmState::Full {
                sequences,
                source_lens,
            } => {
                for (seq, &t) in sequences.iter_mut().zip(tokens) {
                    seq.push(t);
                }
                self.run_full(sequences, source_lens)
            }
            UnilmState::Cached {
                cache,
                next_position,
            } => {
                let rows = tokens.len();
                if let Some(&p) = next_position.iter().max()
                    && p >= self.max_positions()
                {
                    return Err(self.too_long(p + 1));
                }
                let ids = self.ints(tokens.iter().map(|&t| t as i64).collect(), rows);
                let positions = self.ints(next_position.iter().map(|&p| p as i64).collect(), rows);
                let out = self.encoder.forward_cached(
                    BertInput::new(ids)
                        .token_types(Tensor::full([rows, 1], self.target_segment, &self.device))
                        .padding(self.mask(vec![true; rows], rows))
                        .positions(positions),
                    cache,
                );
                for p in next_position.iter_mut() {
                    *p += 1;
                }
                self.logits_at(out.last_hidden_state, &vec![0; rows])
            }
        }
    }

    fn select(&self, state: &mut UnilmState, rows: &[usize]) -> Result<()> {
        let pick = |v: &Vec<usize>| rows.iter().map(|&r| v[r]).collect::<Vec<usize>>();
        match state {
            UnilmState::Full {
                sequences,
                source_lens,
            } => {
                *sequences = rows.iter().map(|&r| sequences[r].clone()).collect();
                *source_lens = pick(source_lens);
            }
            UnilmState::Cached {
                cache,
                next_position,
            } => {
                let index: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
                let count = index.len();
                cache.select_batch(Tensor::from_data(
                    TensorData::new(index, [count]),
                    &self.device,
                ));
                *next_position = pick(next_position);
            }
        }
        Ok(())
    }
}
