use std::path::PathBuf;

use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::bert::BertConfig;
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::Error;
use nlp_tasks::train::{TrainConfig, fit};
use nlp_tasks::triples::synthetic::{self, NamePools};
use nlp_tasks::triples::{
    BertTriples, DgcnnTriplesConfig, Sample, Schema, SchemaEntry, Thresholds, Triple,
    TripleMetrics, TripleModel, TriplesTask, UnitTriple, bce, build_examples, decode_objects,
    decode_subjects, find_first, gather_positions, load_samples, load_schema, locate, masked_mean,
    object_labels, sample_subject, subject_labels, to_text,
};
use nlp_tasks::units::{CharVocab, UnitEncoder, Units, spare_token_ids};

fn scratch(name: &str) -> PathBuf {
    crate::scratch_dir(&format!("triples-{name}"))
}

fn schema() -> Schema {
    Schema::new(
        ["出生地", "妻子", "出生地"]
            .iter()
            .map(|p| SchemaEntry {
                predicate: p.to_string(),
                subject_type: "人物".into(),
                object_type: String::new(),
            })
            .collect(),
    )
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn first_occurrence_spans_and_missing_entities() {
    assert_eq!(find_first(&[1, 2, 3, 2, 3], &[2, 3]), Some(1..3));
    assert_eq!(find_first(&[1, 2], &[2, 3]), None);
    assert_eq!(find_first::<i32>(&[1], &[]), None);
    let s = schema();
    assert_eq!(s.len(), 2, "duplicate predicates are dropped");
    assert_eq!(s.id("妻子"), Some(1));
    let sample = Sample {
        text: "李明和妻子王芳都出生于北京，李明爱北京。".into(),
        spo_list: vec![
            Triple::new("李明", "妻子", "王芳"),
            Triple::new("李明", "出生地", "北京"),
            Triple::new("王芳", "出生地", "北京"),
            Triple::new("张三", "出生地", "北京"),
            Triple::new("李明", "国籍", "中国"),
            Triple::new("李明", "妻子", "王芳"),
        ],
    };
    let located = locate(&sample, &s);
    // "北京" first occurs at characters 11..13, not at its second place 17..19.
    let spans: Vec<_> = located
        .triples
        .iter()
        .map(|t| (t.subject.clone(), t.predicate, t.object.clone()))
        .collect();
    assert_eq!(
        spans,
        vec![(0..2, 1, 5..7), (0..2, 0, 11..13), (5..7, 0, 11..13)]
    );
    assert_eq!(
        located.missing,
        vec![
            Triple::new("张三", "出生地", "北京"),
            Triple::new("李明", "国籍", "中国")
        ]
    );
}

#[test]
fn loader_reports_bad_lines_by_number() {
    let dir = scratch("loader");
    let schema_path = dir.join("schema.json");
    std::fs::write(
        &schema_path,
        "{\"predicate\":\"出生地\",\"subject_type\":\"人物\",\"object_type\":\"地点\"}\n\n",
    )
    .unwrap();
    let schema = load_schema(&schema_path).unwrap();
    assert_eq!(schema.len(), 1);
    let data = dir.join("train.json");
    let good = r#"{"text":"王芳出生于北京。","spo_list":[{"subject":"王芳","predicate":"出生地","object":"北京"}]}"#;
    std::fs::write(&data, format!("{good}\n\n{{\"text\": \"只有文本\"}}\n")).unwrap();
    let samples = load_samples(&data, &schema).unwrap();
    assert_eq!(samples.len(), 2);
    assert!(samples[1].spo_list.is_empty());
    std::fs::write(&data, format!("{good}\n{{\"text\": 3}}\n")).unwrap();
    let err = load_samples(&data, &schema).unwrap_err();
    assert!(matches!(err, Error::Line { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("train.json:2"), "{err}");
    std::fs::write(&data, format!("\n{}\n", good.replace("出生地", "国籍"))).unwrap();
    let err = load_samples(&data, &schema).unwrap_err();
    assert!(
        matches!(err, Error::Line { line: 2, ref message, .. } if message.contains("`国籍`")),
        "{err}"
    );
    std::fs::write(&data, b"\xff\n").unwrap();
    assert!(matches!(
        load_samples(&data, &schema).unwrap_err(),
        Error::Line { line: 1, .. }
    ));
    std::fs::write(&data, "\n \n").unwrap();
    assert!(matches!(
        load_samples(&data, &schema).unwrap_err(),
        Error::Empty { .. }
    ));
    assert!(matches!(
        load_samples(&dir.join("none.json"), &schema).unwrap_err(),
        Error::Io { .. }
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn examples_on_characters_with_truncation_reported() {
    let s = schema();
    let vocab = CharVocab::build(["李明王芳北京"], 1);
    let encoder = UnitEncoder::Chars { vocab, max_len: 8 };
    let samples = vec![
        Sample {
            text: "李明和妻子王芳都出生于北京。".into(),
            spo_list: vec![
                Triple::new("李明", "妻子", "王芳"),
                Triple::new("李明", "出生地", "北京"),
                Triple::new("赵四", "出生地", "北京"),
            ],
        },
        Sample {
            text: String::new(),
            spo_list: Vec::new(),
        },
    ];
    let (examples, report) = build_examples(&samples, &encoder, &s);
    assert_eq!(examples.len(), 1);
    assert_eq!(report.unencodable, 1);
    assert_eq!(
        (report.missing_triples, report.samples_with_missing),
        (1, 1)
    );
    assert_eq!(report.first_missing, vec![1]);
    // "北京" lies beyond the 8 kept characters.
    assert_eq!(report.unaligned_triples, 1);
    assert_eq!(
        examples[0].triples,
        vec![UnitTriple {
            subject: (0, 1),
            predicate: 1,
            object: (5, 6)
        }]
    );
    // 和, 妻, 子 are not in the vocabulary: unknown (1); 李 is id 2.
    assert_eq!(&examples[0].ids[..4], &[2, 3, 1, 1]);
}

#[test]
fn unit_spans_follow_token_offsets() {
    // [CLS] ab cd e [SEP] over the text "abcde" (tokens of 2, 2 and 1 characters).
    let units = Units {
        ids: vec![101, 7, 8, 9, 102],
        offsets: vec![0..0, 0..2, 2..4, 4..5, 0..0],
    };
    assert_eq!(units.unit_span(&(0..4)), Some((1, 2)));
    assert_eq!(units.unit_span(&(4..5)), Some((3, 3)));
    assert_eq!(units.unit_span(&(1..4)), None, "starts inside a token");
    assert_eq!(units.char_span(1, 3), Some(0..5));
    assert_eq!(units.char_span(0, 2), None, "special token");
    let schema = schema();
    let triples = [
        UnitTriple {
            subject: (1, 1),
            predicate: 1,
            object: (2, 3),
        },
        UnitTriple {
            subject: (0, 1),
            predicate: 0,
            object: (3, 3),
        },
    ];
    assert_eq!(
        to_text("abcde", &units, &triples, &schema),
        vec![Triple::new("ab", "妻子", "cde")]
    );
}

#[test]
fn subject_sampling_by_hand() {
    let tr = |s: (usize, usize), p: usize, o: (usize, usize)| UnitTriple {
        subject: s,
        predicate: p,
        object: o,
    };
    let triples = [
        tr((5, 7), 0, (1, 2)),
        tr((2, 3), 1, (9, 9)),
        tr((5, 5), 0, (0, 0)),
        tr((2, 3), 0, (6, 8)),
    ];
    // Starts {2, 5}; from 2, ends ≥ 2 are {3, 5, 7}.
    assert_eq!(sample_subject(&triples, 0.0, 0.0), Some((2, 3)));
    assert_eq!(sample_subject(&triples, 0.49, 0.5), Some((2, 5)));
    assert_eq!(sample_subject(&triples, 0.3, 0.99), Some((2, 7)));
    // From 5, ends ≥ 5 are {5, 7}.
    assert_eq!(sample_subject(&triples, 0.5, 0.0), Some((5, 5)));
    assert_eq!(sample_subject(&triples, 0.99, 0.5), Some((5, 7)));
    assert_eq!(sample_subject(&[], 0.5, 0.5), None);
    // Every draw is a (start, end) with start a subject start and end a subject end ≥ start.
    for k in 0..50 {
        let (a, b) = sample_subject(&triples, k as f64 / 50.0, (k * 7 % 50) as f64 / 50.0).unwrap();
        assert!([2, 5].contains(&a) && [3, 5, 7].contains(&b) && b >= a);
    }
    let s = subject_labels(10, &triples);
    let ones: Vec<usize> = (0..20).filter(|&i| s[i] == 1.0).collect();
    // Starts 2, 5 in column 0 (indices 4, 10); ends 3, 5, 7 in column 1 (7, 11, 15).
    assert_eq!(ones, vec![4, 7, 10, 11, 15]);
    // Objects of subject (2, 3): predicate 1 at 9..=9, predicate 0 at 6..=8 (2 predicates).
    let o = object_labels(10, 2, &triples, (2, 3));
    let ones: Vec<usize> = (0..40).filter(|&i| o[i] == 1.0).collect();
    // index = (position · 2 + predicate) · 2 + column
    assert_eq!(ones, vec![24, 33, 38, 39]);
    // A sampled pair that is no real subject has no object.
    assert!(
        object_labels(10, 2, &triples, (2, 5))
            .iter()
            .all(|&v| v == 0.0)
    );
}

#[test]
fn decoding_hand_made_probabilities() {
    let th = Thresholds {
        start: 0.6,
        end: 0.5,
    };
    // (start, end) per position.
    let probs = [
        0.7, 0.1, // 0: start
        0.2, 0.55, // 1: end
        0.65, 0.6, // 2: start and end
        0.59, 0.9, // 3: start just below threshold; end
        0.9, 0.2, // 4: start with no end after it
    ];
    assert_eq!(decode_subjects(&probs, 5, th), vec![(0, 1), (2, 2)]);
    // Only the first 2 positions are real: the start at 2 is not seen.
    assert_eq!(decode_subjects(&probs, 2, th), vec![(0, 1)]);
    // Objects [len 3, predicates 2, 2]: predicate 1 spans 0..=2, predicate 0 spans 1..=1.
    let mut o = vec![0.0f32; 12];
    // index = (position · 2 + predicate) · 2 + column
    o[2] = 0.8; // position 0, predicate 1, start
    o[11] = 0.7; // position 2, predicate 1, end
    o[4] = 0.61; // position 1, predicate 0, start
    o[5] = 0.51; // position 1, predicate 0, end
    o[9] = 0.49; // position 2, predicate 0, end below threshold
    assert_eq!(decode_objects(&o, 3, 2, th), vec![(0, (1, 1)), (1, (0, 2))]);
}

#[test]
fn metric_by_hand() {
    let mut m = TripleMetrics::new();
    let gold = [
        Triple::new("a", "p", "b"),
        Triple::new("a", "q", "c"),
        Triple::new("d", "p", "e"),
    ];
    let pred = [
        Triple::new("a", "p", "b"),
        Triple::new("a", "p", "b"),
        Triple::new("a", "q", "x"),
    ];
    m.update(&gold, &pred);
    let c = m.counts();
    assert_eq!((c.correct, c.predicted, c.gold), (1, 2, 3));
    assert!((c.precision() - 0.5).abs() < 1e-12);
    assert!((c.recall() - 1.0 / 3.0).abs() < 1e-12);
    assert!((c.f1() - 0.4).abs() < 1e-12);
    // Triples only match within their own text.
    m.update(&[], &[Triple::new("d", "p", "e")]);
    let c = m.counts();
    assert_eq!((c.correct, c.predicted, c.gold), (1, 3, 3));
}

#[test]
fn bce_masked_mean_and_gather_by_hand() {
    let dev = Device::flex();
    let p = Tensor::<2>::from_data(TensorData::new(vec![0.8f32, 0.25, 0.5, 0.0], [2, 2]), &dev);
    let y = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 1.0], [2, 2]), &dev);
    let l = bce(p, y).try_into_vec_as::<f32>().unwrap();
    let expected = [
        -(0.8f32).ln(),
        -(0.75f32).ln(),
        -(0.5f32).ln(),
        -(1e-7f32).ln(),
    ];
    for (a, b) in l.iter().zip(expected) {
        assert!((a - b).abs() < 1e-4, "{l:?}");
    }
    let loss = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 9.0], [2, 2]), &dev);
    let padding = nlp_core::mask::padding_from_lengths(&[2, 1], 2, &dev);
    let m = masked_mean(loss, padding).into_scalar::<f32>();
    assert!(close(m, 2.0), "{m}");
    let x = Tensor::<3>::from_data(
        TensorData::new((0..12).map(|v| v as f32).collect::<Vec<_>>(), [2, 3, 2]),
        &dev,
    );
    let idx = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0], [2]), &dev);
    assert_eq!(
        gather_positions(x, idx).try_into_vec_as::<f32>().unwrap(),
        vec![4.0, 5.0, 6.0, 7.0]
    );
}

