use burn::module::Param;
use burn::tensor::Bool;
use nlp_core::crf::{CrfConfig, CrfConstraints, FORBIDDEN};
use nlp_core::mask;

use crate::{device, float_tensor, floats, ints_tensor, pseudo_random};

/// Every tag path of length `n` over `k` tags.
fn all_paths(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0..k.pow(n as u32))
        .map(|mut code| {
            (0..n)
                .map(|_| {
                    let t = code % k;
                    code /= k;
                    t
                })
                .collect()
        })
        .collect()
}

struct Scores {
    emit: Vec<f32>,
    trans: Vec<f32>,
    start: Vec<f32>,
    end: Vec<f32>,
    len: usize,
    k: usize,
}

impl Scores {
    fn path(&self, b: usize, path: &[usize]) -> f64 {
        let k = self.k;
        let e = |t: usize, j: usize| self.emit[(b * self.len + t) * k + j] as f64;
        let mut s = self.start[path[0]] as f64 + self.end[*path.last().unwrap()] as f64;
        for (t, &j) in path.iter().enumerate() {
            s += e(t, j);
            if t > 0 {
                s += self.trans[path[t - 1] * k + j] as f64;
            }
        }
        s
    }
}

fn random_crf(k: usize, start_end: bool, m: f64) -> nlp_core::crf::Crf {
    let dev = device();
    let mut crf = CrfConfig::new(k)
        .with_lr_multiplier(m)
        .with_start_end(start_end)
        .init(&dev);
    if start_end {
        crf.raw_start = Some(Param::from_tensor(float_tensor(
            pseudo_random(k, 21),
            [k],
            &dev,
        )));
        crf.raw_end = Some(Param::from_tensor(float_tensor(
            pseudo_random(k, 22),
            [k],
            &dev,
        )));
    }
    crf
}

fn check_against_brute_force(crf: &nlp_core::crf::Crf, lengths: &[usize], seed: u64) {
    let dev = device();
    let k = crf.num_tags;
    let batch = lengths.len();
    let len = *lengths.iter().max().unwrap();
    let emit = pseudo_random(batch * len * k, seed)
        .iter()
        .map(|v| v * 3.0)
        .collect::<Vec<_>>();
    let gold: Vec<i64> = pseudo_random(batch * len, seed + 1)
        .iter()
        .map(|v| (((v + 1.0) / 2.0 * k as f32) as i64).clamp(0, k as i64 - 1))
        .collect();
    let mask: burn::tensor::Tensor<2, Bool> = mask::padding_from_lengths(lengths, len, &dev);
    let emissions = float_tensor(emit.clone(), [batch, len, k], &dev);
    let nll = floats(crf.nll(
        emissions.clone(),
        ints_tensor(gold.clone(), [batch, len], &dev),
        mask.clone(),
    ));
    let decoded = crf.decode(emissions, mask);
    let scores = Scores {
        emit,
        trans: floats(crf.transitions()),
        start: floats(crf.start_scores()),
        end: floats(crf.end_scores()),
        len,
        k,
    };
    for (b, &n) in lengths.iter().enumerate() {
        let paths = all_paths(n, k);
        let all: Vec<f64> = paths.iter().map(|p| scores.path(b, p)).collect();
        let max = all.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let log_z = max + all.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
        let gold_path: Vec<usize> = gold[b * len..b * len + n]
            .iter()
            .map(|&t| t as usize)
            .collect();
        let expected = log_z - scores.path(b, &gold_path);
        assert!(
            (nll[b] as f64 - expected).abs() < 1e-3 * expected.abs().max(1.0),
            "length {n}: nll {} vs brute force {expected}",
            nll[b]
        );
        let best = paths
            .iter()
            .zip(&all)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(&decoded[b], best, "viterbi of sequence {b} (length {n})");
    }
}

#[test]
fn nll_and_viterbi_equal_brute_force() {
    check_against_brute_force(&random_crf(3, false, 1.0), &[4, 2, 1, 3], 31);
    check_against_brute_force(&random_crf(4, true, 1.0), &[5, 3, 1], 41);
    check_against_brute_force(&random_crf(3, true, 10.0), &[4, 4], 51);
}

#[test]
fn constrained_decoding_never_takes_forbidden_paths() {
    let tags = ["O", "B-X", "I-X", "B-Y", "I-Y"];
    let constraints = CrfConstraints::bio(&tags);
    assert!(!constraints.allowed_start[2], "I-X cannot start");
    let allowed = |from: usize, to: usize| constraints.allowed_transitions[from * tags.len() + to];
    assert!(!allowed(0, 2), "O → I-X is forbidden");
    assert!(!allowed(1, 4), "B-X → I-Y is forbidden");
    assert!(allowed(1, 2), "B-X → I-X is allowed");
    let crf = random_crf(5, false, 1.0)
        .with_constraints(constraints.clone())
        .unwrap();
    // Brute force still agrees (forbidden paths have FORBIDDEN scores added).
    check_against_brute_force(&crf, &[4, 3], 61);
    let dev = device();
    // Emissions that strongly prefer I-X everywhere: the decoded path must start B-X.
    let mut emit = vec![0.0f32; 4 * 5];
    for t in 0..4 {
        emit[t * 5 + 2] = 5.0;
    }
    let path = &crf.decode(
        float_tensor(emit, [1, 4, 5], &dev),
        mask::padding_from_lengths(&[4], 4, &dev),
    )[0];
    assert!(constraints.allowed_start[path[0]]);
    for w in path.windows(2) {
        assert!(allowed(w[0], w[1]), "took forbidden {w:?}");
    }
    const { assert!(FORBIDDEN < -1000.0) };
}

#[test]
fn lr_multiplier_scales_raw_transitions() {
    let crf = random_crf(3, false, 100.0);
    let raw = floats(crf.raw_transitions.val());
    let trans = floats(crf.transitions());
    for (r, t) in raw.iter().zip(&trans) {
        assert!((r * 100.0 - t).abs() < 1e-5);
    }
}

#[test]
fn bad_constraints_are_an_error() {
    let crf = random_crf(3, false, 1.0);
    let bad = CrfConstraints {
        allowed_start: vec![true; 2],
        allowed_transitions: vec![true; 9],
        allowed_end: vec![true; 3],
    };
    let err = crf.with_constraints(bad).unwrap_err();
    assert!(err.to_string().contains("allowed_start"), "{err}");
}
