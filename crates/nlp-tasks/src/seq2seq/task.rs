//! Title generation on the shared loop: a [`Seq2SeqModel`] (UniLM on BERT, or the LSTM copy
//! model) trains on [`Seq2SeqExample`]s and is scored on dev pairs by greedy decoding; batched
//! prediction for `eval` and `predict`.

use std::marker::PhantomData;

use burn::module::Module;
use burn::tensor::Tensor;
use nlp_models::bert::Bert;
use nlp_models::lstm_seq2seq::LstmSeq2Seq;

use super::codec::TitleCodec;
use super::loss::{Seq2SeqExample, lstm_loss, unilm_loss};
use super::lstm::LstmGenerator;
use super::metrics::TitleScores;
use super::pairs::Pair;
use super::unilm::UnilmGenerator;
use crate::error::{Error, Result};
use crate::generate::{Constraints, GenerationConfig, Hypothesis, Strategy, generate};
use crate::train::{Evaluation, TrainTask};

/// A model the title task trains and decodes.
pub trait Seq2SeqModel: Module {
    /// Mean cross-entropy per target token of a batch, `[1]`.
    fn loss(&self, batch: &[&Seq2SeqExample]) -> Tensor<1>;

    /// Decode `sources` with the shared search; `cached: false` re-runs every sequence in full
    /// at each step where the model has a cache to turn off.
    fn generate(
        &self,
        sources: &[Vec<usize>],
        config: &GenerationConfig,
        cached: bool,
    ) -> Result<Vec<Vec<Hypothesis>>>;
}

impl Seq2SeqModel for Bert {
    fn loss(&self, batch: &[&Seq2SeqExample]) -> Tensor<1> {
        unilm_loss(self, batch)
    }

    fn generate(
        &self,
        sources: &[Vec<usize>],
        config: &GenerationConfig,
        cached: bool,
    ) -> Result<Vec<Vec<Hypothesis>>> {
        let generator = UnilmGenerator::new(self)?;
        let generator = if cached {
            generator
        } else {
            generator.without_cache()
        };
        generate(&generator, sources, config, Constraints::none())
    }
}

impl Seq2SeqModel for LstmSeq2Seq {
    fn loss(&self, batch: &[&Seq2SeqExample]) -> Tensor<1> {
        lstm_loss(self, batch)
    }

    fn generate(
        &self,
        sources: &[Vec<usize>],
        config: &GenerationConfig,
        cached: bool,
    ) -> Result<Vec<Vec<Hypothesis>>> {
        if !cached {
            return Err(Error::Generation(
                "the LSTM carries its state from step to step; there is no cache to turn off \
                 (--no-cache is for UniLM)"
                    .into(),
            ));
        }
        generate(
            &LstmGenerator::new(self),
            sources,
            config,
            Constraints::none(),
        )
    }
}

/// Generate for every text of `sources` (batched by length, results in input order): the best
/// hypothesis, or all of them (n-best, samples) as `config` asks. An empty text gets no
/// output. `progress` hears the number of texts done after every batch.
pub fn generate_titles<M: Seq2SeqModel>(
    model: &M,
    codec: &TitleCodec,
    sources: &[&str],
    config: &GenerationConfig,
    cached: bool,
    batch_size: usize,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Vec<String>>> {
    let ids = sources
        .iter()
        .map(|s| codec.source(s))
        .collect::<Result<Vec<_>>>()?;
    let mut order: Vec<usize> = (0..ids.len()).filter(|&i| !ids[i].is_empty()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let mut out = vec![Vec::new(); ids.len()];
    let mut done = ids.len() - order.len();
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<Vec<usize>> = chunk.iter().map(|&i| ids[i].clone()).collect();
        for (&i, hypotheses) in chunk.iter().zip(model.generate(&batch, config, cached)?) {
            out[i] = hypotheses.iter().map(|h| codec.text(&h.tokens)).collect();
        }
        done += chunk.len();
        progress(done);
    }
    Ok(out)
}

/// Scores of the titles `model` generates for `pairs` under `config` (first hypothesis).
pub fn score_titles<M: Seq2SeqModel>(
    model: &M,
    codec: &TitleCodec,
    pairs: &[Pair],
    config: &GenerationConfig,
    batch_size: usize,
    progress: impl FnMut(usize),
) -> Result<TitleScores> {
    let sources: Vec<&str> = pairs.iter().map(|p| p.src.as_str()).collect();
    let titles = generate_titles(model, codec, &sources, config, true, batch_size, progress)?;
    Ok(score_first(&titles, pairs))
}

/// Scores of the first output of each source (as [`generate_titles`] returns them) against
/// the titles of `pairs`; a source without output scores as the empty title.
pub fn score_first(outputs: &[Vec<String>], pairs: &[Pair]) -> TitleScores {
    TitleScores::score(
        outputs
            .iter()
            .zip(pairs)
            .map(|(t, p)| (t.first().map_or("", String::as_str), p.tgt.as_str())),
    )
}

/// Title generation for the shared loop: loss of the model, dev ROUGE-L of greedy titles.
pub struct TitleTask<'a, M> {
    /// Text ↔ ids.
    pub codec: &'a TitleCodec,
    /// Pairs decoded after every epoch.
    pub dev: &'a [Pair],
    /// Sources decoded together.
    pub batch_size: usize,
    /// The model type.
    pub model: PhantomData<M>,
}

impl<'a, M> TitleTask<'a, M> {
    /// A task scoring greedy titles of `dev`.
    pub fn new(codec: &'a TitleCodec, dev: &'a [Pair]) -> Self {
        Self {
            codec,
            dev,
            batch_size: 32,
            model: PhantomData,
        }
    }
}

impl<M: Seq2SeqModel> TrainTask for TitleTask<'_, M> {
    type Model = M;
    type Example = Seq2SeqExample;

    fn loss(&self, model: &M, batch: &[&Seq2SeqExample]) -> Tensor<1> {
        model.loss(batch)
    }

    fn evaluate(&self, model: &M) -> Result<Evaluation> {
        let config = self.codec.generation(Strategy::Greedy);
        let scores = score_titles(
            model,
            self.codec,
            self.dev,
            &config,
            self.batch_size,
            |_| {},
        )?;
        Ok(Evaluation {
            score: scores.rouge_l,
            report: format!("greedy on {} dev pairs: {scores}", scores.count),
        })
    }

    fn example_len(&self, example: &Seq2SeqExample) -> Option<usize> {
        Some(example.len())
    }
}
