use nlp_core::mask;

use crate::{bools, device, ints_tensor};

fn matrix(rows: &[&[u8]]) -> Vec<bool> {
    rows.iter()
        .flat_map(|r| r.iter().map(|&v| v == 1))
        .collect()
}

#[test]
fn padding_from_ids_and_lengths() {
    let d = device();
    let ids = ints_tensor(vec![5, 6, 0, 7, 0, 0], [2, 3], &d);
    let expected = matrix(&[&[1, 1, 0], &[1, 0, 0]]);
    assert_eq!(bools(mask::padding_from_ids(ids, 0)), expected);
    assert_eq!(bools(mask::padding_from_lengths(&[2, 1], 3, &d)), expected);
}

#[test]
fn causal_is_lower_triangle() {
    let d = device();
    let m = mask::causal(2, 3, &d);
    assert_eq!(m.dims(), [2, 3, 3]);
    let one = matrix(&[&[1, 0, 0], &[1, 1, 0], &[1, 1, 1]]);
    assert_eq!(bools(m), [one.clone(), one].concat());
}

#[test]
fn causal_with_offset_is_the_last_rows() {
    let d = device();
    // Two new queries after three cached keys: rows 3 and 4 of a 5×5 causal mask.
    let m = mask::causal_with_offset(1, 2, 5, &d);
    assert_eq!(bools(m), matrix(&[&[1, 1, 1, 1, 0], &[1, 1, 1, 1, 1]]));
}

#[test]
fn unilm_from_segments_hides_padding_after_target() {
    let d = device();
    // [CLS] a [SEP] | b [SEP] | pad : segments 0 0 0 1 1 0, padding on the last position.
    let segments = ints_tensor(vec![0, 0, 0, 1, 1, 0], [1, 6], &d);
    let padding = mask::padding_from_lengths(&[5], 6, &d);
    let m = mask::unilm(segments, padding);
    // c = cumsum = 0 0 0 1 2 2; visible iff c[j] <= c[i] and j is not padding.
    let expected = matrix(&[
        &[1, 1, 1, 0, 0, 0],
        &[1, 1, 1, 0, 0, 0],
        &[1, 1, 1, 0, 0, 0],
        &[1, 1, 1, 1, 0, 0],
        &[1, 1, 1, 1, 1, 0],
        &[1, 1, 1, 1, 1, 0],
    ]);
    assert_eq!(bools(m), expected);
}

#[test]
fn unilm_rows_are_the_rows_of_the_full_mask() {
    let d = device();
    let segments = ints_tensor(vec![0, 0, 0, 1, 1, 0], [1, 6], &d);
    let padding = mask::padding_from_lengths(&[5], 6, &d);
    let m = mask::unilm_rows(segments, padding, 3..5);
    assert_eq!(m.dims(), [1, 2, 6]);
    // Rows 3 and 4 of the hand-built mask above.
    assert_eq!(
        bools(m),
        matrix(&[&[1, 1, 1, 1, 0, 0], &[1, 1, 1, 1, 1, 0]])
    );
}

#[test]
fn plm_masks_by_hand() {
    let d = device();
    // Order 2, 0, 1: rank(2)=0, rank(0)=1, rank(1)=2.
    let masks = mask::plm(ints_tensor(vec![2, 0, 1], [1, 3], &d));
    assert_eq!(
        bools(masks.content),
        matrix(&[&[1, 0, 1], &[1, 1, 1], &[0, 0, 1]])
    );
    assert_eq!(
        bools(masks.query),
        matrix(&[&[0, 0, 1], &[1, 0, 1], &[0, 0, 0]])
    );
}

#[test]
fn plm_content_is_permuted_causal() {
    let d = device();
    let order: Vec<i64> = vec![4, 1, 6, 0, 3, 5, 2];
    let n = order.len();
    let content = bools(mask::plm(ints_tensor(order.clone(), [1, n], &d)).content);
    let causal = bools(mask::causal(1, n, &d));
    for a in 0..n {
        for b in 0..n {
            let (i, j) = (order[a] as usize, order[b] as usize);
            assert_eq!(
                content[i * n + j],
                causal[a * n + b],
                "order step {a} vs {b}"
            );
        }
    }
}

#[test]
fn and_and_heads() {
    let d = device();
    let pad = mask::key_padding(mask::padding_from_lengths(&[2], 3, &d), 3);
    let both = mask::and(mask::causal(1, 3, &d), pad);
    assert_eq!(
        bools(both.clone()),
        matrix(&[&[1, 0, 0], &[1, 1, 0], &[1, 1, 0]])
    );
    assert_eq!(mask::to_heads(both).dims(), [1, 1, 3, 3]);
}
