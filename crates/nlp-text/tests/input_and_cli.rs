//! Input handling (invalid UTF-8, empty or missing files, long lines) and the command line.

mod common;

use std::process::Command;

use common::{cfg, write_file};
use nlp_text::input::{BatchReader, Source, resolve_inputs};
use nlp_text::wordfreq::{Mode, count_words};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlp-text"))
}

#[test]
fn invalid_utf8_lines_are_counted_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(
        dir.path(),
        "bad.txt",
        b"ok one\n\xff\xfe broken\nok two\r\nbad \xc3\n",
    );
    let mut r = BatchReader::new(vec![Source::File(p.clone())], 1 << 20);
    let b = r.next_batch().unwrap().unwrap();
    assert_eq!(b.lines().collect::<Vec<_>>(), ["ok one", "ok two"]);
    assert!(r.next_batch().unwrap().is_none());
    assert_eq!(r.stats.invalid_count, 2);
    assert_eq!(
        r.stats.invalid.iter().map(|l| l.line).collect::<Vec<_>>(),
        [2, 4]
    );
    let w = r.stats.warning().unwrap();
    assert!(
        w.contains(&format!("{}:2", p.display())) && w.contains(":4"),
        "{w}"
    );
}

#[test]
fn missing_and_empty_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.txt");
    let e = resolve_inputs(std::slice::from_ref(&missing))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.txt"), "{e}");
    let empty = write_file(dir.path(), "empty.txt", b"");
    let e = resolve_inputs(&[empty]).unwrap_err().to_string();
    assert!(e.contains("empty.txt") && e.contains("empty"), "{e}");
    let sub = dir.path().join("d");
    std::fs::create_dir(&sub).unwrap();
    let e = resolve_inputs(&[sub]).unwrap_err().to_string();
    assert!(e.contains("no .txt files"), "{e}");
    // Only invalid lines: nothing to count is an error too.
    let bad = write_file(dir.path(), "bad.txt", b"\xff\n");
    let e = count_words(vec![Source::File(bad)], Mode::Chars, None, 1, &cfg(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no (valid UTF-8) lines"), "{e}");
}

#[test]
fn a_very_long_line_without_newline_works() {
    let dir = tempfile::tempdir().unwrap();
    let line = "中国".repeat(400_000); // 2.4 MB, larger than a batch
    let p = write_file(dir.path(), "long.txt", line.as_bytes());
    let (c, report) =
        count_words(vec![Source::File(p)], Mode::Ngrams(2), None, 1, &cfg(2)).unwrap();
    assert_eq!(report.stats.lines, 1);
    let got: Vec<(String, u64)> = c
        .into_vec(None)
        .unwrap()
        .into_iter()
        .map(|r| (r.word.into_string(), r.count))
        .collect();
    assert_eq!(
        got,
        [("中国".to_string(), 400_000), ("国中".to_string(), 399_999)]
    );
}

#[test]
fn every_subcommand_has_help() {
    for (cmd, flag) in [
        ("wordfreq", "--mem-budget"),
        ("newwords", "--thresholds"),
        ("segment", "--dict"),
        ("segeval", "--gold"),
        ("rawtext", "--gold-format"),
    ] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success(), "{cmd}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains(flag) && text.contains("--input"),
            "{cmd}: {text}"
        );
    }
    let out = bin().args(["wordfreq", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--threads",
        "--output",
        "--hmm",
        "--no-hmm",
        "--dict",
        "--min-count",
        "--top",
    ] {
        assert!(text.contains(flag), "wordfreq help lacks {flag}");
    }
}

#[test]
fn cli_reports_missing_file_and_invalid_lines() {
    let out = bin()
        .args(["wordfreq", "--input", "/nonexistent/corpus.txt"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/corpus.txt"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let p = write_file(
        dir.path(),
        "in.txt",
        b"\xe4\xb8\xad\xe6\x96\x87\n\xff\n\xe4\xb8\xad\n",
    );
    let out = bin()
        .args(["wordfreq", "--mode", "chars", "-q", "--input"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "中\t2\n文\t1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped 1 line") && err.contains(":2"),
        "{err}"
    );
}

#[test]
fn cli_pipeline_newwords_segment_segeval() {
    let dir = tempfile::tempdir().unwrap();
    let gold = write_file(
        dir.path(),
        "gold.txt",
        "北京/ns  欢迎/v  你/r\n[北京/ns  大学/n]nt  欢迎/v  你/r\n".as_bytes(),
    );
    let raw = dir.path().join("raw.txt");
    let st = bin()
        .args(["rawtext", "--input"])
        .arg(&gold)
        .arg("--output")
        .arg(&raw)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read_to_string(&raw).unwrap(),
        "北京欢迎你\n北京大学欢迎你\n"
    );
    let lex = write_file(dir.path(), "lex.tsv", "北京\t10\n欢迎\t5\n".as_bytes());
    let seg = dir.path().join("seg.txt");
    let st = bin()
        .args(["segment", "-q", "--dict"])
        .arg(&lex)
        .arg("--input")
        .arg(&raw)
        .arg("--output")
        .arg(&seg)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read_to_string(&seg).unwrap(),
        "北京 欢迎 你\n北京 大 学 欢迎 你\n"
    );
    let out = bin()
        .args(["segeval", "--gold"])
        .arg(&gold)
        .arg("--input")
        .arg(&seg)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // gold 3 + 4 words, pred 3 + 5, correct 3 + 3 (北京 欢迎 你 twice): P 6/8, R 6/7,
    // F1 = 2*6/(7+8) = 0.8.
    assert!(
        text.contains("gold_words\t7")
            && text.contains("pred_words\t8")
            && text.contains("correct\t6"),
        "{text}"
    );
    assert!(
        text.contains("precision\t0.7500") && text.contains("f1\t0.8000"),
        "{text}"
    );
}

