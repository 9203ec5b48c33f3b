//! jieba 0.42.1's HMM for unknown words (Python's `jieba.finalseg.__cut`): Viterbi over the
//! states B, M, E, S with jieba's start, transition and emission log-probabilities
//! (`data/jieba-0.42.1-hmm.tsv.gz`, written by `scripts/fixtures/make_hmm_tables.py`).
//!
//! Emissions sit in a dense table over U+4E00..=U+9FD5 (the only characters finalseg gives the
//! HMM), so a step is an array read instead of a hash lookup. Sums are formed in Python's
//! order and ties are broken as Python's `max` over `(prob, state)` tuples, so the words are
//! exactly Python's.

use std::io::Read;
use std::sync::OnceLock;

static HMM_GZ: &[u8] = include_bytes!("../data/jieba-0.42.1-hmm.tsv.gz");

const MIN_FLOAT: f64 = -3.14e100;
const FIRST: u32 = 0x4E00;
const LAST: u32 = 0x9FD5;

/// States in Python's `'BMES'` order.
const B: usize = 0;
const M: usize = 1;
const E: usize = 2;
const S: usize = 3;
/// The state letters, which break ties in Python's tuple comparison.
const LETTER: [u8; 4] = [b'B', b'M', b'E', b'S'];
/// Python's `PrevStatus`: the states that may precede each state, in its order.
const PREV: [[usize; 2]; 4] = [[E, S], [M, B], [B, M], [S, E]];

/// The model.
pub struct Hmm {
    start: [f64; 4],
    trans: [[f64; 4]; 4],
    emit: Vec<[f64; 4]>,
}

fn state(s: &str) -> Option<usize> {
    LETTER.iter().position(|&l| s.as_bytes() == [l])
}

impl Hmm {
    /// jieba 0.42.1's model (embedded), parsed once.
    pub fn get() -> &'static Hmm {
        static MODEL: OnceLock<Hmm> = OnceLock::new();
        MODEL.get_or_init(|| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(HMM_GZ)
                .read_to_string(&mut text)
                .expect("embedded HMM model");
            Hmm::parse(&text).expect("embedded HMM model")
        })
    }

    /// Parses `start S P`, `trans S T P` and `emit S CHAR P` lines (tab-separated).
    pub fn parse(text: &str) -> Result<Hmm, String> {
        let mut m = Hmm {
            start: [MIN_FLOAT; 4],
            trans: [[MIN_FLOAT; 4]; 4],
            emit: vec![[MIN_FLOAT; 4]; (LAST - FIRST + 1) as usize],
        };
        for (i, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            let bad = || format!("HMM model line {}: {line:?}", i + 1);
            let p: f64 = f.last().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            match f.as_slice() {
                ["start", s, _] => m.start[state(s).ok_or_else(bad)?] = p,
                ["trans", a, b, _] => {
                    m.trans[state(a).ok_or_else(bad)?][state(b).ok_or_else(bad)?] = p
                }
                ["emit", s, c, _] => {
                    let s = state(s).ok_or_else(bad)?;
                    let c = c.chars().next().ok_or_else(bad)? as u32;
                    if (FIRST..=LAST).contains(&c) {
                        m.emit[(c - FIRST) as usize][s] = p;
                    }
                }
                _ => return Err(bad()),
            }
        }
        Ok(m)
    }

    #[inline]
    fn emit(&self, c: char) -> &[f64; 4] {
        const NONE: [f64; 4] = [MIN_FLOAT; 4];
        let u = c as u32;
        if (FIRST..=LAST).contains(&u) {
            &self.emit[(u - FIRST) as usize]
        } else {
            &NONE
        }
    }

    /// Python's `viterbi`: the best state per character of `chars` (non-empty).
    pub fn viterbi(&self, chars: &[char], path: &mut Vec<u8>, back: &mut Vec<[u8; 4]>) {
        let n = chars.len();
        back.clear();
        back.resize(n, [0; 4]);
        let e0 = self.emit(chars[0]);
        let mut v = [0.0; 4];
        for y in 0..4 {
            v[y] = self.start[y] + e0[y];
        }
        for t in 1..n {
            let em = self.emit(chars[t]);
            let mut next = [0.0; 4];
            for y in 0..4 {
                let [a, b] = PREV[y];
                let pa = v[a] + self.trans[a][y] + em[y];
                let pb = v[b] + self.trans[b][y] + em[y];
                // max((pa, a), (pb, b)) as Python compares tuples.
                let take_b = pb > pa || (pb == pa && LETTER[b] > LETTER[a]);
                let (p, from) = if take_b { (pb, b) } else { (pa, a) };
                next[y] = p;
                back[t][y] = from as u8;
            }
            v = next;
        }
        // max((v[E], "E"), (v[S], "S")): S on a tie.
        let last = if v[S] >= v[E] { S } else { E };
        path.clear();
        path.resize(n, 0);
        let mut y = last;
        for t in (0..n).rev() {
            path[t] = y as u8;
            if t > 0 {
                y = back[t][y] as usize;
            }
        }
    }

    /// Python's `finalseg.__cut` on a run of U+4E00..=U+9FD5 characters: appends the words.
    pub fn cut<'a>(&self, text: &'a str, out: &mut Vec<&'a str>) {
        let offs: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return;
        }
        let (mut path, mut back) = (Vec::new(), Vec::new());
        self.viterbi(&chars, &mut path, &mut back);
        let (mut begin, mut next) = (0, 0);
        for (i, &st) in path.iter().enumerate() {
            match st as usize {
                B => begin = i,
                E => {
                    out.push(&text[offs[begin]..offs[i + 1]]);
                    next = i + 1;
                }
                S => {
                    out.push(&text[offs[i]..offs[i + 1]]);
                    next = i + 1;
                }
                _ => {}
            }
        }
        if next < chars.len() {
            out.push(&text[offs[next]..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_and_paths_by_hand() {
        // A toy model: every emission 0, so transitions decide.
        let text = "emit\tB\t中\t0\nemit\tM\t中\t0\nemit\tE\t中\t0\nemit\tS\t中\t0\n\
                    emit\tB\t国\t0\nemit\tM\t国\t0\nemit\tE\t国\t0\nemit\tS\t国\t0\n\
                    start\tB\t-1\nstart\tS\t-1\ntrans\tB\tE\t-1\ntrans\tE\tS\t-1\n\
                    trans\tS\tS\t-1\ntrans\tE\tB\t-1\ntrans\tS\tB\t-1\ntrans\tB\tM\t-5\n\
                    trans\tM\tE\t-1\ntrans\tM\tM\t-1\n";
        let m = Hmm::parse(text).unwrap();
        let mut out = Vec::new();
        // Two characters: B E = -1 + -1 = -2 ties S S = -1 + -1 = -2; Python's max picks
        // ('S' > 'E') the path ending in S: both characters single.
        m.cut("中国", &mut out);
        assert_eq!(out, ["中", "国"]);
        // Make B E better: one word.
        let m = Hmm::parse(&text.replace("trans\tB\tE\t-1", "trans\tB\tE\t-0.5")).unwrap();
        out.clear();
        m.cut("中国", &mut out);
        assert_eq!(out, ["中国"]);
        let bad = Hmm::parse("emit\tX\t中\t-1\n");
        assert!(bad.is_err());
    }

    #[test]
    fn jieba_model_known_cut() {
        // Python: list(jieba.finalseg.cut("杭研")) == ['杭研'].
        let mut out = Vec::new();
        Hmm::get().cut("杭研", &mut out);
        assert_eq!(out, ["杭研"]);
    }
}
