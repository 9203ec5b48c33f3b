use nlp_core::padding::{
    PadOptions, Side, pad_sequences, pad_to_tensor, split_text, truncate_longest_first,
};

use crate::device;

#[test]
fn pad_post_pre_and_truncate() {
    let seqs = vec![vec![1, 2, 3], vec![4]];
    assert_eq!(
        pad_sequences(&seqs, PadOptions::default()),
        (vec![1, 2, 3, 4, 0, 0], [2, 3])
    );
    let pre = PadOptions::default().padding(Side::Pre).value(9);
    assert_eq!(pad_sequences(&seqs, pre), (vec![1, 2, 3, 9, 9, 4], [2, 3]));
    let cut = PadOptions::default().length(2);
    assert_eq!(pad_sequences(&seqs, cut).0, vec![1, 2, 4, 0]);
    let cut_pre = cut.truncating(Side::Pre);
    assert_eq!(pad_sequences(&seqs, cut_pre).0, vec![2, 3, 4, 0]);
    let t = pad_to_tensor(&seqs, PadOptions::default(), &device());
    assert_eq!(t.dims(), [2, 3]);
}

#[test]
fn truncate_removes_from_the_longest_first() {
    let mut a: Vec<i64> = (0..6).collect();
    let mut b: Vec<i64> = (10..13).collect();
    truncate_longest_first(7, -1, &mut [&mut a, &mut b]);
    assert_eq!(a, vec![0, 1, 2, 3]);
    assert_eq!(b, vec![10, 11, 12]);
    // -2 keeps the last token (a trailing [SEP]).
    let mut c: Vec<i64> = vec![1, 2, 3, 99];
    truncate_longest_first(2, -2, &mut [&mut c]);
    assert_eq!(c, vec![1, 99]);
}

#[test]
fn split_text_by_separator_hierarchy() {
    let text = "第一句话。第二句，比较长的一句话。第三句。";
    let pieces = split_text(text, 8, &["。", "，"]);
    assert_eq!(
        pieces,
        vec!["第一句话。", "第二句，", "比较长的一句话。", "第三句。"]
    );
    assert!(pieces.iter().all(|p| p.chars().count() <= 8));
    // Short text stays whole; no separators left keeps the piece whole.
    assert_eq!(split_text("短句", 8, &["。"]), vec!["短句"]);
    assert_eq!(
        split_text("没有分隔符的长长长长长长句子", 4, &["。"]),
        vec!["没有分隔符的长长长长长长句子"]
    );
}