fn fixture_pools() -> NamePools {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/199801_head200.txt");
    let corpus = nlp_tasks::ner::load(&path).unwrap();
    let all: Vec<_> = corpus
        .train
        .into_iter()
        .chain(corpus.dev)
        .chain(corpus.test)
        .collect();
    NamePools::harvest(&all)
}

#[test]
fn too_few_names_is_an_error_with_the_counts() {
    let err = synthetic::generate(&NamePools::harvest(&[]), 10, 10, 1).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooFewNames {
                train: (0, 0, 0),
                dev: (0, 0, 0)
            }
        ),
        "{err}"
    );
}

#[test]
fn synthetic_set_is_deterministic_and_dev_names_are_held_out() {
    let pools = fixture_pools();
    assert!(pools.persons.contains(&"江泽民".to_string()));
    assert!(pools.orgs.contains(&"中共中央".to_string()));
    let (train, dev) = synthetic::generate(&pools, 200, 60, 7).unwrap();
    assert_eq!(
        synthetic::generate(&pools, 200, 60, 7).unwrap(),
        (train.clone(), dev.clone())
    );
    let (train_pools, dev_pools) = pools.split(0.25, 7);
    let held: std::collections::HashSet<&String> = dev_pools
        .persons
        .iter()
        .chain(&dev_pools.places)
        .chain(&dev_pools.orgs)
        .collect();
    assert!(
        train_pools
            .persons
            .iter()
            .chain(&train_pools.places)
            .chain(&train_pools.orgs)
            .all(|n| !held.contains(n))
    );
    let schema = synthetic::schema();
    let names = |s: &[Sample]| -> std::collections::HashSet<String> {
        s.iter()
            .flat_map(|x| &x.spo_list)
            .flat_map(|t| [t.subject.clone(), t.object.clone()])
            .collect()
    };
    let (train_names, dev_names) = (names(&train), names(&dev));
    // Persons and places of dev never appear as entities in training (schools are a place plus
    // a suffix, so only whole names are compared).
    for n in dev_pools.persons.iter().chain(&dev_pools.places) {
        assert!(!train_names.contains(n), "{n} leaked into training");
    }
    assert!(dev_names.iter().any(|n| dev_pools.persons.contains(n)));
    let mut several_objects = false;
    let mut nested = false;
    for s in train.iter().chain(&dev) {
        let located = locate(s, &schema);
        assert!(located.missing.is_empty(), "{s:?}");
        assert_eq!(located.triples.len(), s.spo_list.len());
        for a in &located.triples {
            let same_subject = located
                .triples
                .iter()
                .filter(|b| b.subject == a.subject && b.predicate == a.predicate)
                .count();
            several_objects |= same_subject > 1;
            nested |= a.object.start >= a.subject.start
                && a.object.end <= a.subject.end
                && a.object != a.subject;
        }
    }
    assert!(several_objects && nested);
    assert!(
        train
            .iter()
            .any(|s| s.spo_list.is_empty() || s.spo_list.len() >= 4)
    );
}

