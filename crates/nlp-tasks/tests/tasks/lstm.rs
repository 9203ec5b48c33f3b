//! The LSTM copy model through the shared decoder: greedy decoding equals a manual greedy
//! search that re-encodes and re-decodes the whole prefix at every step, and beam search over a
//! batch of sources (state rows reordered by `select`) equals beam search of each source alone.

use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::lstm_seq2seq::{END, LstmSeq2Seq, LstmSeq2SeqConfig, START};
use nlp_tasks::generate::{BeamSettings, Constraints, GenerationConfig, Strategy, generate};
use nlp_tasks::seq2seq::LstmGenerator;

const V: usize = 16;

fn model() -> LstmSeq2Seq {
    let device = Device::default();
    let _guard = crate::RNG.lock().unwrap();
    device.seed(11);
    LstmSeq2SeqConfig::new(V)
        .with_d_embed(8)
        .with_d_hidden(8)
        .init(&device)
}

fn sources() -> Vec<Vec<usize>> {
    vec![
        vec![4, 5, 6, 7, 8, 9],
        vec![10, 4],
        vec![12, 13, 14, 15, 11],
    ]
}

fn row(ids: &[usize], device: &Device) -> Tensor<2, Int> {
    let v = ids.iter().map(|&x| x as i64).collect();
    Tensor::from_data(TensorData::new(v, [1, ids.len()]), device)
}

/// Greedy search recomputing everything from the source at every step.
fn manual_greedy(m: &LstmSeq2Seq, source: &[usize], max_len: usize) -> Vec<usize> {
    let device = Device::default();
    let mut out = Vec::new();
    while out.len() < max_len {
        let mut memory = m.encode(row(source, &device), &[source.len()]);
        let mut inputs = vec![START];
        inputs.extend(&out);
        let logits = m.decode(&mut memory, row(&inputs, &device));
        let last: Vec<f32> = logits
            .slice([0..1, inputs.len() - 1..inputs.len()])
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let best = (0..V).fold(0, |b, v| if last[v] > last[b] { v } else { b });
        out.push(best);
        if best == END {
            break;
        }
    }
    out
}

#[test]
fn lstm_greedy_equals_full_recompute_and_batched_beams_equal_each_source_alone() {
    let m = model();
    let generator = LstmGenerator::new(&m);
    let greedy = GenerationConfig::new(Strategy::Greedy, 8, vec![END]);
    let out = generate(&generator, &sources(), &greedy, Constraints::none()).unwrap();
    let mut lengths = Vec::new();
    for (source, hyps) in sources().iter().zip(&out) {
        let want = manual_greedy(&m, source, 8);
        // The decoder's tokens leave out the end token.
        let trimmed: Vec<usize> = want.iter().copied().filter(|&t| t != END).collect();
        assert_eq!(hyps[0].tokens, trimmed, "source {source:?}");
        lengths.push(trimmed.len());
    }
    // The random model must produce real sequences for the comparison to mean anything.
    assert!(lengths.iter().sum::<usize>() >= 6, "{lengths:?}");
    let beam = GenerationConfig::new(
        Strategy::Beam(BeamSettings {
            n_best: 2,
            ..BeamSettings::new(3)
        }),
        8,
        vec![END],
    );
    let batched = generate(&generator, &sources(), &beam, Constraints::none()).unwrap();
    for (source, hyps) in sources().iter().zip(&batched) {
        let alone = generate(
            &generator,
            std::slice::from_ref(source),
            &beam,
            Constraints::none(),
        )
        .unwrap();
        assert_eq!(hyps.len(), alone[0].len());
        for (a, b) in hyps.iter().zip(&alone[0]) {
            assert_eq!(a.tokens, b.tokens, "source {source:?}");
            assert!((a.score - b.score).abs() < 1e-4);
        }
    }
}
