//! The LSTM copy model of `nlp-models` as a [`StepModel`]: sources are encoded once; each step
//! feeds one character per row through the decoder's recurrent state.

use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::lstm_seq2seq::{LstmMemory, LstmSeq2Seq, START};

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

    fn ints(&self, values: Vec<i64>, rows: usize, cols: usize) -> Tensor<2, Int> {
        Tensor::from_data(TensorData::new(values, [rows, cols]), &self.device)
    }

    /// Feed one token per row; the logits of the next one, row-major.
    fn feed(&self, memory: &mut LstmMemory, tokens: &[usize]) -> Result<Vec<f32>> {
        let rows = tokens.len();
        let input = self.ints(tokens.iter().map(|&t| t as i64).collect(), rows, 1);
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
        let width = sources.iter().map(Vec::len).max().unwrap_or(0);
        let ids = sources
            .iter()
            .flat_map(|s| (0..width).map(move |t| s.get(t).map_or(0, |&x| x as i64)))
            .collect();
        let lengths: Vec<usize> = sources.iter().map(Vec::len).collect();
        let mut memory = self
            .model
            .encode(self.ints(ids, sources.len(), width), &lengths);
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
