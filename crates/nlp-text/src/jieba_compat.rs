//! Python `jieba==0.42.1` `jieba.lcut`, reproduced exactly and fast.
//!
//! The dictionary lookups, DAG and maximum-probability route are done here over a trie with a
//! direct table for the first character (the jieba 0.42.1 `dict.txt` is embedded, gzipped);
//! unknown stretches go to the HMM of [`crate::hmm`] (Python's `finalseg` probabilities in
//! dense tables). Doing this here instead of calling `jieba_rs::Jieba::cut` is about three
//! times as fast, and it avoids where jieba-rs 0.8.1 departs from Python jieba:
//!
//! 1. jieba-rs's "Han block" pattern also covers CJK extension A, U+9FD6–U+9FFF, compatibility
//!    ideographs and the supplementary planes; Python's is `[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+`
//!    and cuts every other non-space character into a token of its own.
//! 2. jieba-rs's HMM skip pattern is `[a-zA-Z0-9]+(?:.\d+)?%?` with an unescaped `.`, so
//!    `146-179` stays one token where Python gives `146`, `-`, `179`.
//! 3. jieba-rs's embedded dictionary lacks one entry of `dict.txt` (`B超 3 n`).

use std::io::BufRead;

use crate::Error;
use crate::hmm::Hmm;

/// jieba 0.42.1's `dict.txt` (word and frequency columns), from `data/jieba-0.42.1-dict.txt.gz`,
/// decompressed by `build.rs`.
static DICT: &str = include_str!(concat!(env!("OUT_DIR"), "/jieba-dict.txt"));

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

#[inline]
fn is_finalseg_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FD5}').contains(&c)
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

pub use crate::prefix_dict::{NONE, PrefixDict};

/// A segmenter giving exactly Python jieba 0.42.1's `lcut` output.
pub struct JiebaPy {
    dict: PrefixDict,
    logtotal: f64,
    hmm: &'static Hmm,
}

impl JiebaPy {
    /// With jieba 0.42.1's dictionary (embedded).
    pub fn new() -> Self {
        let mut dict = PrefixDict::default();
        dict.load_str(DICT, "embedded dict.txt")
            .expect("embedded dictionary");
        Self::with_prefix_dict(dict)
    }

    /// With a main dictionary in `dict.txt` format.
    pub fn with_dict<R: BufRead>(r: R, name: &str) -> Result<Self, Error> {
        let mut r = r;
        let mut text = String::new();
        r.read_to_string(&mut text)
            .map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
        let mut dict = PrefixDict::default();
        dict.load_str(&text, name)?;
        Ok(Self::with_prefix_dict(dict))
    }

