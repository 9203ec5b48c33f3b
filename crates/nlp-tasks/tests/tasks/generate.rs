//! The shared decoder against a numpy reference search (`scripts/fixtures/make_generate_fixtures.py`)
//! over a small recurrent model both sides compute, and against hand-computed processor cases.

use nlp_tasks::Error;
use nlp_tasks::generate::{
    BeamSettings, Constraints, EarlyStopping, GenerationConfig, Hypothesis, SampleSettings,
    StepModel, Strategy, generate,
};
use serde_json::Value;

/// h₀ = tanh(mean(E[source]) C); logits = h B + D; h ← tanh(E[token] + h A).
struct Toy {
    vocab: usize,
    hidden: usize,
    e: Vec<f64>,
    a: Vec<f64>,
    c: Vec<f64>,
    b: Vec<f64>,
    d: Vec<f64>,
}

impl Toy {
    fn from_fixture(f: &Value) -> Self {
        let m = |k: &str| -> Vec<f64> {
            f[k].as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        Self {
            vocab: f["vocab"].as_u64().unwrap() as usize,
            hidden: f["hidden"].as_u64().unwrap() as usize,
            e: m("E"),
            a: m("A"),
            c: m("C"),
            b: m("B"),
            d: m("D"),
        }
    }

    /// `x [H] · w [H, cols]`.
    fn times(&self, x: &[f64], w: &[f64], cols: usize) -> Vec<f64> {
        (0..cols)
            .map(|j| (0..self.hidden).map(|i| x[i] * w[i * cols + j]).sum())
            .collect()
    }

    fn logits(&self, h: &[f64]) -> Vec<f32> {
        let hb = self.times(h, &self.b, self.vocab);
        hb.iter()
            .zip(&self.d)
            .map(|(&v, &d)| (v + d) as f32)
            .collect()
    }

    fn embedding(&self, t: usize) -> &[f64] {
        &self.e[t * self.hidden..(t + 1) * self.hidden]
    }
}

impl StepModel for Toy {
    type State = Vec<Vec<f64>>;

    fn vocab_size(&self) -> usize {
        self.vocab
    }

    fn prefill(&self, sources: &[Vec<usize>]) -> nlp_tasks::Result<(Self::State, Vec<f32>)> {
        let state: Vec<Vec<f64>> = sources
            .iter()
            .map(|s| {
                let mean: Vec<f64> = (0..self.hidden)
                    .map(|i| s.iter().map(|&t| self.embedding(t)[i]).sum::<f64>() / s.len() as f64)
                    .collect();
                self.times(&mean, &self.c, self.hidden)
                    .iter()
                    .map(|v| v.tanh())
                    .collect()
            })
            .collect();
        let logits = state.iter().flat_map(|h| self.logits(h)).collect();
        Ok((state, logits))
    }

    fn step(&self, state: &mut Self::State, tokens: &[usize]) -> nlp_tasks::Result<Vec<f32>> {
        assert_eq!(state.len(), tokens.len());
        for (h, &t) in state.iter_mut().zip(tokens) {
            let ha = self.times(h, &self.a, self.hidden);
            *h = (0..self.hidden)
                .map(|i| (self.embedding(t)[i] + ha[i]).tanh())
                .collect();
        }
        Ok(state.iter().flat_map(|h| self.logits(h)).collect())
    }

    fn select(&self, state: &mut Self::State, rows: &[usize]) -> nlp_tasks::Result<()> {
        *state = rows.iter().map(|&r| state[r].clone()).collect();
        Ok(())
    }
}

fn fixture() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/generate/search.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as usize)
        .collect()
}

