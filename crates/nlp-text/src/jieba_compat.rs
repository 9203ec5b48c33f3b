//! jieba-rs driven so that its output equals Python `jieba==0.42.1` `jieba.lcut`.
//!
//! jieba-rs 0.8.1 differs from Python jieba in two places, both fixed here:
//!
//! 1. Its "Han block" pattern also covers CJK extension A, U+9FD6–U+9FFF, compatibility
//!    ideographs and the supplementary planes; Python's is `[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+`
//!    and cuts every other non-space character into a token of its own. We split lines into
//!    Python's blocks ourselves and hand only those to jieba-rs.
//! 2. In the HMM fallback, jieba-rs's skip pattern is `[a-zA-Z0-9]+(?:.\d+)?%?` with an
//!    unescaped `.`, so `146-179` or `32108_358696` stay one token where Python's
//!    `[a-zA-Z0-9]+(?:\.\d+)?%?` gives `146`, `-`, `179`. When such a token appears, the
//!    surrounding run of non-Han tokens is re-split with Python's pattern. (A multi-character
//!    dictionary word next to it bounds the run, as the DAG would have kept it whole.)
//!
//! The embedded dictionary of jieba-rs 0.8.1 lacks one entry of jieba 0.42.1's `dict.txt`
//! (`B超 3 n`); load `dict.txt` with `--dict` for exact parity on text containing it.

use jieba_rs::Jieba;

/// Python jieba's `re_han_default` character class.
#[inline]
pub fn is_py_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FD5}' | 'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '#' | '&' | '.' | '_' | '%' | '-')
}

/// Python's `str.isspace` (what `\s` matches).
#[inline]
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn is_skip_char(c: char) -> bool {
    is_py_han(c) && !('\u{4E00}'..='\u{9FD5}').contains(&c)
}

/// Splits `s` like Python's `re.split("([a-zA-Z0-9]+(?:\.\d+)?%?)", s)`, dropping empty parts.
pub fn py_skip_split<'a>(s: &'a str, out: &mut Vec<&'a str>) {
    let b = s.as_bytes();
    let (mut i, mut gap) = (0, 0);
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            if gap < i {
                out.push(&s[gap..i]);
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && b[i] == b'%' {
                i += 1;
            }
            out.push(&s[start..i]);
            gap = i;
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if gap < b.len() {
        out.push(&s[gap..]);
    }
}

/// A token jieba-rs's buggy skip pattern can make and Python's cannot:
/// `[a-zA-Z0-9]+ X [0-9]+ %?` with `X` not `.`.
fn is_suspect(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == 0 || i >= b.len() || b[i] == b'.' || !is_skip_char(b[i] as char) {
        return false;
    }
    let mut j = i + 1;
    let digits = j;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j < b.len() && b[j] == b'%' {
        j += 1;
    }
    j > digits && j == b.len()
}

/// Cuts `line` exactly as Python `jieba.lcut(line, HMM=hmm)` would, appending to `out`.
pub fn cut_py<'a>(jieba: &Jieba, line: &'a str, hmm: bool, out: &mut Vec<&'a str>) {
    let mut rest = line;
    while !rest.is_empty() {
        let han_len: usize = rest.chars().take_while(|&c| is_py_han(c)).map(char::len_utf8).sum();
        if han_len > 0 {
            let block = &rest[..han_len];
            let start = out.len();
            out.extend(jieba.cut(block, hmm));
            if hmm {
                fix_skip_runs(jieba, block, out, start);
            }
            rest = &rest[han_len..];
        } else {
            // Non-Han block: whitespace runs (`\r\n` or one `\s`) and single characters.
            let c = rest.chars().next().expect("non-empty");
            let n = if rest.starts_with("\r\n") { 2 } else { c.len_utf8() };
            out.push(&rest[..n]);
            rest = &rest[n..];
        }
    }
}

fn fix_skip_runs<'a>(jieba: &Jieba, block: &'a str, out: &mut Vec<&'a str>, start: usize) {
    if !out[start..].iter().any(|t| is_suspect(t)) {
        return;
    }
    let in_run = |t: &str| {
        t.chars().all(is_skip_char) && !(t.chars().nth(1).is_some() && !is_suspect(t) && jieba.has_word(t))
    };
    let tokens: Vec<&'a str> = out.drain(start..).collect();
    let mut i = 0;
    while i < tokens.len() {
        if !in_run(tokens[i]) {
            out.push(tokens[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < tokens.len() && in_run(tokens[j]) {
            j += 1;
        }
        if tokens[i..j].iter().any(|t| is_suspect(t)) {
            // The tokens are consecutive slices of `block`: re-split the span they cover.
            let base = block.as_ptr() as usize;
            let from = tokens[i].as_ptr() as usize - base;
            let to = tokens[j - 1].as_ptr() as usize + tokens[j - 1].len() - base;
            py_skip_split(&block[from..to], out);
        } else {
            out.extend_from_slice(&tokens[i..j]);
        }
        i = j;
    }
}
