//! UniLM generation on a small random BERT: cached, batched decoding gives the tokens of a
//! full recompute of every sequence alone at every step (the bert4keras way), for greedy, beam
//! and seeded sampling, with per-step log-probabilities within 1e-4.

use burn::tensor::Device;
use nlp_models::bert::{Bert, BertConfig, BertMode};
use nlp_tasks::generate::{
    BeamSettings, Constraints, GenerationConfig, Hypothesis, SampleSettings, Strategy, generate,
};
use nlp_tasks::seq2seq::UnilmGenerator;

const VOCAB: usize = 40;
const END: usize = 3;

fn random_unilm() -> Bert {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(21);
    let mut bert = BertConfig::new(VOCAB, 32, 2, 4, 64)
        .with_max_position_embeddings(40)
        .with_mode(BertMode::Unilm)
        .with_with_mlm(true)
        .init(&device);
    // BERT's N(0, 0.02) start gives nearly flat distributions; sharper ones make the searches
    // take different paths (and near-ties, where rounding could flip a choice, rare).
    bert.embeddings.word_embeddings.weight = bert
        .embeddings
        .word_embeddings
        .weight
        .clone()
        .map(|w| w.mul_scalar(10.0));
    // Parameters are drawn when first used: use them all while holding the generator.
    let ids = burn::tensor::Tensor::<2, burn::tensor::Int>::zeros([1, 2], &device);
    let _ = bert.forward(nlp_models::bert::BertInput::new(ids));
    bert
}

/// `[CLS]=1 … [SEP]=2` sources of lengths 3 to 11.
fn sources() -> Vec<Vec<usize>> {
    (0..5)
        .map(|i| {
            let mut s = vec![1];
            s.extend((0..1 + 2 * i).map(|j| 4 + (i * 7 + j * 5) % (VOCAB - 4)));
            s.push(2);
            s
        })
        .collect()
}

fn assert_same(cached: &[Vec<Hypothesis>], full: &[Vec<Hypothesis>], what: &str) {
    assert_eq!(cached.len(), full.len());
    for (s, (a, b)) in cached.iter().zip(full).enumerate() {
        assert_eq!(a.len(), b.len(), "{what} source {s}");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.tokens, y.tokens, "{what} source {s}");
            for (p, q) in x.step_log_probs.iter().zip(&y.step_log_probs) {
                assert!((p - q).abs() < 1e-4, "{what} source {s}: {p} vs {q}");
            }
        }
    }
}

#[test]
fn cached_batched_decoding_equals_full_recompute_of_each_source_alone() {
    let unilm = random_unilm();
    // The same weights as a causal decoder (LM mode, every token in segment 0).
    let lm = unilm.clone().with_mode(BertMode::Lm);
    for bert in [unilm, lm] {
        check_cached_against_full(&bert);
    }
}

fn check_cached_against_full(bert: &Bert) {
    let cached = UnilmGenerator::new(bert).unwrap();
    let full = UnilmGenerator::new(bert).unwrap().without_cache();
    let sources = sources();
    let strategies = [
        ("greedy", Strategy::Greedy),
        (
            "beam",
            Strategy::Beam(BeamSettings {
                n_best: 2,
                ..BeamSettings::new(3)
            }),
        ),
        (
            "sample",
            Strategy::Sample(SampleSettings {
                samples: 2,
                top_k: 8,
                ..SampleSettings::new(7)
            }),
        ),
    ];
    for (what, strategy) in strategies {
        let mut config = GenerationConfig::new(strategy, 10, vec![END]);
        config.min_len = 2;
        let batched = generate(&cached, &sources, &config, Constraints::none()).unwrap();
        // Every source alone, recomputed in full at each step. Sampling draws from one seeded
        // generator over all rows, so its reference is the full recompute of the same batch.
        let reference: Vec<Vec<Hypothesis>> = match strategy {
            Strategy::Sample(_) => generate(&full, &sources, &config, Constraints::none()).unwrap(),
            _ => sources
                .iter()
                .map(|s| {
                    let one = std::slice::from_ref(s);
                    generate(&full, one, &config, Constraints::none())
                        .unwrap()
                        .remove(0)
                })
                .collect(),
        };
        assert_same(&batched, &reference, what);
        if what == "greedy" {
            // The outputs depend on the source (the check is not passed by ignoring it).
            let distinct: std::collections::BTreeSet<&Vec<usize>> =
                batched.iter().map(|h| &h[0].tokens).collect();
            assert!(
                distinct.len() >= 3,
                "greedy outputs barely differ: {distinct:?}"
            );
        }
        let lengths: Vec<usize> = batched.iter().map(|h| h[0].tokens.len()).collect();
        assert!(
            lengths.iter().all(|&n| n >= 2),
            "{what}: min_len ignored: {lengths:?}"
        );
    }
}

#[test]
fn generation_needs_a_unilm_or_lm_bert_with_its_head_and_room_for_the_positions() {
    let bert = random_unilm();
    assert!(UnilmGenerator::new(&bert.clone().with_mode(BertMode::Encoder)).is_err());
    let mut headless = bert.clone();
    headless.mlm = None;
    assert!(UnilmGenerator::new(&headless).is_err());
    // 35 source tokens + 10 new ones do not fit 40 positions: an error, not a panic.
    let long = vec![(0..35).map(|i| 4 + i % 30).collect::<Vec<usize>>()];
    let config = GenerationConfig::new(Strategy::Greedy, 10, vec![END]);
    let mut config_no_end = config.clone();
    config_no_end.banned = vec![END];
    for generator in [
        UnilmGenerator::new(&bert).unwrap(),
        UnilmGenerator::new(&bert).unwrap().without_cache(),
    ] {
        let err = generate(&generator, &long, &config_no_end, Constraints::none()).unwrap_err();
        assert!(err.to_string().contains("positions"), "{err}");
    }
}

#[test]
fn the_unilm_loss_is_the_teacher_forced_nll_of_the_incremental_decoder() {
    use nlp_tasks::generate::StepModel;
    use nlp_tasks::seq2seq::{Seq2SeqExample, unilm_loss};

    let bert = random_unilm();
    let examples: Vec<Seq2SeqExample> = sources()
        .into_iter()
        .enumerate()
        .map(|(i, source)| Seq2SeqExample {
            source,
            target: (0..1 + i)
                .map(|j| 4 + (i * 3 + j * 11) % 30)
                .chain([2])
                .collect(),
        })
        .collect();
    let refs: Vec<&Seq2SeqExample> = examples.iter().collect();
    let loss = f64::from(unilm_loss(&bert, &refs).into_scalar::<f32>());
    // The same quantity through the cached decoder: feed each target token after the source
    // and read -log p of the token that follows, summed over all targets.
    let generator = UnilmGenerator::new(&bert).unwrap();
    let (mut total, mut count) = (0.0f64, 0usize);
    for e in &examples {
        let (mut state, mut logits) = generator.prefill(std::slice::from_ref(&e.source)).unwrap();
        for (k, &t) in e.target.iter().enumerate() {
            let max = logits.iter().copied().fold(f32::MIN, f32::max) as f64;
            let log_sum = logits
                .iter()
                .map(|&l| (l as f64 - max).exp())
                .sum::<f64>()
                .ln()
                + max;
            total -= logits[t] as f64 - log_sum;
            count += 1;
            if k + 1 < e.target.len() {
                logits = generator.step(&mut state, &[t]).unwrap();
            }
        }
    }
    let expected = total / count as f64;
    assert!((loss - expected).abs() < 1e-4, "{loss} vs {expected}");
}
