//! The units a lexicon segmenter never splits, found in width-folded text (see
//! [`crate::width`]):
//!
//! * a number or Latin run: `[A-Za-z0-9]+`, continued after a digit by a decimal point, ratio
//!   or fraction sign followed by digits (`8.5`, `9·5`, `1:11`, `1∶11`, `1/3`), and a
//!   trailing `%` (so `１２．３％` is one token, as jieba's own pattern
//!   `[a-zA-Z0-9]+(?:\.\d+)?%?` keeps it for unknown words);
//! * every other letter or ideograph, alone (these are what lexicon words are made of);
//! * a run of one repeated punctuation mark or symbol (`——` and `……` are the Chinese dash and
//!   ellipsis, written as two characters), which is a token by itself and never part of a word;
//! * whitespace separates units and is not a unit.

/// What a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// Letters, ideographs and numbers: may be joined into lexicon words.
    Word,
    /// A punctuation or symbol run: always a token of its own.
    Punct,
}

/// A unit: characters `start..end` (char indices) of the folded line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// Kind.
    pub kind: UnitKind,
}

fn is_number_sep(c: char) -> bool {
    matches!(c, '.' | '·' | ':' | '∶' | '/')
}

/// Splits folded characters into units (appended to `out`).
pub fn units(chars: &[char], out: &mut Vec<Unit>) {
    let n = chars.len();
    let mut i = 0;
    while i < n {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c) {
            i += 1;
            continue;
        }
        let kind = if c.is_ascii_alphanumeric() {
            while i < n && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            while i + 1 < n
                && chars[i - 1].is_ascii_digit()
                && is_number_sep(chars[i])
                && chars[i + 1].is_ascii_digit()
            {
                i += 1;
                while i < n && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < n && chars[i] == '%' && chars[i - 1].is_ascii_digit() {
                i += 1;
            }
            UnitKind::Word
        } else if c.is_alphanumeric() {
            i += 1;
            UnitKind::Word
        } else {
            while i < n && chars[i] == c {
                i += 1;
            }
            UnitKind::Punct
        };
        out.push(Unit {
            start,
            end: i,
            kind,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::width::fold_width;

    fn spell(s: &str) -> Vec<String> {
        let chars: Vec<char> = s.chars().map(fold_width).collect();
        let mut v = Vec::new();
        units(&chars, &mut v);
        v.iter()
            .map(|u| s.chars().skip(u.start).take(u.end - u.start).collect())
            .collect()
    }

    #[test]
    fn numbers_latin_and_punctuation_runs() {
        assert_eq!(
            spell("１２．３％的ＣＤ—ＲＯＭ，9·5 1:2"),
            [
                "１２．３％",
                "的",
                "ＣＤ",
                "—",
                "ＲＯＭ",
                "，",
                "9·5",
                "1:2"
            ]
        );
        assert_eq!(spell("他说——好……。"), ["他", "说", "——", "好", "……", "。"]);
        // A separator not followed by a digit, or after a letter, ends the run.
        assert_eq!(spell("3.x a.5 %"), ["3", ".", "x", "a", ".", "5", "%"]);
        assert_eq!(spell("　 "), Vec::<String>::new());
    }
}
