//! How a passage's text matches a cloze question around its blank: the per-character features
//! of the DGCNN reader and the context-match baseline read the same numbers.

use std::collections::HashSet;

use super::cloze::BLANK;

/// Numbers per passage character from [`match_features`].
pub const MATCH_FEATURES: usize = 3;
/// Context lengths are counted up to this many characters (and divided by it).
pub(crate) const MATCH_CONTEXT: usize = 8;

/// Per character of `passage`, [`MATCH_FEATURES`] numbers in eighths (0 ..= 8): 8 when the
/// character occurs in `question` outside its blank; the characters of context (up to 8) that
/// the text before it shares with the text before the blank (what an answer starting here
/// would have); and those that the text after it shares with the text after the blank (an
/// answer ending here). Without a blank in the question the last two are 0.
pub fn match_features(question: &str, passage: &[char]) -> Vec<u8> {
    let blank = question.find(BLANK);
    let (before, after) = match blank {
        Some(at) => (&question[..at], &question[at + BLANK.len()..]),
        None => (question, ""),
    };
    let before: Vec<char> = before.chars().collect();
    let after: Vec<char> = after.chars().collect();
    let in_question: HashSet<char> = before.iter().chain(&after).copied().collect();
    let shared = |a: &mut dyn Iterator<Item = &char>, b: &mut dyn Iterator<Item = &char>| {
        a.zip(b)
            .take(MATCH_CONTEXT)
            .take_while(|(x, y)| x == y)
            .count() as u8
    };
    let mut out = Vec::with_capacity(passage.len() * MATCH_FEATURES);
    for t in 0..passage.len() {
        out.push(if in_question.contains(&passage[t]) {
            MATCH_CONTEXT as u8
        } else {
            0
        });
        if blank.is_some() {
            out.push(shared(
                &mut passage[..t].iter().rev(),
                &mut before.iter().rev(),
            ));
            out.push(shared(&mut passage[t + 1..].iter(), &mut after.iter()));
        } else {
            out.extend([0, 0]);
        }
    }
    out
}
