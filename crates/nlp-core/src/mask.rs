//! Attention masks: padding, LM (causal), UniLM (seq2seq from segment ids) and PLM (permutation).
//!
//! One convention for the whole workspace, following "从语言模型到Seq2Seq：Transformer如戏，全靠Mask":
//! - a **padding mask** is `[batch, len]` with `true` on real tokens;
//! - an **attention mask** is `[batch, queries, keys]` with `true` where the query *may attend*
//!   the key. [`crate::attention`] gives masked keys exactly zero probability.
//!
//! Build the structural mask (causal, UniLM, PLM) and [`and`] it with [`key_padding`] so that
//! padding keys stay invisible; [`to_heads`] broadcasts a mask over attention heads.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// Padding mask `[batch, len]` from token ids: `true` where `id != pad_id`.
pub fn padding_from_ids(ids: Tensor<2, Int>, pad_id: i64) -> Tensor<2, Bool> {
    ids.not_equal_elem(pad_id)
}

/// Padding mask `[batch, max_len]` from sequence lengths: `true` on the first `len` positions.
pub fn padding_from_lengths(lengths: &[usize], max_len: usize, device: &Device) -> Tensor<2, Bool> {
    let values: Vec<bool> = lengths
        .iter()
        .flat_map(|&len| (0..max_len).map(move |j| j < len))
        .collect();
    Tensor::from_data(TensorData::new(values, [lengths.len(), max_len]), device)
}

/// Expand a key padding mask `[batch, keys]` to an attention mask `[batch, queries, keys]`.
pub fn key_padding(padding: Tensor<2, Bool>, queries: usize) -> Tensor<3, Bool> {
    let [batch, keys] = padding.dims();
    padding.unsqueeze_dim::<3>(1).expand([batch, queries, keys])
}

/// All-visible mask `[batch, queries, keys]`.
pub fn full(batch: usize, queries: usize, keys: usize, device: &Device) -> Tensor<3, Bool> {
    Tensor::<3, Int>::ones([batch, queries, keys], device).equal_elem(1)
}

/// LM (causal) mask `[batch, len, len]`: query `i` sees key `j` iff `j <= i`.
pub fn causal(batch: usize, len: usize, device: &Device) -> Tensor<3, Bool> {
    causal_with_offset(batch, len, len, device)
}

/// Causal mask for `queries` new positions appended after `keys - queries` cached ones
/// (incremental decoding): query `i` (absolute position `keys - queries + i`) sees key `j` iff
/// `j <= keys - queries + i`.
///
/// # Panics
/// Panics if `queries > keys`.
pub fn causal_with_offset(
    batch: usize,
    queries: usize,
    keys: usize,
    device: &Device,
) -> Tensor<3, Bool> {
    assert!(
        queries <= keys,
        "causal mask: {queries} queries but only {keys} keys"
    );
    let offset = (keys - queries) as i64;
    let rows = Tensor::<1, Int>::arange(offset..offset + queries as i64, device)
        .reshape([queries, 1])
        .expand([queries, keys]);
    let cols = Tensor::<1, Int>::arange(0..keys as i64, device)
        .reshape([1, keys])
        .expand([queries, keys]);
    cols.lower_equal(rows)
        .unsqueeze_dim::<3>(0)
        .expand([batch, queries, keys])
}

/// UniLM (seq2seq) mask from segment ids `[batch, len]` (0 = source, 1 = target), combined with
/// the key padding mask `[batch, len]`.
///
/// With `c = cumsum(segment_ids)`, query `i` sees key `j` iff `c[j] <= c[i]` and key `j` is not
/// padding: the source attends bidirectionally to itself, the target sees the source and its
/// own past. Padding after the target would otherwise be visible to the target, hence the AND.
pub fn unilm(segment_ids: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<3, Bool> {
    let len = segment_ids.dims()[1];
    unilm_rows(segment_ids, padding, 0..len)
}

/// The rows `queries` of [`unilm`]'s mask, `[batch, queries.len(), len]`: what an incremental
/// decoder needs for its new positions, without building the other rows.
///
/// # Panics
/// Panics if `queries` reaches past `len`.
pub fn unilm_rows(
    segment_ids: Tensor<2, Int>,
    padding: Tensor<2, Bool>,
    queries: std::ops::Range<usize>,
) -> Tensor<3, Bool> {
    let [batch, len] = segment_ids.dims();
    assert!(
        queries.end <= len,
        "UniLM mask: query rows {queries:?} past {len} positions"
    );
    let rows = queries.len();
    let c = segment_ids.cumsum(1);
    let c_query = c
        .clone()
        .slice_dim(1, queries)
        .unsqueeze_dim::<3>(2)
        .expand([batch, rows, len]);
    let c_key = c.unsqueeze_dim::<3>(1).expand([batch, rows, len]);
    c_key
        .lower_equal(c_query)
        .bool_and(key_padding(padding, rows))
}

/// The two XLNet permutation-LM masks for a factorisation order.
#[derive(Debug, Clone)]
pub struct PlmMasks {
    /// Content stream: query `i` sees key `j` iff `rank(j) <= rank(i)`.
    pub content: Tensor<3, Bool>,
    /// Query stream: query `i` sees key `j` iff `rank(j) < rank(i)`.
    pub query: Tensor<3, Bool>,
}

/// PLM masks from a factorisation order `[batch, len]`: `order[b][t]` is the position predicted
/// at step `t`, so `rank(order[b][t]) = t`. Each row of `order` must be a permutation of `0..len`.
///
/// The content mask equals the causal mask with rows and columns permuted by the order.
pub fn plm(order: Tensor<2, Int>) -> PlmMasks {
    let [batch, len] = order.dims();
    // rank = inverse permutation of order.
    let rank = order.argsort(1);
    let rank_query = rank.clone().unsqueeze_dim::<3>(2).expand([batch, len, len]);
    let rank_key = rank.unsqueeze_dim::<3>(1).expand([batch, len, len]);
    PlmMasks {
        content: rank_key.clone().lower_equal(rank_query.clone()),
        query: rank_key.lower(rank_query),
    }
}

/// Logical AND of two masks of the same shape (visible only where both are visible).
pub fn and<const D: usize>(a: Tensor<D, Bool>, b: Tensor<D, Bool>) -> Tensor<D, Bool> {
    a.bool_and(b)
}

/// Broadcast an attention mask `[batch, q, k]` over heads: `[batch, 1, q, k]`.
pub fn to_heads(mask: Tensor<3, Bool>) -> Tensor<4, Bool> {
    mask.unsqueeze_dim(1)
}