fn setup() -> (Toy, Vec<Vec<usize>>, Vec<usize>) {
    let f = fixture();
    let sources = f["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(usizes)
        .collect();
    (Toy::from_fixture(&f), sources, usizes(&f["end_ids"]))
}

fn strategy(case: &Value) -> Strategy {
    match case["strategy"].as_str().unwrap() {
        "greedy" => Strategy::Greedy,
        _ => Strategy::Beam(BeamSettings {
            beams: case["beams"].as_u64().unwrap() as usize,
            length_penalty: case["length_penalty"].as_f64().unwrap(),
            early_stopping: match case["early_stopping"].as_str().unwrap() {
                "always" => EarlyStopping::Always,
                "heuristic" => EarlyStopping::Heuristic,
                _ => EarlyStopping::Never,
            },
            n_best: case["n_best"].as_u64().unwrap() as usize,
        }),
    }
}

#[test]
fn greedy_and_beam_search_match_the_numpy_reference_on_a_batch_of_sources() {
    let f = fixture();
    let (toy, sources, end_ids) = setup();
    for (c, case) in f["cases"].as_array().unwrap().iter().enumerate() {
        let mut config = GenerationConfig::new(
            strategy(case),
            case["max_len"].as_u64().unwrap() as usize,
            end_ids.clone(),
        );
        config.min_len = case["min_len"].as_u64().unwrap() as usize;
        // All sources in one call: the batch must not change any of them.
        let out = generate(&toy, &sources, &config, Constraints::none()).unwrap();
        for (s, (got, want)) in out
            .iter()
            .zip(case["expected"].as_array().unwrap())
            .enumerate()
        {
            let want = want.as_array().unwrap();
            assert_eq!(got.len(), want.len(), "case {c} source {s}: hypotheses");
            for (h, w) in got.iter().zip(want) {
                let what = format!("case {c} ({}) source {s}", case["strategy"]);
                assert_eq!(h.tokens, usizes(&w["tokens"]), "{what}: tokens");
                assert_eq!(
                    h.finished,
                    w["finished"].as_bool().unwrap(),
                    "{what}: finished"
                );
                assert!(
                    (h.score - w["score"].as_f64().unwrap()).abs() < 1e-6,
                    "{what}: score"
                );
                let lp = w["log_prob"].as_f64().unwrap();
                assert!((h.log_prob - lp).abs() < 1e-6, "{what}: log_prob");
                let sum: f64 = h.step_log_probs.iter().sum();
                assert!((sum - h.log_prob).abs() < 1e-9);
            }
        }
    }
}

fn first_log_probs(toy: &Toy, source: &[usize]) -> Vec<f64> {
    let (_, logits) = toy.prefill(&[source.to_vec()]).unwrap();
    let max = logits.iter().copied().fold(f32::MIN, f32::max) as f64;
    let log_sum = logits
        .iter()
        .map(|&l| (l as f64 - max).exp())
        .sum::<f64>()
        .ln()
        + max;
    logits.iter().map(|&l| l as f64 - log_sum).collect()
}

#[test]
fn samples_are_seeded_follow_the_softmax_and_top_k_one_is_greedy() {
    let (toy, sources, end_ids) = setup();
    let settings = SampleSettings {
        samples: 4000,
        ..SampleSettings::new(5)
    };
    // One token per sample: its frequencies are the softmax of the first logits.
    let config = GenerationConfig::new(Strategy::Sample(settings), 1, end_ids.clone());
    let out = generate(&toy, &sources[..1], &config, Constraints::none()).unwrap();
    assert_eq!(out[0].len(), 4000);
    let probs: Vec<f64> = first_log_probs(&toy, &sources[0])
        .iter()
        .map(|l| l.exp())
        .collect();
    let mut counts = vec![0.0; toy.vocab];
    for h in &out[0] {
        let t = h.tokens.first().copied().unwrap_or_else(|| {
            // An end token: find which from its log-probability.
            end_ids
                .iter()
                .copied()
                .find(|&e| (probs[e].ln() - h.log_prob).abs() < 1e-9)
                .unwrap()
        });
        counts[t] += 1.0 / 4000.0;
    }
    for (t, (&f, &p)) in counts.iter().zip(&probs).enumerate() {
        assert!(
            (f - p).abs() < 0.025,
            "token {t}: frequency {f} vs probability {p}"
        );
    }
    // Same seed, same samples; top-k 1 is greedy.
    let long = SampleSettings {
        samples: 3,
        top_p: 0.9,
        ..SampleSettings::new(8)
    };
    let config = GenerationConfig::new(Strategy::Sample(long), 8, end_ids.clone());
    let a = generate(&toy, &sources, &config, Constraints::none()).unwrap();
    let b = generate(&toy, &sources, &config, Constraints::none()).unwrap();
    assert_eq!(a, b);
    let top1 = SampleSettings {
        top_k: 1,
        samples: 2,
        ..SampleSettings::new(1)
    };
    let sampled = generate(
        &toy,
        &sources,
        &GenerationConfig::new(Strategy::Sample(top1), 8, end_ids.clone()),
        Constraints::none(),
    )
    .unwrap();
    let greedy = generate(
        &toy,
        &sources,
        &GenerationConfig::new(Strategy::Greedy, 8, end_ids),
        Constraints::none(),
    )
    .unwrap();
    for (s, g) in sampled.iter().zip(&greedy) {
        assert_eq!(s[0].tokens, g[0].tokens);
        assert_eq!(s[1].tokens, g[0].tokens);
    }
}

#[test]
fn top_p_keeps_the_smallest_head_reaching_p() {
    let (toy, sources, end_ids) = setup();
    let probs: Vec<f64> = first_log_probs(&toy, &sources[1])
        .iter()
        .map(|l| l.exp())
        .collect();
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    // p just above the top token's probability: the head is the top two tokens.
    let p = probs[order[0]] + 1e-3;
    let settings = SampleSettings {
        top_p: p,
        samples: 600,
        ..SampleSettings::new(3)
    };
    let config = GenerationConfig::new(Strategy::Sample(settings), 1, end_ids);
    let out = generate(&toy, &sources[1..2], &config, Constraints::none()).unwrap();
    let firsts: std::collections::BTreeSet<Option<usize>> =
        out[0].iter().map(|h| h.tokens.first().copied()).collect();
    let head: std::collections::BTreeSet<Option<usize>> = order[..2]
        .iter()
        .map(|&t| if t == 1 || t == 2 { None } else { Some(t) })
        .collect();
    assert_eq!(firsts, head);
}

#[test]
fn processors_ban_tokens_ngrams_and_restrict_to_allowed_tokens() {
    let (toy, sources, end_ids) = setup();
    let greedy = |config: &GenerationConfig, constraints| -> Vec<Hypothesis> {
        generate(&toy, &sources, config, constraints)
            .unwrap()
            .into_iter()
            .map(|mut h| h.remove(0))
            .collect()
    };
    let mut config = GenerationConfig::new(Strategy::Greedy, 12, end_ids.clone());
    let plain = greedy(&config, Constraints::none());
    // The plain outputs repeat bigrams ("4 0 0 5 7 4 0 0 5" in the reference) and use token 0.
    assert!(plain.iter().any(|h| h.tokens.contains(&0)));
    config.no_repeat_ngram_size = 2;
    for h in greedy(&config, Constraints::none()) {
        let bigrams: Vec<&[usize]> = h.tokens.windows(2).collect();
        let unique: std::collections::BTreeSet<&[usize]> = bigrams.iter().copied().collect();
        assert_eq!(
            unique.len(),
            bigrams.len(),
            "repeated bigram in {:?}",
            h.tokens
        );
    }
    config.no_repeat_ngram_size = 0;
    config.banned = vec![0, 4];
    for h in greedy(&config, Constraints::none()) {
        assert!(
            !h.tokens.iter().any(|t| [0, 4].contains(t)),
            "{:?}",
            h.tokens
        );
    }
    config.banned.clear();
    // Source s may only use tokens ≡ s (mod 3) and the end tokens.
    let allowed = |s: usize, _: &[usize]| {
        Some(
            (0..12)
                .filter(|t| t % 3 == s % 3 || *t == 1 || *t == 2)
                .collect(),
        )
    };
    for (s, h) in greedy(&config, Constraints::none().allowed(&allowed))
        .iter()
        .enumerate()
    {
        assert!(
            h.tokens.iter().all(|t| t % 3 == s % 3),
            "source {s}: {:?}",
            h.tokens
        );
    }
    let nothing = |_: usize, _: &[usize]| Some(Vec::new());
    let err = generate(
        &toy,
        &sources,
        &config,
        Constraints::none().allowed(&nothing),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Generation(_)) && err.to_string().contains("source 0"),
        "{err}"
    );
}

