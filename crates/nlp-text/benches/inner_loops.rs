//! Criterion benches of the inner loops: n-gram counting, pre-segmentation, jieba cutting and
//! lexicon segmentation, on the committed real-text fixture (`tests/fixtures/wordfreq_input.txt`).
//!
//! Run: `cargo bench -p nlp-text --bench inner_loops`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hashbrown::HashSet;
use nlp_text::gramcount::SortCounter;
use nlp_text::jieba_compat::JiebaPy;
use nlp_text::newwords::presegment;
use nlp_text::ngram::{GramKey, char_code, key_of, pieces};
use nlp_text::segment::LexiconSegmenter;
use nlp_text::spill::SpillDir;

fn corpus() -> String {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wordfreq_input.txt"
    );
    std::fs::read_to_string(p).expect("fixture")
}

fn count_ngrams(text: &str, dir: &SpillDir) -> usize {
    let mut counter = SortCounter::<u64>::new(4, 1 << 30, dir.clone());
    let mut codes = Vec::new();
    for line in text.lines() {
        for piece in pieces(line) {
            codes.clear();
            codes.extend(piece.chars().map(char_code));
            for i in 0..codes.len() {
                let mut key = 0u64;
                for (j, &c) in codes[i..codes.len().min(i + 4)].iter().enumerate() {
                    key = key.push(c);
                    counter.push(key, j + 1).unwrap();
                }
            }
        }
    }
    let (runs, _) = counter.finish().unwrap();
    runs.iter().map(Vec::len).sum()
}

fn benches(c: &mut Criterion) {
    let text = corpus();
    let bytes = text.len() as u64;
    let dir = SpillDir::new(None).unwrap();

    let mut g = c.benchmark_group("inner_loops");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("ngram_count_1to4", |b| {
        b.iter(|| count_ngrams(black_box(&text), &dir))
    });

    let kept: HashSet<u64> = ["中国", "人民", "经济", "发展", "国家", "我们", "社会主义"]
        .iter()
        .map(|w| key_of::<u64>(w))
        .collect();
    g.bench_function("presegment", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for line in text.lines() {
                for piece in pieces(line) {
                    presegment(piece, &kept, 4, |_| n += 1);
                }
            }
            n
        })
    });

    let jieba = JiebaPy::new();
    g.bench_function("jieba_cut_hmm", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for line in text.lines() {
                jieba.cut_with(line, true, |_, _| n += 1);
            }
            n
        })
    });

    let lexicon = [
        "中国",
        "人民",
        "经济",
        "发展",
        "国家",
        "我们",
        "社会主义",
        "的",
        "在",
        "了",
    ];
    let seg = LexiconSegmenter::new(lexicon.iter().map(|w| (*w, 100)));
    g.bench_function("lexicon_segment", |b| {
        b.iter(|| text.lines().map(|l| seg.cut(l).len()).sum::<usize>())
    });
    g.finish();
}

criterion_group!(inner, benches);
criterion_main!(inner);
