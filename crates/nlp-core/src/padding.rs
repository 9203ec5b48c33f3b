//! Batching helpers: pad or truncate ragged id sequences into tensors, cut long pairs down to a
//! length budget, and split long texts at a hierarchy of separators.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// Which end of a sequence padding or truncation applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    /// After the tokens (the default).
    #[default]
    Post,
    /// Before the tokens.
    Pre,
}

/// How [`pad_sequences`] pads and truncates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PadOptions {
    /// Target length; the longest sequence's length when `None`.
    pub length: Option<usize>,
    /// Fill value.
    pub value: i64,
    /// Where padding goes.
    pub padding: Side,
    /// Which end is cut from sequences longer than `length`.
    pub truncating: Side,
}

impl Default for PadOptions {
    fn default() -> Self {
        Self {
            length: None,
            value: 0,
            padding: Side::Post,
            truncating: Side::Post,
        }
    }
}

impl PadOptions {
    /// Pad (and truncate) to exactly `length`.
    pub fn length(mut self, length: usize) -> Self {
        self.length = Some(length);
        self
    }
    /// Fill with `value`.
    pub fn value(mut self, value: i64) -> Self {
        self.value = value;
        self
    }
    /// Pad on `side`.
    pub fn padding(mut self, side: Side) -> Self {
        self.padding = side;
        self
    }
    /// Truncate on `side`.
    pub fn truncating(mut self, side: Side) -> Self {
        self.truncating = side;
        self
    }
}

/// Pad/truncate `seqs` into a row-major `[seqs.len(), length]` buffer.
pub fn pad_sequences<S: AsRef<[i64]>>(seqs: &[S], options: PadOptions) -> (Vec<i64>, [usize; 2]) {
    let length = options
        .length
        .unwrap_or_else(|| seqs.iter().map(|s| s.as_ref().len()).max().unwrap_or(0));
    let mut out = Vec::with_capacity(seqs.len() * length);
    for seq in seqs {
        let seq = seq.as_ref();
        let kept = if seq.len() <= length {
            seq
        } else {
            match options.truncating {
                Side::Post => &seq[..length],
                Side::Pre => &seq[seq.len() - length..],
            }
        };
        let fill = std::iter::repeat_n(options.value, length - kept.len());
        match options.padding {
            Side::Post => out.extend(kept.iter().copied().chain(fill)),
            Side::Pre => out.extend(fill.chain(kept.iter().copied())),
        }
    }
    (out, [seqs.len(), length])
}

/// [`pad_sequences`] straight into an `Int` tensor `[batch, length]` on `device`.
pub fn pad_to_tensor<S: AsRef<[i64]>>(
    seqs: &[S],
    options: PadOptions,
    device: &Device,
) -> Tensor<2, Int> {
    let (values, shape) = pad_sequences(seqs, options);
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Cut several sequences (e.g. the two texts of a pair) until their total length is at most
/// `max_total`, always removing from the currently longest one (the first of equals), at
/// `remove_at` (an index; negative counts from the end, so `-1` removes the last token and `-2`
/// keeps a trailing `[SEP]`).
pub fn truncate_longest_first<T>(max_total: usize, remove_at: isize, seqs: &mut [&mut Vec<T>]) {
    loop {
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        if total <= max_total {
            return;
        }
        let Some(longest) =
            (0..seqs.len()).max_by(|&a, &b| seqs[a].len().cmp(&seqs[b].len()).then(b.cmp(&a)))
        else {
            return;
        };
        let seq = &mut seqs[longest];
        let len = seq.len() as isize;
        let index = if remove_at < 0 {
            len + remove_at
        } else {
            remove_at
        };
        seq.remove(index.clamp(0, len - 1) as usize);
    }
}

/// Split `text` into pieces of at most `max_chars` characters where possible, cutting at the
/// first separator of `seps` first (e.g. `["\n", "。", "，"]`), and at the next ones only inside
/// pieces that are still too long. Neighbouring pieces are merged back while they fit, each
/// piece keeps its separator, and a piece with no separator left stays whole.
pub fn split_text(text: &str, max_chars: usize, seps: &[&str]) -> Vec<String> {
    let text = text.trim();
    let count = |s: &str| s.chars().count();
    let Some((sep, rest)) = seps.split_first() else {
        return vec![text.to_string()];
    };
    if count(text) <= max_chars {
        return vec![text.to_string()];
    }
    let parts: Vec<&str> = text.split(sep).collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, part) in parts.iter().enumerate() {
        if !current.is_empty()
            && !part.is_empty()
            && count(&current) + count(part) > max_chars.saturating_sub(1)
        {
            out.extend(split_text(&current, max_chars, rest));
            current.clear();
        }
        current.push_str(part);
        if i + 1 < parts.len() {
            current.push_str(sep);
        }
    }
    if !current.is_empty() {
        out.extend(split_text(&current, max_chars, rest));
    }
    out.retain(|p| !p.is_empty());
    out
}
