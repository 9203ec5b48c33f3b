//! Trajectories of SGD (momentum, Nesterov), RMSprop, Adam and AdamW against PyTorch
//! (fixtures from scripts/fixtures/make_optim_fixtures.py).

use burn::optim::AdamWConfig;
use nlp_optim::{
    Adam, BurnOptimizer, EpsilonPlacement, ModelOptimizer, RmsProp, RuleExt, Sgd, UpdateRule,
};
use serde_json::Value;

use crate::common::{max_rel_err, pair, pair_grads, values};

const TOLERANCE: f64 = 1e-6;

fn fixture() -> Value {
    let text = include_str!("../fixtures/torch_optim.json");
    serde_json::from_str(text).expect("valid fixture JSON")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

fn f32s(value: &Value) -> Vec<f32> {
    floats(value).into_iter().map(|v| v as f32).collect()
}

/// Run `rule` through the fixture's gradients and return the worst relative error over all
/// steps and parameters.
fn replay<R: UpdateRule>(name: &str, rule: R) -> f64 {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().unwrap();
    let case = cases
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("fixture has no case {name}"));
    let lr = case["config"]["lr"].as_f64().unwrap();
    let rows = fixture["shapes"]["matrix"][0].as_u64().unwrap() as usize;
    let mut model = pair(
        &f32s(&fixture["init"]["matrix"]),
        rows,
        &f32s(&fixture["init"]["vector"]),
    );
    let mut optim = ModelOptimizer::new(rule).expect("valid configuration");
    let trajectory = case["trajectory"].as_array().unwrap();
    assert!(trajectory.len() >= 20, "fixture trajectory too short");
    let mut worst: f64 = 0.0;
    for (step, expected) in trajectory.iter().enumerate() {
        let g = &fixture["grads"][step];
        let grads = pair_grads(&model, &f32s(&g["matrix"]), &f32s(&g["vector"]));
        model = optim.step(lr, model, grads);
        worst = worst
            .max(max_rel_err(
                &values(&model.matrix.val()),
                &floats(&expected["matrix"]),
            ))
            .max(max_rel_err(
                &values(&model.vector.val()),
                &floats(&expected["vector"]),
            ));
    }
    println!(
        "{name:>14}: max relative error over {} steps = {worst:.2e}",
        trajectory.len()
    );
    worst
}

fn check<R: UpdateRule>(case: &str, rule: R) {
    check_within(case, rule, TOLERANCE);
}

fn check_within<R: UpdateRule>(case: &str, rule: R, tolerance: f64) {
    let worst = replay(case, rule);
    assert!(
        worst <= tolerance,
        "{case}: relative error {worst:e} > {tolerance:e}"
    );
}

#[test]
fn sgd_matches_torch() {
    check("sgd", Sgd::new());
}

#[test]
fn sgd_momentum_matches_torch() {
    check("sgd_momentum", Sgd::new().momentum(0.9));
}

#[test]
fn sgd_nesterov_matches_torch() {
    check("sgd_nesterov", Sgd::new().momentum(0.9).nesterov(true));
}

#[test]
fn rmsprop_with_epsilon_outside_matches_torch() {
    let rule = RmsProp::new()
        .rho(0.9)
        .epsilon(1e-6)
        .epsilon_placement(EpsilonPlacement::OutsideRoot);
    check("rmsprop", rule);
}

#[test]
fn adam_matches_torch() {
    check("adam", Adam::new().betas(0.9, 0.999).epsilon(1e-6));
}

#[test]
fn adam_with_decoupled_weight_decay_matches_torch_adamw() {
    check("adamw", Adam::new().epsilon(1e-6).weight_decay(0.1));
}

#[test]
fn burn_adamw_through_the_adapter_matches_torch_adamw() {
    let burn_adamw = AdamWConfig::new()
        .with_epsilon(1e-6)
        .with_weight_decay(0.1)
        .build();
    // Burn keeps β₁, β₂ as f32: 1 − 0.999f32 is 0.00099998713, 1.3e-5 off, which moves this
    // trajectory by ~1.2e-6 relative. Our own rules take f64 hyper-parameters and meet 1e-6.
    check_within("adamw", BurnOptimizer::new(burn_adamw, "adamw"), 2e-6);
}