/// A tiny random BERT (no checkpoint needed).
fn tiny_bert(device: &Device, vocab: usize) -> nlp_models::bert::Bert {
    BertConfig::new(vocab, 16, 2, 2, 32)
        .with_hidden_dropout_prob(0.0)
        .with_attention_probs_dropout_prob(0.0)
        .init(device)
}

#[test]
fn bert_model_shapes() {
    let dev = Device::flex();
    dev.seed(3);
    let model = BertTriples::new(tiny_bert(&dev, 30), 3);
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(vec![2i64, 5, 7, 3, 2, 9, 3, 0], [2, 4]),
        &dev,
    );
    let state = model.encode(ids);
    assert_eq!(state.pre_norm.dims(), [2, 4, 16]);
    assert_eq!(state.hidden.dims(), [2, 4, 16]);
    let s = model.subject_probs(&state);
    assert_eq!(s.dims(), [2, 4, 2]);
    let rows = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 1, 0], [3]), &dev);
    let subjects =
        Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 1, 1, 2, 0, 3], [3, 2]), &dev);
    let o = model.object_probs(&state, rows, subjects);
    assert_eq!(o.dims(), [3, 4, 3, 2]);
    let v = o.try_into_vec_as::<f32>().unwrap();
    assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
}

fn tiny_triples() -> (Vec<Sample>, Schema) {
    let pools = fixture_pools();
    let (train, _) = synthetic::generate(&pools, 48, 8, 3).unwrap();
    (train, synthetic::schema())
}