    /// With the given `(word, frequency)` pairs as the whole dictionary (as Python's
    /// `jieba.Tokenizer(dictionary=...)` with `word freq` lines).
    pub fn from_words<'a>(words: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let mut dict = PrefixDict::default();
        dict.extend(words);
        Self::with_prefix_dict(dict)
    }

    fn with_prefix_dict(dict: PrefixDict) -> Self {
        let logtotal = (dict.total() as f64).ln();
        JiebaPy {
            dict,
            logtotal,
            hmm: Hmm::get(),
        }
    }

    /// Adds user-dictionary lines `word [freq] [tag]` as Python's `load_userdict`: a missing
    /// frequency is `suggest_freq(word)`.
    pub fn load_user_dict<R: BufRead>(&mut self, r: R, name: &str) -> Result<(), Error> {
        for line in r.lines() {
            let line = line.map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
            let line = line.trim().trim_start_matches('\u{feff}');
            if line.is_empty() {
                continue;
            }
            let mut it = line.split_whitespace();
            let word = it.next().unwrap_or("");
            let freq = match it.next().and_then(|f| f.parse::<u64>().ok()) {
                Some(f) => f,
                None => self.suggest_freq(word),
            };
            self.dict.add(word, freq);
            self.logtotal = (self.dict.total() as f64).ln();
        }
        Ok(())
    }

    /// Python's `add_word(word, freq)`.
    pub fn add_word(&mut self, word: &str, freq: u64) {
        self.dict.add(word, freq);
        self.logtotal = (self.dict.total() as f64).ln();
    }

    /// Python's `suggest_freq(word, tune=False)`.
    pub fn suggest_freq(&self, word: &str) -> u64 {
        let ftotal = self.dict.total() as f64;
        let mut f = 1.0f64;
        let mut segs = Vec::new();
        self.cut(word, false, &mut segs);
        for s in segs {
            let fs = self.dict.freq(s);
            f *= (if fs == 0 { 1 } else { fs }) as f64 / ftotal;
        }
        let own = self.dict.freq(word);
        ((f * self.dict.total() as f64) as u64 + 1).max(if own == 0 { 1 } else { own })
    }

    /// Cuts `line` exactly as Python `jieba.lcut(line, HMM=hmm)`, appending to `out`.
    pub fn cut<'a>(&self, line: &'a str, hmm: bool, out: &mut Vec<&'a str>) {
        self.cut_with(line, hmm, |w, _| out.push(w));
    }

    /// The prefix dictionary.
    pub fn dict(&self) -> &PrefixDict {
        &self.dict
    }

    /// Cuts `line` like [`cut`](Self::cut), calling `f(word, node)` per word, where `node` is
    /// the word's dictionary node when it is known cheaply (`u32::MAX` otherwise), so that
    /// callers can count dictionary words by node id instead of by string.
    pub fn cut_with<'a>(&self, line: &'a str, hmm: bool, mut f: impl FnMut(&'a str, u32)) {
        let mut rest = line;
        let mut scratch = Scratch::default();
        let mut tmp = Vec::new();
        while !rest.is_empty() {
            let han_len: usize = rest
                .chars()
                .take_while(|&c| is_py_han(c))
                .map(char::len_utf8)
                .sum();
            if han_len > 0 {
                self.cut_block(&rest[..han_len], hmm, &mut f, &mut scratch, &mut tmp);
                rest = &rest[han_len..];
            } else {
                // Non-Han block: `\r\n` or one character at a time (spaces included).
                let c = rest.chars().next().expect("non-empty");
                let n = if rest.starts_with("\r\n") {
                    2
                } else {
                    c.len_utf8()
                };
                f(
                    &rest[..n],
                    if n == 2 { NONE } else { self.dict.char_node(c) },
                );
                rest = &rest[n..];
            }
        }
    }

    /// DAG and route over one block (Python's `get_DAG` and `calc`).
    fn route(&self, block: &str, s: &mut Scratch) {
        s.offs.clear();
        s.chars.clear();
        for (i, c) in block.char_indices() {
            s.offs.push(i);
            s.chars.push(c);
        }
        s.offs.push(block.len());
        let n = s.chars.len();
        s.route.clear();
        s.route.resize(n + 1, (0.0, 0, NONE));
        for k in (0..n).rev() {
            let single = (-self.logtotal + s.route[k + 1].0, k, NONE);
            let mut best: Option<(f64, usize, u32)> = None;
            if let Some((mut cur, mut logf)) = self.dict.start(s.chars[k]) {
                let mut i = k;
                loop {
                    if logf != f64::NEG_INFINITY {
                        let v = logf - self.logtotal + s.route[i + 1].0;
                        // max over (value, end): ties go to the larger end, as Python's tuples.
                        if best.is_none_or(|b| v >= b.0) {
                            best = Some((v, i, cur.id()));
                        }
                    }
                    i += 1;
                    if i >= n {
                        break;
                    }
                    match cur.step(s.chars[i]) {
                        Some(l) => logf = l,
                        None => break,
                    }
                }
            }
            s.route[k] = best.unwrap_or(single);
        }
    }

    fn cut_block<'a>(
        &self,
        block: &'a str,
        hmm: bool,
        f: &mut impl FnMut(&'a str, u32),
        s: &mut Scratch,
        tmp: &mut Vec<&'a str>,
    ) {
        self.route(block, s);
        let n = s.chars.len();
        let mut x = 0;
        if hmm {
            let mut buf_start: Option<usize> = None;
            while x < n {
                let (_, end, node) = s.route[x];
                let y = end + 1;
                if y - x == 1 {
                    buf_start.get_or_insert(x);
                } else {
                    if let Some(b) = buf_start.take() {
                        self.flush_buf(block, s, b, x, f, tmp);
                    }
                    f(&block[s.offs[x]..s.offs[y]], node);
                }
                x = y;
            }
            if let Some(b) = buf_start {
                self.flush_buf(block, s, b, n, f, tmp);
            }
        } else {
            let mut eng_start: Option<usize> = None;
            while x < n {
                let (_, end, node) = s.route[x];
                let y = end + 1;
                if y - x == 1 && s.chars[x].is_ascii_alphanumeric() {
                    eng_start.get_or_insert(x);
                } else {
                    if let Some(b) = eng_start.take() {
                        f(&block[s.offs[b]..s.offs[x]], NONE);
                    }
                    let node = if y - x == 1 {
                        self.dict.char_node(s.chars[x])
                    } else {
                        node
                    };
                    f(&block[s.offs[x]..s.offs[y]], node);
                }
                x = y;
            }
            if let Some(b) = eng_start {
                f(&block[s.offs[b]..s.offs[n]], NONE);
            }
        }
    }

    /// Python: a buffer of single characters `[a, b)` is yielded as is (one character), cut by
    /// the HMM (`finalseg.cut`) when it is not a dictionary word, else character by character.
    fn flush_buf<'a>(
        &self,
        block: &'a str,
        s: &Scratch,
        a: usize,
        b: usize,
        f: &mut impl FnMut(&'a str, u32),
        tmp: &mut Vec<&'a str>,
    ) {
        let text = &block[s.offs[a]..s.offs[b]];
        if b - a == 1 {
            f(text, self.dict.char_node(s.chars[a]));
        } else if self.dict.freq(text) == 0 {
            tmp.clear();
            self.finalseg(text, tmp);
            for w in tmp.drain(..) {
                f(w, NONE);
            }
        } else {
            for i in a..b {
                f(
                    &block[s.offs[i]..s.offs[i + 1]],
                    self.dict.char_node(s.chars[i]),
                );
            }
        }
    }

    /// Python's `finalseg.cut`: Viterbi on `[\u4E00-\u9FD5]+` runs, the skip pattern elsewhere.
    fn finalseg<'a>(&self, text: &'a str, out: &mut Vec<&'a str>) {
        let mut rest = text;
        while !rest.is_empty() {
            let first = rest.chars().next().expect("non-empty");
            let han = is_finalseg_han(first);
            let len: usize = rest
                .chars()
                .take_while(|&c| is_finalseg_han(c) == han)
                .map(char::len_utf8)
                .sum();
            let part = &rest[..len];
            if han {
                self.hmm.cut(part, out);
            } else {
                py_skip_split(part, out);
            }
            rest = &rest[len..];
        }
    }
}

