//! Width folding: full-width ASCII forms (U+FF01–U+FF5E) become their ASCII characters and the
//! ideographic space (U+3000) a plain space — the part of Unicode NFKC that matters for Chinese
//! text, where `１９９８年`, `ＣＤ` or `８．５％` are written with full-width forms.
//!
//! Folding maps one character to one character, so character positions are unchanged and a
//! segmentation of the folded text is a segmentation of the original.

use std::borrow::Cow;

/// The folded character: `！`..`～` → `!`..`~`, U+3000 → `' '`, anything else unchanged.
#[inline]
pub fn fold_width(c: char) -> char {
    match c as u32 {
        u @ 0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// Whether [`fold_width`] changes `c`.
#[inline]
pub fn is_foldable(c: char) -> bool {
    matches!(c as u32, 0xFF01..=0xFF5E | 0x3000)
}

/// `s` with every character folded (borrowed when nothing changes).
pub fn fold_str(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_foldable) {
        Cow::Owned(s.chars().map(fold_width).collect())
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_ascii_only() {
        assert_eq!(
            fold_str("１９９８年８．５％，ＣＤ　ｘ～"),
            "1998年8.5%,CD x~"
        );
        assert!(matches!(fold_str("中文abc"), Cow::Borrowed(_)));
        // Not folded: CJK punctuation outside the block, the em dash, the middle dot.
        assert_eq!(fold_str("、。“”——·…"), "、。“”——·…");
        assert_eq!(fold_width('\u{FF00}'), '\u{FF00}');
        assert_eq!(fold_width('\u{FF5F}'), '\u{FF5F}');
    }
}