#[test]
fn dgcnn_model_trains_on_synthetic_samples() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let (train, schema) = tiny_triples();
    let vocab = CharVocab::build(train.iter().map(|s| s.text.as_str()), 1);
    let encoder = UnitEncoder::Chars {
        vocab: vocab.clone(),
        max_len: 64,
    };
    let (examples, report) = build_examples(&train, &encoder, &schema);
    assert_eq!(report.missing_triples, 0);
    let device = Device::flex().autodiff();
    device.seed(5);
    let model = DgcnnTriplesConfig::new(vocab.len(), schema.len())
        .with_d_model(16)
        .with_dilations(vec![1, 2])
        .with_heads(2)
        .with_head_dim(8)
        .with_max_positions(64)
        .with_max_relative(8)
        .init(&device);
    let dev_samples = &train[..4];
    let task = TriplesTask::new(&encoder, &schema, dev_samples);
    let mut optim = Adam::new().ema(0.9).init().unwrap();
    let out = scratch("dgcnn-fit");
    let mut config = TrainConfig::new(&out);
    config.epochs = 100;
    config.max_steps = Some(30);
    config.batch_size = 8;
    config.learning_rate = 1e-2;
    config.progress = false;
    config.clip_norm = Some(5.0);
    let outcome = fit(&task, model, &mut optim, &examples, &config).unwrap();
    let losses = &outcome.state.step_losses;
    let first: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = losses[losses.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(
        last < 0.7 * first,
        "loss did not fall: {first:.3} → {last:.3}"
    );
    assert!(out.join("best.bpk").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bert_model_loss_falls_on_a_batch() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let (train, schema) = tiny_triples();
    let vocab = CharVocab::build(train.iter().map(|s| s.text.as_str()), 1);
    // Character ids stand in for token ids: the same unit layout as BERT minus [CLS]/[SEP].
    let encoder = UnitEncoder::Chars {
        vocab: vocab.clone(),
        max_len: 48,
    };
    let (examples, _) = build_examples(&train[..8], &encoder, &schema);
    let device = Device::flex().autodiff();
    device.seed(9);
    let model = BertTriples::new(tiny_bert(&device, vocab.len()), schema.len());
    let batch: Vec<_> = examples.iter().collect();
    let uniforms: Vec<f64> = (0..16).map(|k| (k as f64 * 0.37) % 1.0).collect();
    let mut optim = Adam::new().init().unwrap();
    let mut model = model;
    let mut losses = Vec::new();
    for _ in 0..15 {
        let loss = nlp_tasks::triples::batch_loss(&model, &batch, &uniforms);
        losses.push(loss.clone().into_scalar::<f64>());
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[14] < 0.5 * losses[0], "{losses:?}");
}

#[test]
fn bert_units_map_missing_characters_to_spare_tokens() {
    let dir = scratch("vocab");
    let vocab = dir.join("vocab.txt");
    // ids: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [unused0] 4, [unused1] 5, 于 6, 生 7, 出 8
    std::fs::write(
        &vocab,
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[unused0]\n[unused1]\n于\n生\n出\n",
    )
    .unwrap();
    let tokenizer = nlp_models::tokenizer::BertTokenizer::from_vocab(&vocab, true).unwrap();
    // 京 occurs three times, 北 twice, 王 once: two spare ids go to 京 then 北.
    let extra = spare_token_ids(&tokenizer, ["王出生于北京", "北京京"]);
    assert_eq!(
        extra.into_iter().collect::<Vec<_>>(),
        vec![('京', 4), ('北', 5)]
    );
    let extra = spare_token_ids(&tokenizer, ["北京京"]);
    let encoder = UnitEncoder::Bert {
        tokenizer: Box::new(tokenizer),
        max_len: 16,
        extra,
    };
    let units = encoder.encode("王出生于北京").unwrap();
    assert_eq!(units.ids, vec![2, 1, 8, 7, 6, 5, 4, 3]);
    assert_eq!(
        (units.offsets[0].clone(), units.offsets[1].clone()),
        (0..0, 0..1)
    );
    assert_eq!(units.unit_span(&(4..6)), Some((5, 6)));
    std::fs::remove_dir_all(&dir).ok();
}