fn run_stdin(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = bin()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stdin_min_count_and_top() {
    // Characters: 北 3, 京 3, 上 1, 海 1, 我 2.
    let text = "我北京\n北京上海\n我北京\n";
    let (ok, out, _) = run_stdin(
        &["wordfreq", "-q", "--mode", "chars", "--min-count", "2"],
        text,
    );
    assert!(ok);
    assert_eq!(out, "京\t3\n北\t3\n我\t2\n");
    let (ok, out, _) = run_stdin(&["wordfreq", "-q", "--mode", "chars", "--top", "1"], text);
    assert!(ok);
    assert_eq!(out, "京\t3\n");
    // Bigrams of exactly two characters inside whitespace-free runs.
    let (ok, out, _) = run_stdin(
        &["wordfreq", "-q", "--mode", "ngrams", "--order", "2"],
        "abab ab\n",
    );
    assert!(ok);
    assert_eq!(out, "ab\t3\nba\t1\n");
    // newwords reads stdin twice (spooled): "ab" x4 lines, min_count 2, ln(8*4/(4*4)) = ln 2 >= 0.5.
    let (ok, out, err) = run_stdin(
        &[
            "newwords",
            "-q",
            "--min-count",
            "2",
            "--thresholds",
            "0,0.5,4,6",
        ],
        "ab\nab\nab\nab\n",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "ab\t4\n");
    // Empty stdin is an error.
    let (ok, _, err) = run_stdin(&["wordfreq", "-q"], "");
    assert!(!ok);
    assert!(err.contains("empty input"), "{err}");
}

#[test]
fn recorded_batches_replay_identically_and_respect_the_cap() {
    use nlp_text::input::{BatchReader, Source};
    let dir = tempfile::tempdir().unwrap();
    let text = "第一行\nsecond\n\n第四行 with spaces\r\nlast";
    let p = dir.path().join("in.txt");
    std::fs::write(&p, text).unwrap();
    let read_all = |r: &mut BatchReader| {
        let mut lines = Vec::new();
        while let Some(b) = r.next_batch().unwrap() {
            lines.extend(b.lines().map(str::to_string));
        }
        lines
    };
    let mut r = BatchReader::new(vec![Source::File(p.clone())], 8).recording(1 << 20);
    let first = read_all(&mut r);
    assert_eq!(
        first,
        ["第一行", "second", "", "第四行 with spaces", "last"]
    );
    let kept = r.take_recording().expect("fits in the cap");
    let mut replay = BatchReader::replay(kept, r.stats.clone());
    assert_eq!(read_all(&mut replay), first);
    assert_eq!(replay.stats.lines, 5);
    // Over the cap nothing is kept.
    let mut r = BatchReader::new(vec![Source::File(p)], 8).recording(10);
    read_all(&mut r);
    assert!(r.take_recording().is_none());
}

#[test]
fn a_failed_run_leaves_no_output_file_and_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "中国人民银行决定在广东省试点新的外汇管理办法。\n".repeat(200);
    let input = write_file(dir.path(), "in.txt", text.as_bytes());
    let output = dir.path().join("freq.tsv");
    // The spill directory does not exist: counting fails after the output was opened.
    let run = bin()
        .args([
            "wordfreq",
            "--mem-budget",
            "1K",
            "--tmp-dir",
            "/nonexistent/spill",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("/nonexistent/spill"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["in.txt"], "output files left behind: {left:?}");
    // The same run with a spill directory that exists writes the file.
    let run = bin()
        .args(["wordfreq", "--quiet"])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(
        std::fs::read_to_string(&output)
            .unwrap()
            .contains("中国人民银行")
    );
}
