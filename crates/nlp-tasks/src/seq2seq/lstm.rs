//! The LSTM copy model of `nlp-models` as a [`StepModel`]: sources are encoded once; each step
//! feeds one character per row through the decoder's recurrent state.

use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_core::padding::{PadOptions, pad_to_tensor};
use nlp_models::lstm_seq2seq::{LstmMemory, LstmSeq2Seq, PAD, START};

use crate::error::{Error, Result};
use crate::generate::StepModel;

/// Decodes with an [`LstmSeq2Seq`] (sources and outputs are character ids of its vocabulary).
pub struct LstmGenerator<'a> {
    model: &'a LstmSeq2Seq,
    device: Device,
}

impl<'a> LstmGenerator<'a> {
    /// A generator over `model`.
    pub fn new(model: &'a LstmSeq2Seq) -> Self {
        let device = model.prior_bias.val().device();
        Self { model, device }
    }

    /// Feed one token per row; the logits of the next one, row-major.
    fn feed(&self, memory: &mut LstmMemory, tokens: &[usize]) -> Result<Vec<f32>> {
        let rows = tokens.len();
        let values = tokens.iter().map(|&t| t as i64).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(values, [rows, 1]), &self.device);
        self.model
            .decode(memory, input)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| Error::Generation(format!("logits: {e:?}")))
    }
}

impl StepModel for LstmGenerator<'_> {
    type State = LstmMemory;

    fn vocab_size(&self) -> usize {
        self.model.vocab_size()
    }

    fn prefill(&self, sources: &[Vec<usize>]) -> Result<(LstmMemory, Vec<f32>)> {
        if sources.iter().any(Vec::is_empty) {
            return Err(Error::Generation("an empty source".into()));
        }
        let ids: Vec<Vec<i64>> = sources
            .iter()
            .map(|s| s.iter().map(|&x| x as i64).collect())
            .collect();
        let lengths: Vec<usize> = sources.iter().map(Vec::len).collect();
        let padded = pad_to_tensor(&ids, PadOptions::default().value(PAD as i64), &self.device);
        let mut memory = self.model.encode(padded, &lengths);
        let logits = self.feed(&mut memory, &vec![START; sources.len()])?;
        Ok((memory, logits))
    }

    fn step(&self, state: &mut LstmMemory, tokens: &[usize]) -> Result<Vec<f32>> {
        self.feed(state, tokens)
    }

    fn select(&self, state: &mut LstmMemory, rows: &[usize]) -> Result<()> {
        let index = rows.iter().map(|&r| r as i64).collect::<Vec<_>>();
        let n = index.len();
        state.select(Tensor::from_data(TensorData::new(index, [n]), &self.device));
        Ok(())
    }
}
