//! The poem-title data, metrics and baselines: ROUGE and BLEU against the Python packages
//! (`scripts/fixtures/make_title_metric_fixtures.py`), the chinese-poetry rules on a small
//! hand-made collection, and the baselines on hand-checked cases.

use std::path::{Path, PathBuf};

use nlp_tasks::seq2seq::{
    Pair, TfidfIndex, TitleScores, first_line, load_pairs, load_poetry, rouge, save_pairs,
    sentence_bleu, spaced_chars,
};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    crate::scratch_dir(name)
}

fn fixture() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seq2seq/title_metrics.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn rouge_and_bleu_match_the_python_packages_pair_by_pair_and_on_average() {
    let f = fixture();
    let rows = f["pairs"].as_array().unwrap();
    assert!(rows.len() > 200);
    for row in rows {
        let (pred, title) = (
            row["pred"].as_str().unwrap(),
            row["title"].as_str().unwrap(),
        );
        let (hyp, reference) = (spaced_chars(pred), spaced_chars(title));
        let (r, bleu) = if hyp.trim().is_empty() {
            (Default::default(), 0.0)
        } else {
            let hw: Vec<&str> = hyp.split(' ').collect();
            let rw: Vec<&str> = reference.split(' ').collect();
            (rouge(&hyp, &reference), sentence_bleu(&hw, &rw))
        };
        for (name, ours) in [
            ("rouge-1", r.rouge_1),
            ("rouge-2", r.rouge_2),
            ("rouge-l", r.rouge_l),
            ("bleu", bleu),
        ] {
            let want = row[name].as_f64().unwrap();
            assert!(
                (ours - want).abs() < 1e-12,
                "{name} of {pred:?} against {title:?}: {ours} vs {want}"
            );
        }
    }
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["pred"].as_str().unwrap(), r["title"].as_str().unwrap()))
        .collect();
    let s = TitleScores::score(pairs);
    let avg = &f["average"];
    for (name, ours) in [
        ("rouge-1", s.rouge_1),
        ("rouge-2", s.rouge_2),
        ("rouge-l", s.rouge_l),
        ("bleu", s.bleu),
    ] {
        assert!((ours - avg[name].as_f64().unwrap()).abs() < 1e-12, "{name}");
    }
    assert_eq!(s.count, rows.len());
}

#[test]
fn a_perfect_title_scores_one_and_a_disjoint_one_zero() {
    let s = TitleScores::score([("春夜喜雨", "春夜喜雨"), ("秋", "春")]);
    // (1 + 0) / 2 on every metric (F1 carries the package's 1e-8 epsilon).
    for v in [s.rouge_1, s.rouge_2, s.rouge_l, s.bleu] {
        assert!((v - 0.5).abs() < 1e-8, "{s:?}");
    }
}

fn write_poems(dir: &Path, name: &str, poems: &[(&str, &[&str])]) {
    let list: Vec<Value> = poems
        .iter()
        .map(|(title, paragraphs)| serde_json::json!({"title": title, "paragraphs": paragraphs, "author": "x"}))
        .collect();
    std::fs::write(dir.join(name), serde_json::to_string(&list).unwrap()).unwrap();
}

