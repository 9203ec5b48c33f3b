//! The LSTM seq2seq model: the copy prior against its formula by hand, right padding that
//! changes nothing, a backward encoder direction that reads each row from its own end, and
//! step-by-step decoding equal to teacher forcing.

use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_core::padding::{PadOptions, pad_to_tensor};
use nlp_models::lstm_seq2seq::{LstmSeq2Seq, LstmSeq2SeqConfig, START};

const V: usize = 12;

fn model(device: &Device) -> LstmSeq2Seq {
    device.seed(7);
    LstmSeq2SeqConfig::new(V)
        .with_d_embed(8)
        .with_d_hidden(6)
        .init(device)
}

fn ids(rows: &[&[usize]], device: &Device) -> (Tensor<2, Int>, Vec<usize>) {
    let seqs: Vec<Vec<i64>> = rows
        .iter()
        .map(|r| r.iter().map(|&x| x as i64).collect())
        .collect();
    let lengths = rows.iter().map(|r| r.len()).collect();
    (pad_to_tensor(&seqs, PadOptions::default(), device), lengths)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn with_a_silent_network_the_logits_are_half_the_copy_prior() {
    let device = Device::default();
    let mut m = model(&device);
    // burn's Linear weight is [d_input, d_output].
    let [d_in, d_out] = m.output.weight.dims();
    m.output.weight = Param::from_tensor(Tensor::zeros([d_in, d_out], &device));
    m.output.bias = Some(Param::from_tensor(Tensor::zeros([d_out], &device)));
    let s: Vec<f32> = (0..V).map(|v| 1.0 + v as f32).collect();
    let t: Vec<f32> = (0..V).map(|v| -0.5 * v as f32).collect();
    m.prior_scale = Param::from_tensor(Tensor::from_data(TensorData::new(s.clone(), [V]), &device));
    m.prior_bias = Param::from_tensor(Tensor::from_data(TensorData::new(t.clone(), [V]), &device));
    let (src, len) = ids(&[&[5, 9, 5, 4], &[7]], &device);
    let mut memory = m.encode(src, &len);
    let (inputs, _) = ids(&[&[START, 6], &[START, 6]], &device);
    let logits = values(m.decode(&mut memory, inputs));
    for (row, present) in [[4usize, 5, 9].as_slice(), &[7]].iter().enumerate() {
        for step in 0..2 {
            for v in 0..V {
                let chi = if present.contains(&v) { 1.0 } else { 0.0 };
                let want = (s[v] * chi + t[v]) / 2.0;
                let got = logits[(row * 2 + step) * V + v];
                assert!(
                    (got - want).abs() < 1e-6,
                    "row {row} step {step} id {v}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn right_padding_changes_nothing_and_the_backward_direction_reads_from_each_rows_end() {
    let device = Device::default();
    let m = model(&device);
    let short: &[usize] = &[4, 8, 5];
    let (alone, len) = ids(&[short], &device);
    let (batch, lens) = ids(&[&[6, 7, 8, 9, 10, 11, 4], short], &device);
    let a = m.encode(alone, &len);
    let b = m.encode(batch, &lens);
    let enc_alone = values(a.encoded.clone());
    let enc_batch = values(b.encoded.clone().slice([1..2, 0..3]));
    for (x, y) in enc_alone.iter().zip(&enc_batch) {
        assert!(
            (x - y).abs() < 1e-5,
            "encoder output moved by padding: {x} vs {y}"
        );
    }
    let (inputs, _) = ids(&[&[START, 5, 8]], &device);
    let (inputs2, _) = ids(&[&[START, 5, 8], &[START, 5, 8]], &device);
    let la = values(m.decode(&mut a.clone(), inputs));
    let lb = values(m.decode(&mut b.clone(), inputs2).narrow(0, 1, 1));
    for (x, y) in la.iter().zip(&lb) {
        assert!((x - y).abs() < 1e-5, "logits moved by padding: {x} vs {y}");
    }
    // In one encoder layer, changing the last character changes the backward half at
    // position 0 but not the forward half there (the forward direction has not read it yet).
    let mut one_layer = m.clone();
    one_layer.encoder_forward.truncate(1);
    one_layer.encoder_backward.truncate(1);
    let (same, len) = ids(&[short], &device);
    let (other, _) = ids(&[&[4, 8, 9]], &device);
    let first = values(one_layer.encode(same, &len).encoded.slice([0..1, 0..1]));
    let c = values(one_layer.encode(other, &len).encoded.slice([0..1, 0..1]));
    let forward_same = (0..3).all(|i| (first[i] - c[i]).abs() < 1e-7);
    let backward_moved = (3..6).any(|i| (first[i] - c[i]).abs() > 1e-5);
    assert!(forward_same && backward_moved, "{first:?} vs {c:?}");
}

#[test]
fn decoding_one_token_at_a_time_equals_teacher_forcing() {
    let device = Device::default();
    let m = model(&device);
    let (src, len) = ids(&[&[4, 5, 6, 7, 8], &[9, 10]], &device);
    let memory = m.encode(src, &len);
    let (inputs, _) = ids(&[&[START, 4, 9, 11], &[START, 10, 10, 5]], &device);
    let full = values(m.decode(&mut memory.clone(), inputs.clone()));
    let mut stepwise = memory.clone();
    let mut steps = Vec::new();
    for t in 0..4 {
        let token = inputs.clone().slice([0..2, t..t + 1]);
        steps.push(m.decode(&mut stepwise, token));
    }
    let steps = values(Tensor::cat(steps, 1));
    for (x, y) in full.iter().zip(&steps) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}