#[test]
fn repetition_penalty_divides_positive_and_multiplies_negative_logits() {
    let (toy, sources, end_ids) = setup();
    // After one token t, the second step's distribution is the processed logits' softmax:
    // check the recorded log-probability against the hand computation.
    let mut config = GenerationConfig::new(Strategy::Greedy, 2, end_ids);
    config.repetition_penalty = 2.0;
    let out = generate(&toy, &sources[..1], &config, Constraints::none()).unwrap();
    let h = &out[0][0];
    let (mut state, _) = toy.prefill(&sources[..1]).unwrap();
    let logits = toy.step(&mut state, &h.tokens[..1]).unwrap();
    let t = h.tokens[0];
    let mut hand: Vec<f64> = logits.iter().map(|&l| l as f64).collect();
    hand[t] = if hand[t] < 0.0 {
        hand[t] * 2.0
    } else {
        hand[t] / 2.0
    };
    let max = hand.iter().copied().fold(f64::MIN, f64::max);
    let log_sum = hand.iter().map(|l| (l - max).exp()).sum::<f64>().ln() + max;
    let second = h.tokens.get(1).copied().unwrap_or(0);
    if h.tokens.len() == 2 {
        assert!((h.step_log_probs[1] - (hand[second] - log_sum)).abs() < 1e-9);
    }
    let best = (0..hand.len())
        .max_by(|&a, &b| hand[a].total_cmp(&hand[b]))
        .unwrap();
    assert_eq!(
        h.tokens.get(1).copied().unwrap_or(usize::MAX),
        if [1, 2].contains(&best) {
            usize::MAX
        } else {
            best
        }
    );
}