#[test]
fn the_poetry_loader_drops_empty_long_and_repeated_poems_and_splits_by_hash() {
    let dir = scratch("poetry");
    let nested = dir.join("package/dist/quantangshi");
    std::fs::create_dir_all(&nested).unwrap();
    let long_title = "長".repeat(33);
    let long_text = "字".repeat(300);
    write_poems(
        &nested,
        "poet.tang.0.json",
        &[
            (
                "花底",
                &["紫蕚扶千蘂，黃鬚照萬花。", "忽疑行暮雨，何事入朝霞。"],
            ),
            ("", &["無題之詩，無題之詩。"]),
            (&long_title, &["題長之詩。"]),
            (" 長詩 ", &[&long_text]),
        ],
    );
    let poems: Vec<(String, Vec<String>)> = (0..10)
        .map(|i| (format!("詩{i}"), vec![format!("第{i}首，山水{i}。")]))
        .collect();
    let borrowed: Vec<(&str, Vec<&str>)> = poems
        .iter()
        .map(|(t, p)| (t.as_str(), p.iter().map(String::as_str).collect()))
        .collect();
    let as_slices: Vec<(&str, &[&str])> =
        borrowed.iter().map(|(t, p)| (*t, p.as_slice())).collect();
    write_poems(&nested, "poet.song.1000.json", &as_slices);
    // A repeat of the first Tang poem under another title, in a later file.
    write_poems(
        &nested,
        "poet.song.2000.json",
        &[(
            "花底重出",
            &["紫蕚扶千蘂，黃鬚照萬花。", "忽疑行暮雨，何事入朝霞。"],
        )],
    );
    std::fs::write(nested.join("authors.song.json"), "not poems").unwrap();
    // The package's other copies of the collection are not read.
    for copy in [
        "package/dist/quantangshi/error",
        "package/dist/strains/json",
    ] {
        std::fs::create_dir_all(dir.join(copy)).unwrap();
        write_poems(
            &dir.join(copy),
            "poet.tang.0.json",
            &[("別本", &["別本之詩。"])],
        );
    }

    let mut calls = 0;
    let s = load_poetry(&dir, 3, |_, all| {
        calls += 1;
        assert_eq!(all, 3);
    })
    .unwrap();
    assert_eq!(calls, 3);
    assert_eq!(
        (s.poems, s.empty, s.long_title, s.duplicates),
        (15, 1, 1, 1)
    );
    assert_eq!((s.dev.len(), s.test.len(), s.train.len()), (3, 3, 6));
    let all: Vec<&Pair> = s.train.iter().chain(&s.dev).chain(&s.test).collect();
    let long = all
        .iter()
        .find(|p| p.tgt == "長詩")
        .expect("trimmed title kept");
    assert_eq!(long.src.chars().count(), 256);
    let first = all.iter().find(|p| p.tgt == "花底").unwrap();
    assert_eq!(
        first.src,
        "紫蕚扶千蘂，黃鬚照萬花。忽疑行暮雨，何事入朝霞。"
    );
    assert!(
        all.iter().all(|p| p.tgt != "花底重出"),
        "the repeat is dropped"
    );
    // Training pairs keep file order (Tang before Song, Song by file number).
    let order: Vec<usize> = s
        .train
        .iter()
        .map(|p| all.iter().position(|q| q.tgt == p.tgt).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    // Another held-out size moves pairs between splits but never loses one.
    let again = load_poetry(&dir, 1, |_, _| {}).unwrap();
    assert_eq!(
        (again.dev.len(), again.test.len(), again.train.len()),
        (1, 1, 10)
    );
    assert!(
        again.dev[0] == s.dev[0],
        "the split is by hash rank, stable across sizes"
    );

    let empty = scratch("poetry-empty");
    let e = load_poetry(&empty, 3, |_, _| {}).unwrap_err().to_string();
    assert!(e.contains("cargo xtask data poetry"), "{e}");
}

#[test]
fn pairs_round_trip_and_bad_lines_are_named() {
    let dir = scratch("pairs");
    let path = dir.join("p.jsonl");
    let pairs = vec![
        Pair {
            src: "床前明月光".into(),
            tgt: "靜夜思".into(),
        },
        Pair {
            src: "白日依山盡".into(),
            tgt: "登鸛雀樓".into(),
        },
    ];
    save_pairs(&path, &pairs).unwrap();
    assert_eq!(load_pairs(&path, true).unwrap(), pairs);
    std::fs::write(
        &path,
        "{\"src\": \"a\", \"tgt\": \"b\"}\n\n{\"src\": \"c\"}\n",
    )
    .unwrap();
    assert_eq!(load_pairs(&path, false).unwrap().len(), 2);
    let e = load_pairs(&path, true).unwrap_err().to_string();
    assert!(e.contains("p.jsonl:3") && e.contains("tgt"), "{e}");
    std::fs::write(&path, "{\"tgt\": \"b\"}\n").unwrap();
    let e = load_pairs(&path, false).unwrap_err().to_string();
    assert!(e.contains("p.jsonl:1"), "{e}");
}

#[test]
fn the_baselines_take_the_first_verse_and_the_nearest_poems_title() {
    assert_eq!(first_line("床前明月光，疑是地上霜。"), "床前明月光");
    assert_eq!(first_line("，白日依山盡。"), "白日依山盡");
    assert_eq!(first_line("無標點"), "無標點");
    let train = vec![
        Pair {
            src: "床前明月光，疑是地上霜。".into(),
            tgt: "靜夜思".into(),
        },
        Pair {
            src: "白日依山盡，黃河入海流。".into(),
            tgt: "登鸛雀樓".into(),
        },
        Pair {
            src: "明月明月明月。".into(),
            tgt: "月".into(),
        },
    ];
    let index = TfidfIndex::new(&train);
    assert_eq!(index.nearest("黃河遠上白雲間"), Some("登鸛雀樓"));
    // 光 and 霜 occur only in the first poem; 明月 everywhere it does is outweighed.
    assert_eq!(index.nearest("霜光"), Some("靜夜思"));
    assert_eq!(index.nearest("明月"), Some("月"));
    assert_eq!(index.nearest("雪"), None);
    let all = index.nearest_all(&["雪", "黃河", "霜光"]);
    assert_eq!(
        all,
        vec![
            None,
            Some("登鸛雀樓".to_string()),
            Some("靜夜思".to_string())
        ]
    );
}
