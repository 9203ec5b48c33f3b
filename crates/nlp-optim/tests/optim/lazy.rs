//! Lazy optimisation: rows with an all-zero gradient keep their values and state bit for bit.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};
use nlp_optim::{Adam, RuleExt};

use crate::common::{device, noise, values};

const VOCAB: usize = 6;
const DIM: usize = 3;

#[derive(Module, Debug)]
struct Embedding {
    table: Param<Tensor<2>>,
}

fn grads_with_zero_rows(model: &Embedding, seed: u64, zero_rows: &[usize]) -> GradientsParams {
    let mut g = noise(seed, VOCAB * DIM);
    for &row in zero_rows {
        g[row * DIM..(row + 1) * DIM].fill(0.0);
    }
    let mut grads = GradientsParams::new();
    grads.register(
        model.table.id,
        Tensor::<2>::from_data(TensorData::new(g, [VOCAB, DIM]), &device()),
    );
    grads
}

fn rows(data: &[f32], which: &[usize]) -> Vec<u32> {
    which
        .iter()
        .flat_map(|&r| data[r * DIM..(r + 1) * DIM].iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn untouched_rows_and_their_state_stay_bit_identical() {
    let table = TensorData::new(noise(3, VOCAB * DIM), [VOCAB, DIM]);
    let mut lazy_model = Embedding {
        table: Param::from_data(table.clone(), &device()),
    };
    let mut dense_model = Embedding {
        table: Param::from_data(table, &device()),
    };
    let mut lazy = Adam::new().lazy().init().unwrap();
    let mut dense = Adam::new().init().unwrap();

    // Two steps where every row has a gradient: lazy and dense agree exactly.
    for seed in [10, 11] {
        let g = grads_with_zero_rows(&lazy_model, seed, &[]);
        lazy_model = lazy.step(0.1, lazy_model, g);
        let g = grads_with_zero_rows(&dense_model, seed, &[]);
        dense_model = dense.step(0.1, dense_model, g);
    }
    assert_eq!(
        values(&lazy_model.table.val()),
        values(&dense_model.table.val())
    );

    let before = values(&lazy_model.table.val());
    let state_before = lazy.state::<2>("table").unwrap().clone();
    let (untouched, touched) = ([1usize, 4], [0usize, 2, 3, 5]);
    for seed in [12, 13, 14] {
        let g = grads_with_zero_rows(&lazy_model, seed, &untouched);
        lazy_model = lazy.step(0.1, lazy_model, g);
    }
    let after = values(&lazy_model.table.val());
    let state_after = lazy.state::<2>("table").unwrap();

    assert_eq!(
        rows(&after, &untouched),
        rows(&before, &untouched),
        "untouched rows moved"
    );
    assert_ne!(
        rows(&after, &touched),
        rows(&before, &touched),
        "touched rows did not move"
    );
    for (name, old, new) in [
        ("m", &state_before.moment_1, &state_after.moment_1),
        ("v", &state_before.moment_2, &state_after.moment_2),
    ] {
        let (old, new) = (values(old), values(new));
        assert_eq!(
            rows(&new, &untouched),
            rows(&old, &untouched),
            "{name} of untouched rows changed"
        );
        assert_ne!(
            rows(&new, &touched),
            rows(&old, &touched),
            "{name} of touched rows did not change"
        );
    }
    assert_eq!(
        state_after.time, 5,
        "the step counter is global to the tensor"
    );

    // Dense Adam, by contrast, keeps moving rows without gradient on stale momentum.
    let dense_before = values(&dense_model.table.val());
    let g = grads_with_zero_rows(&dense_model, 12, &untouched);
    dense_model = dense.step(0.1, dense_model, g);
    let dense_after = values(&dense_model.table.val());
    assert_ne!(
        rows(&dense_after, &untouched),
        rows(&dense_before, &untouched)
    );
}

#[test]
fn lazy_only_applies_to_matching_parameters() {
    #[derive(Module, Debug)]
    struct Two {
        embedding: Param<Tensor<2>>,
        dense: Param<Tensor<2>>,
    }
    let data = TensorData::new(noise(5, VOCAB * DIM), [VOCAB, DIM]);
    let mut model = Two {
        embedding: Param::from_data(data.clone(), &device()),
        dense: Param::from_data(data, &device()),
    };
    let mut optim = Adam::new().lazy().only(&["^embedding$"]).init().unwrap();
    for step in 0..3 {
        // Row 0 has a gradient in the first step only, in both parameters.
        let mut grad = noise(6 + step, VOCAB * DIM);
        if step > 0 {
            grad[0..DIM].fill(0.0);
        }
        let mut grads = GradientsParams::new();
        for id in [model.embedding.id, model.dense.id] {
            let t = Tensor::<2>::from_data(TensorData::new(grad.clone(), [VOCAB, DIM]), &device());
            grads.register(id, t);
        }
        let before = (values(&model.embedding.val()), values(&model.dense.val()));
        model = optim.step(0.1, model, grads);
        let after = (values(&model.embedding.val()), values(&model.dense.val()));
        if step > 0 {
            assert_eq!(
                rows(&after.0, &[0]),
                rows(&before.0, &[0]),
                "lazy row 0 moved"
            );
            // Momentum keeps moving the densely updated parameter's row 0.
            assert_ne!(
                rows(&after.1, &[0]),
                rows(&before.1, &[0]),
                "dense row 0 did not move"
            );
        }
    }
}