#[test]
fn merged_sources_decode_one_output_from_the_merge_of_their_rows() {
    let (toy, sources, end_ids) = setup();
    let config = GenerationConfig::new(Strategy::Beam(BeamSettings::new(3)), 8, end_ids);
    let sources = &sources[..4];
    let alone = generate(&toy, sources, &config, Constraints::none()).unwrap();
    // Groups {0, 2} and {1, 3}; a merge that keeps the first row reproduces the first source
    // alone, one that keeps the last row the second.
    let groups = [7, 9, 7, 9];
    let first = |rows: &[Vec<f64>]| rows[0].clone();
    let last = |rows: &[Vec<f64>]| rows[rows.len() - 1].clone();
    let by_first = generate(
        &toy,
        sources,
        &config,
        Constraints::none().merge(&groups, &first),
    )
    .unwrap();
    let by_last = generate(
        &toy,
        sources,
        &config,
        Constraints::none().merge(&groups, &last),
    )
    .unwrap();
    assert_eq!(by_first.len(), 2);
    assert_eq!(by_first[0][0].tokens, alone[0][0].tokens);
    assert_eq!(by_first[1][0].tokens, alone[1][0].tokens);
    assert_eq!(by_last[0][0].tokens, alone[2][0].tokens);
    assert_eq!(by_last[1][0].tokens, alone[3][0].tokens);
    // Σp²/(1+Σp) over one source twice keeps its greedy choice (a monotone map of p).
    let twice = vec![sources[0].clone(), sources[0].clone()];
    let greedy = GenerationConfig::new(Strategy::Greedy, 8, config.end_ids.clone());
    let merged = generate(
        &toy,
        &twice,
        &greedy,
        Constraints::none().merge(&[0, 0], &nlp_tasks::generate::merge_squares),
    )
    .unwrap();
    let single = generate(&toy, &twice[..1], &greedy, Constraints::none()).unwrap();
    assert_eq!(merged[0][0].tokens, single[0][0].tokens);
}

#[test]
fn bad_settings_are_errors() {
    let (toy, sources, end_ids) = setup();
    let beam = BeamSettings {
        n_best: 4,
        ..BeamSettings::new(3)
    };
    for config in [
        GenerationConfig::new(Strategy::Beam(beam), 8, end_ids.clone()),
        GenerationConfig::new(Strategy::Greedy, 0, end_ids.clone()),
        GenerationConfig::new(Strategy::Greedy, 8, vec![99]),
        GenerationConfig::new(
            Strategy::Sample(SampleSettings {
                top_p: 0.0,
                ..SampleSettings::new(0)
            }),
            8,
            end_ids.clone(),
        ),
    ] {
        let err = generate(&toy, &sources, &config, Constraints::none()).unwrap_err();
        assert!(matches!(err, Error::Generation(_)), "{err}");
    }
}
