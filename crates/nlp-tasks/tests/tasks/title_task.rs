//! The title task's pieces: the two codecs by hand, the LSTM loss against a host computation of
//! each example alone, batched generation in input order, and both models learning a small copy
//! task on the shared loop (dev ROUGE-L from the loop's own evaluation).

use std::collections::BTreeMap;

use burn::tensor::{Device, Int, Tensor, TensorData};
use nlp_models::bert::{BertConfig, BertMode};
use nlp_models::lstm_seq2seq::{END, LstmSeq2Seq, LstmSeq2SeqConfig, START};
use nlp_models::tokenizer::BertTokenizer;
use nlp_optim::{Adam, RuleExt};
use nlp_tasks::generate::Strategy;
use nlp_tasks::seq2seq::{
    Pair, Seq2SeqExample, Seq2SeqModel, TitleCodec, TitleTask, char_vocab_txt, generate_titles,
    lstm_loss,
};
use nlp_tasks::train::{TrainConfig, TrainTask, fit};
use nlp_tasks::units::CharVocab;

fn pair(src: &str, tgt: &str) -> Pair {
    Pair {
        src: src.into(),
        tgt: tgt.into(),
    }
}

#[test]
fn char_codec_ids_by_hand() {
    // Vocabulary ids: 春 2, 眠 3, 不 4, 觉 5; the LSTM shifts characters past START and END.
    let codec = TitleCodec::chars(CharVocab::from_chars(vec!['春', '眠', '不', '觉']), 3);
    assert_eq!(codec.vocab_size(), 8);
    assert_eq!(codec.source("春眠不觉晓").unwrap(), vec![4, 5, 6]);
    assert_eq!(codec.target("不觉晓").unwrap(), vec![6, 7, 1, END]);
    assert_eq!(codec.text(&[4, 7, 1]), "春觉\u{fffd}");
    let example = codec.example(&pair("春眠", "觉")).unwrap().unwrap();
    assert_eq!(example.source, vec![4, 5]);
    assert_eq!(example.target, vec![7, END]);
    assert_eq!(codec.example(&pair("", "觉")).unwrap(), None);
    assert_eq!(codec.example(&pair("春", "")).unwrap(), None);
    let config = codec.generation(Strategy::Greedy);
    assert_eq!((config.max_len, config.end_ids.clone()), (33, vec![END]));
    assert_eq!(config.banned, vec![0, 1, START]);
}

#[test]
fn bert_codec_ids_by_hand_with_spare_tokens() {
    let dir = crate::scratch_dir("title-codec");
    let vocab = dir.join("vocab.txt");
    // [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, [unused0] 5, 春 6, 眠 7
    std::fs::write(
        &vocab,
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[unused0]\n春\n眠\n",
    )
    .unwrap();
    let tokenizer = BertTokenizer::from_vocab(&vocab, false).unwrap();
    let extra = BTreeMap::from([('晓', 5)]);
    let codec = TitleCodec::bert(tokenizer, extra, 4).unwrap();
    // Cut to 4 tokens with [CLS] and [SEP]; 觉 is unknown, 晓 has the spare id.
    assert_eq!(codec.source("春晓眠觉").unwrap(), vec![2, 6, 5, 3]);
    assert_eq!(codec.target("晓觉").unwrap(), vec![5, 1, 3]);
    assert_eq!(codec.text(&[6, 5, 7]), "春晓眠");
    assert_eq!(codec.end_id(), 3);
    assert_eq!(codec.source("").unwrap(), Vec::<usize>::new());
    let config = codec.generation(Strategy::Greedy);
    assert_eq!(config.banned, vec![0, 1, 2, 4]);
    // A character vocabulary for a from-scratch model: special tokens first, then the
    // characters seen twice, in first-appearance order, spaces left out.
    assert_eq!(
        char_vocab_txt(["春 眠春", "眠晓"], 2),
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n春\n眠\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn small_lstm(vocab: usize, width: usize, seed: u64, device: &Device) -> LstmSeq2Seq {
    device.seed(seed);
    let m = LstmSeq2SeqConfig::new(vocab)
        .with_d_embed(width)
        .with_d_hidden(width)
        .init(device);
    // Parameters are drawn when first used.
    let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![4i64], [1, 1]), device);
    let mut memory = m.encode(ids.clone(), &[1]);
    let _ = m.decode(&mut memory, ids);
    m
}

