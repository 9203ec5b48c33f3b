//! Character n-grams of "word characters" packed into integers.
//!
//! Word characters are those of the new-word posts' pattern `[\u4e00-\u9fa50-9a-zA-Z]`: each
//! gets a 15-bit code (1..=20964), so a gram of up to 4 characters packs into a `u64` and up to
//! 8 into a `u128` (`key = key << 15 | code`), and sub-grams are shifts and masks.

use std::hash::Hash;

use crate::spill::CountKey;
use crate::width::fold_width;

const CJK_FIRST: u32 = 0x4e00;
const CJK_LAST: u32 = 0x9fa5;
const BITS: u32 = 15;

/// The 15-bit code of a word character, or 0 for any other character.
#[inline]
pub fn char_code(c: char) -> u16 {
    let u = c as u32;
    match c {
        '0'..='9' => (u - '0' as u32 + 1) as u16,
        'A'..='Z' => (u - 'A' as u32 + 11) as u16,
        'a'..='z' => (u - 'a' as u32 + 37) as u16,
        _ if (CJK_FIRST..=CJK_LAST).contains(&u) => (u - CJK_FIRST + 63) as u16,
        _ => 0,
    }
}

/// The character of a nonzero code.
pub fn code_char(code: u16) -> char {
    let u = code as u32;
    let c = match u {
        1..=10 => '0' as u32 + u - 1,
        11..=36 => 'A' as u32 + u - 11,
        37..=62 => 'a' as u32 + u - 37,
        _ => CJK_FIRST + u - 63,
    };
    char::from_u32(c).expect("valid code")
}

/// The code of `c` after width folding when `fold` is set (so `１` codes as `1`).
#[inline]
pub fn word_code(c: char, fold: bool) -> u16 {
    char_code(if fold { fold_width(c) } else { c })
}

/// Whether `c` is a word character (`[\u4e00-\u9fa50-9a-zA-Z]`).
#[inline]
pub fn is_word_char(c: char) -> bool {
    char_code(c) != 0
}

/// Maximal runs of word characters in `text` (the text split at `[^\u4e00-\u9fa50-9a-zA-Z]+`).
pub fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|p| !p.is_empty())
}

/// Like [`pieces`], but with full-width digits and letters counted as word characters when
/// `fold` is set (the pieces are slices of the unfolded text).
pub fn pieces_folded(text: &str, fold: bool) -> impl Iterator<Item = &str> {
    text.split(move |c: char| word_code(c, fold) == 0)
        .filter(|p| !p.is_empty())
}

/// A packed n-gram key.
pub trait GramKey: CountKey + Copy + Default + Hash + Sync + 'static {
    /// Longest gram that fits.
    const MAX_ORDER: usize;
    /// Appends a character code.
    fn push(self, code: u16) -> Self;
    /// Number of characters.
    fn len(self) -> usize;
    /// Whether the key is the empty gram.
    fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// The first `j` characters.
    fn prefix(self, j: usize) -> Self;
    /// The characters after the first `j`.
    fn suffix_after(self, j: usize) -> Self;
    /// The gram as a string.
    fn to_string_gram(self) -> String;
    /// `bits` bits of the key starting at bit `shift` (for radix sorting).
    fn digit(self, shift: u32, bits: u32) -> usize;
}

macro_rules! impl_gram_key {
    ($t:ty, $max:expr) => {
        impl GramKey for $t {
            const MAX_ORDER: usize = $max;
            #[inline]
            fn push(self, code: u16) -> Self {
                (self << BITS) | code as $t
            }
            #[inline]
            fn len(self) -> usize {
                let bits = <$t>::BITS - self.leading_zeros();
                bits.div_ceil(BITS) as usize
            }
            #[inline]
            fn prefix(self, j: usize) -> Self {
                self >> (BITS as usize * (self.len() - j))
            }
            #[inline]
            fn suffix_after(self, j: usize) -> Self {
                let rest = BITS as usize * (self.len() - j);
                self & ((1 << rest) - 1)
            }
            #[inline]
            fn digit(self, shift: u32, bits: u32) -> usize {
                ((self >> shift) as usize) & ((1usize << bits) - 1)
            }
            fn to_string_gram(self) -> String {
                let n = self.len();
                (0..n)
                    .map(|i| code_char(((self >> (BITS as usize * (n - 1 - i))) & 0x7fff) as u16))
                    .collect()
            }
        }
    };
}

impl_gram_key!(u64, 4);
impl_gram_key!(u128, 8);

/// Packs a string of word characters (panics on other characters; for tests and tools).
pub fn key_of<K: GramKey>(s: &str) -> K {
    s.chars().fold(K::default(), |k, c| {
        let code = char_code(c);
        assert!(code != 0, "{c:?} is not a word character");
        k.push(code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_split() {
        for c in ['0', '9', 'A', 'Z', 'a', 'z', '\u{4e00}', '\u{9fa5}', '中'] {
            assert_eq!(code_char(char_code(c)), c);
        }
        assert_eq!(char_code('\u{9fa6}'), 0);
        assert_eq!(char_code('，'), 0);
        assert_eq!(char_code('１'), 0); // full-width digits are separators in the posts' pattern
        let k: u64 = key_of("中国人民");
        assert_eq!(k.len(), 4);
        assert_eq!(k.to_string_gram(), "中国人民");
        assert_eq!(k.prefix(1).to_string_gram(), "中");
        assert_eq!(k.suffix_after(1).to_string_gram(), "国人民");
        assert_eq!(k.prefix(3).to_string_gram(), "中国人");
        let k: u128 = key_of("a1中国人民共和");
        assert_eq!(k.len(), 8);
        assert_eq!(k.suffix_after(2).to_string_gram(), "中国人民共和");
        let p: Vec<&str> = pieces("今天，天气 good!１２３abc").collect();
        assert_eq!(p, vec!["今天", "天气", "good", "abc"]);
        let p: Vec<&str> = pieces_folded("今天，天气 good!１２３abc", true).collect();
        assert_eq!(p, vec!["今天", "天气", "good", "１２３abc"]);
        assert_eq!(word_code('１', true), char_code('1'));
    }
}