impl Default for JiebaPy {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
struct Scratch {
    offs: Vec<usize>,
    chars: Vec<char>,
    route: Vec<(f64, usize, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_split_like_python() {
        let mut v = Vec::new();
        py_skip_split("CQ45-307TX", &mut v);
        assert_eq!(v, ["CQ45", "-", "307TX"]);
        v.clear();
        py_skip_split("3.14%-x_", &mut v);
        assert_eq!(v, ["3.14%", "-", "x", "_"]);
    }

    #[test]
    fn known_sentences() {
        let j = JiebaPy::new();
        let mut v = Vec::new();
        // jieba's README examples (HMM on), as Python jieba 0.42.1 prints them.
        j.cut("我来到北京清华大学", true, &mut v);
        assert_eq!(v, ["我", "来到", "北京", "清华大学"]);
        v.clear();
        j.cut("他来到了网易杭研大厦", true, &mut v);
        assert_eq!(v, ["他", "来到", "了", "网易", "杭研", "大厦"]);
        v.clear();
        j.cut("他来到了网易杭研大厦", false, &mut v);
        assert_eq!(v, ["他", "来到", "了", "网易", "杭", "研", "大厦"]);
        v.clear();
        j.cut("做B超 146-179页", true, &mut v);
        assert_eq!(v, ["做", "B超", " ", "146", "-", "179", "页"]);
    }
}
