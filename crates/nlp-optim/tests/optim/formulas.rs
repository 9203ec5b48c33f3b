//! LAMB, Lookahead, the piecewise-linear schedule and RMSprop's ε placement against their
//! formulas, computed step by step in plain f64 (no code under test involved).

use nlp_optim::{
    Adam, EpsilonPlacement, ModelOptimizer, PiecewiseLinear, RmsProp, RuleExt, Sgd, UpdateRule,
};

use crate::common::{Pair, assert_rel_close, noise, pair, pair_grads, to_f64, values};

const ROWS: usize = 3;
const COLS: usize = 4;

/// Initial weights away from zero (|θ| ≥ 0.5), so element-wise relative errors are meaningful.
fn init() -> (Vec<f32>, Vec<f32>) {
    let away = |v: Vec<f32>| -> Vec<f32> {
        v.into_iter()
            .map(|x| x.signum() * (0.5 + x.abs()))
            .collect()
    };
    (away(noise(1, ROWS * COLS)), away(noise(2, COLS)))
}

/// Gradients of step `t` for the matrix and the vector.
fn grads(t: usize) -> (Vec<f32>, Vec<f32>) {
    (
        noise(100 + t as u64, ROWS * COLS),
        noise(500 + t as u64, COLS),
    )
}

/// Run `rule` for `steps` steps on the shared set-up, calling `check` with our parameters and
/// the f64 reference's after every step.
fn compare<R: UpdateRule>(
    rule: R,
    lr: f64,
    steps: usize,
    tolerance: f64,
    mut reference: impl FnMut(usize, &mut [Vec<f64>; 2], &[Vec<f64>; 2]),
) {
    let (m0, v0) = init();
    let mut model: Pair = pair(&m0, ROWS, &v0);
    let mut expected = [to_f64(&m0), to_f64(&v0)];
    let mut optim = ModelOptimizer::new(rule).unwrap();
    for t in 0..steps {
        let (gm, gv) = grads(t);
        let g = pair_grads(&model, &gm, &gv);
        model = optim.step(lr, model, g);
        reference(t, &mut expected, &[to_f64(&gm), to_f64(&gv)]);
        let what = format!("step {t}");
        assert_rel_close(&values(&model.matrix.val()), &expected[0], tolerance, &what);
        assert_rel_close(&values(&model.vector.val()), &expected[1], tolerance, &what);
    }
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Adam's moments for one tensor, in f64.
#[derive(Clone, Default)]
struct AdamF64 {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl AdamF64 {
    /// Returns m̂/(√v̂ + ε).
    fn direction(&mut self, g: &[f64], b1: f64, b2: f64, eps: f64) -> Vec<f64> {
        if self.m.is_empty() {
            self.m = vec![0.0; g.len()];
            self.v = vec![0.0; g.len()];
        }
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        (0..g.len())
            .map(|i| {
                self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
                self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
                (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + eps)
            })
            .collect()
    }
}

#[test]
fn weight_decay_inside_layer_adaptation_is_lamb() {
    let (lr, wd, eps) = (0.005, 0.01, 1e-6);
    let mut adam = [AdamF64::default(), AdamF64::default()];
    let rule = Adam::new().epsilon(eps).weight_decay(wd).layer_adaptation();
    compare(rule, lr, 20, 1e-6, |_, theta, g| {
        for k in 0..2 {
            let dir = adam[k].direction(&g[k], 0.9, 0.999, eps);
            // LAMB (You et al. 2019): r = m̂/(√v̂+ε) + λθ, θ ← θ − γ·(‖θ‖/‖r‖)·r.
            let r: Vec<f64> = dir.iter().zip(&theta[k]).map(|(d, w)| d + wd * w).collect();
            let (nw, nr) = (norm(&theta[k]), norm(&r));
            let ratio = if nw > 0.0 && nr > 0.0 { nw / nr } else { 1.0 };
            for (w, r) in theta[k].iter_mut().zip(&r) {
                *w -= lr * ratio * r;
            }
        }
    });
}

#[test]
fn weight_decay_outside_layer_adaptation_is_not_lamb() {
    // The other order: the decay is added after the adaptation, unscaled.
    let (lr, wd, eps) = (0.005, 0.01, 1e-6);
    let mut adam = [AdamF64::default(), AdamF64::default()];
    let rule = Adam::new().epsilon(eps).layer_adaptation().weight_decay(wd);
    compare(rule, lr, 20, 1e-6, |_, theta, g| {
        for k in 0..2 {
            let dir = adam[k].direction(&g[k], 0.9, 0.999, eps);
            let ratio = norm(&theta[k]) / norm(&dir);
            for (w, d) in theta[k].iter_mut().zip(&dir) {
                *w -= lr * ratio * d + lr * wd * *w;
            }
        }
    });
}

#[test]
fn lookahead_matches_its_formula() {
    // Lookahead(k = 5, α = 0.5) over SGD with momentum 0.9; slow weights start at θ₀.
    let (lr, mu, k, alpha) = (0.01, 0.9, 5, 0.5);
    let (m0, v0) = init();
    let mut slow = [to_f64(&m0), to_f64(&v0)];
    let mut velocity: [Vec<f64>; 2] = [vec![0.0; ROWS * COLS], vec![0.0; COLS]];
    let rule = Sgd::new().momentum(mu).lookahead(k, alpha);
    compare(rule, lr, 23, 1e-6, |t, theta, g| {
        for j in 0..2 {
            for i in 0..theta[j].len() {
                velocity[j][i] = if t == 0 {
                    g[j][i]
                } else {
                    mu * velocity[j][i] + g[j][i]
                };
                theta[j][i] -= lr * velocity[j][i];
            }
            if (t + 1) % k as usize == 0 {
                for i in 0..theta[j].len() {
                    slow[j][i] += alpha * (theta[j][i] - slow[j][i]);
                    theta[j][i] = slow[j][i];
                }
            }
        }
    });
}

/// The example schedule in closed form: warm-up from 0 to 1 over 1000 steps, down
/// to 0.1 at step 2000, held after.
fn example_schedule(t: u64) -> f64 {
    let t = t as f64;
    if t < 1000.0 {
        t / 1000.0
    } else if t < 2000.0 {
        1.0 - 0.9 * (t - 1000.0) / 1000.0
    } else {
        0.1
    }
}

#[test]
fn piecewise_linear_schedule_matches_its_closed_form() {
    let schedule = PiecewiseLinear::new(&[(1000, 1.0), (2000, 0.1)]).unwrap();
    for t in (0..2600)
        .step_by(7)
        .chain([0, 1, 999, 1000, 1001, 1999, 2000, 2001, 99_999])
    {
        let (ours, expected) = (schedule.multiplier(t), example_schedule(t));
        assert!(
            (ours - expected).abs() <= 1e-12,
            "t = {t}: {ours} vs {expected}"
        );
    }
    // A schedule starting at step 0 does not ramp from zero.
    let from_start = PiecewiseLinear::new(&[(0, 0.5), (10, 1.0)]).unwrap();
    assert_eq!(from_start.multiplier(0), 0.5);
    assert!((from_start.multiplier(4) - 0.7).abs() < 1e-12);
    assert_eq!(from_start.multiplier(50), 1.0);
}

#[test]
fn piecewise_linear_lr_scales_every_step() {
    // θ ← θ − γ·ρₜ·g with ρ ramping 0 → 1 over 4 steps, then down to 0.25 at step 8.
    let lr = 0.05;
    let rho = |t: usize| -> f64 {
        let t = t as f64;
        if t < 4.0 {
            t / 4.0
        } else if t < 8.0 {
            1.0 - 0.75 * (t - 4.0) / 4.0
        } else {
            0.25
        }
    };
    let rule = Sgd::new().piecewise_linear_lr(&[(4, 1.0), (8, 0.25)]);
    compare(rule, lr, 12, 1e-6, |t, theta, g| {
        for k in 0..2 {
            for (w, g) in theta[k].iter_mut().zip(&g[k]) {
                *w -= lr * rho(t) * g;
            }
        }
    });
}

fn rmsprop_reference(
    eps: f64,
    inside: bool,
) -> impl FnMut(usize, &mut [Vec<f64>; 2], &[Vec<f64>; 2]) {
    let (lr, rho) = (0.01, 0.9);
    let mut square: [Vec<f64>; 2] = [vec![0.0; ROWS * COLS], vec![0.0; COLS]];
    move |_, theta, g| {
        for k in 0..2 {
            for i in 0..theta[k].len() {
                square[k][i] = rho * square[k][i] + (1.0 - rho) * g[k][i] * g[k][i];
                let denominator = if inside {
                    (square[k][i] + eps).sqrt()
                } else {
                    square[k][i].sqrt() + eps
                };
                theta[k][i] -= lr * g[k][i] / denominator;
            }
        }
    }
}

#[test]
fn rmsprop_epsilon_inside_the_root_matches_the_post() {
    // A large ε makes the two placements clearly different.
    let rule = RmsProp::new().rho(0.9).epsilon(0.01);
    compare(rule, 0.01, 20, 1e-6, rmsprop_reference(0.01, true));
}

#[test]
fn rmsprop_epsilon_outside_the_root_matches_keras() {
    let rule = RmsProp::new()
        .rho(0.9)
        .epsilon(0.01)
        .epsilon_placement(EpsilonPlacement::OutsideRoot);
    compare(rule, 0.01, 20, 1e-6, rmsprop_reference(0.01, false));
}

#[test]
fn adam_without_bias_correction_matches_its_formula() {
    // Without the correction early steps are ~3γ, so a small γ keeps the weights off zero.
    let (lr, eps) = (0.004, 1e-6);
    let mut state: [(Vec<f64>, Vec<f64>); 2] = [
        (vec![0.0; ROWS * COLS], vec![0.0; ROWS * COLS]),
        (vec![0.0; COLS], vec![0.0; COLS]),
    ];
    let rule = Adam::new().epsilon(eps).bias_correction(false);
    compare(rule, lr, 20, 1e-6, |_, theta, g| {
        for k in 0..2 {
            let (m, v) = &mut state[k];
            for i in 0..theta[k].len() {
                m[i] = 0.9 * m[i] + 0.1 * g[k][i];
                v[i] = 0.999 * v[i] + 0.001 * g[k][i] * g[k][i];
                theta[k][i] -= lr * m[i] / (v[i].sqrt() + eps);
            }
        }
    });
}