#[test]
fn lstm_loss_is_the_mean_nll_of_each_example_alone() {
    let device = Device::default();
    let m = {
        let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
        small_lstm(12, 8, 5, &device)
    };
    let examples = [
        Seq2SeqExample {
            source: vec![4, 5, 6, 7, 8],
            target: vec![9, 10, END],
        },
        Seq2SeqExample {
            source: vec![11, 4],
            target: vec![5, 6, 7, 8, 9, END],
        },
    ];
    let mut total = 0.0f64;
    let mut count = 0;
    for e in &examples {
        let row = |ids: &[usize]| {
            let v: Vec<i64> = ids.iter().map(|&x| x as i64).collect();
            Tensor::<2, Int>::from_data(TensorData::new(v, [1, ids.len()]), &device)
        };
        let mut memory = m.encode(row(&e.source), &[e.source.len()]);
        let mut inputs = vec![START];
        inputs.extend(&e.target[..e.target.len() - 1]);
        let logits: Vec<f32> = m
            .decode(&mut memory, row(&inputs))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (t, &want) in e.target.iter().enumerate() {
            let l = &logits[t * 12..(t + 1) * 12];
            let max = l.iter().fold(f64::MIN, |a, &b| a.max(f64::from(b)));
            let z: f64 = l.iter().map(|&x| (f64::from(x) - max).exp()).sum();
            total -= f64::from(l[want]) - max - z.ln();
            count += 1;
        }
    }
    let refs: Vec<&Seq2SeqExample> = examples.iter().collect();
    let loss = f64::from(lstm_loss(&m, &refs).into_scalar::<f32>());
    let want = total / f64::from(count);
    assert!((loss - want).abs() < 1e-5, "{loss} vs {want}");
}

/// Pairs of a copy task over a 12-character alphabet: the title is the source's first three
/// characters.
fn copy_pairs(n: usize, offset: usize) -> Vec<Pair> {
    let alphabet: Vec<char> = "甲乙丙丁戊己庚辛壬癸子丑".chars().collect();
    (0..n)
        .map(|i| {
            let k = i + offset;
            let len = 5 + k % 4;
            let src: String = (0..len)
                .map(|j| alphabet[(k * 7 + j * j * 3 + j * 5) % alphabet.len()])
                .collect();
            let tgt: String = src.chars().take(3).collect();
            pair(&src, &tgt)
        })
        .collect()
}

/// Train `model` on the copy task with the shared loop; the dev ROUGE-L of each evaluation.
fn learn_copying<M: Seq2SeqModel>(codec: &TitleCodec, model: M, name: &str, lr: f64) -> Vec<f64> {
    let train = copy_pairs(256, 0);
    let dev = copy_pairs(24, 1000);
    let examples: Vec<Seq2SeqExample> = train
        .iter()
        .map(|p| codec.example(p).unwrap().unwrap())
        .collect();
    let task = TitleTask::<M>::new(codec, &dev);
    let dir = crate::scratch_dir(name);
    let mut config = TrainConfig::new(&dir);
    config.epochs = 25;
    config.batch_size = 16;
    config.learning_rate = lr;
    config.progress = false;
    config.resume = false;
    let mut optim = Adam::new().init().unwrap();
    let outcome = fit(&task, model, &mut optim, &examples, &config).unwrap();
    // Generation in input order: the batched, length-sorted titles are those of each source
    // decoded alone.
    let model = outcome.model.valid();
    let sources: Vec<&str> = dev.iter().map(|p| p.src.as_str()).collect();
    let greedy = codec.generation(Strategy::Greedy);
    let batched = generate_titles(&model, codec, &sources, &greedy, true, 8, |_| {}).unwrap();
    for (source, titles) in sources.iter().zip(&batched).take(6) {
        let alone = generate_titles(&model, codec, &[source], &greedy, true, 1, |_| {}).unwrap();
        assert_eq!(titles, &alone[0], "{source}");
    }
    assert!(task.evaluate(&model).unwrap().score.is_finite());
    std::fs::remove_dir_all(&dir).ok();
    outcome.state.epoch_scores
}

#[test]
fn lstm_learns_to_copy_on_the_shared_loop() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let codec = TitleCodec::chars(
        CharVocab::build(copy_pairs(256, 0).iter().map(|p| p.src.as_str()), 1),
        16,
    );
    let device = Device::default().autodiff();
    let model = small_lstm(codec.vocab_size(), 32, 3, &device);
    let scores = learn_copying(&codec, model, "title-lstm", 1e-2);
    assert!(scores[0] < 0.9, "{scores:?}");
    assert!(*scores.last().unwrap() > 0.95, "{scores:?}");
}

#[test]
fn unilm_learns_to_copy_on_the_shared_loop() {
    let _guard = crate::RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = crate::scratch_dir("title-unilm-vocab");
    let vocab = dir.join("vocab.txt");
    let pairs = copy_pairs(256, 0);
    std::fs::write(
        &vocab,
        char_vocab_txt(pairs.iter().map(|p| p.src.as_str()), 1),
    )
    .unwrap();
    let tokenizer = BertTokenizer::from_vocab(&vocab, false).unwrap();
    let codec = TitleCodec::bert(tokenizer, BTreeMap::new(), 16).unwrap();
    let device = Device::default().autodiff();
    device.seed(4);
    let bert = BertConfig::new(codec.vocab_size(), 32, 2, 2, 64)
        .with_max_position_embeddings(64)
        .with_hidden_dropout_prob(0.0)
        .with_attention_probs_dropout_prob(0.0)
        .with_mode(BertMode::Unilm)
        .with_with_mlm(true)
        .init(&device);
    let _ = bert.forward(nlp_models::bert::BertInput::new(Tensor::<2, Int>::zeros(
        [1, 2],
        &device,
    )));
    let scores = learn_copying(&codec, bert, "title-unilm", 3e-3);
    assert!(scores[0] < 0.9, "{scores:?}");
    assert!(*scores.last().unwrap() > 0.95, "{scores:?}");
    std::fs::remove_dir_all(&dir).ok();
}
