//! Bad configurations are reported by `init` with a clear error, never a panic.

use nlp_optim::{Adam, OptimError, RmsProp, RuleExt, Sgd};

fn message(result: Result<impl Sized, OptimError>) -> String {
    match result {
        Ok(_) => panic!("configuration was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn schedules_must_increase() {
    let text = message(
        Adam::new()
            .piecewise_linear_lr(&[(1000, 1.0), (1000, 0.1)])
            .init(),
    );
    assert!(text.contains("strictly increasing"), "{text}");
    let text = message(
        Adam::new()
            .piecewise_linear_lr(&[(2000, 1.0), (1000, 0.1)])
            .init(),
    );
    assert!(text.contains("2000 then 1000"), "{text}");
    let text = message(Adam::new().piecewise_linear_lr(&[]).init());
    assert!(text.contains("no points"), "{text}");
    let text = message(Adam::new().piecewise_linear_lr(&[(10, f64::NAN)]).init());
    assert!(text.contains("finite"), "{text}");
}

#[test]
fn out_of_range_hyper_parameters_are_rejected() {
    let cases = [
        (message(Adam::new().betas(1.0, 0.999).init()), "beta_1"),
        (message(Adam::new().epsilon(-1.0).init()), "epsilon"),
        (message(RmsProp::new().rho(1.5).init()), "rho"),
        (message(Sgd::new().momentum(-0.1).init()), "momentum"),
        (message(Sgd::new().nesterov(true).init()), "Nesterov"),
        (message(Adam::new().weight_decay(-0.01).init()), "rate"),
        (
            message(Adam::new().gradient_accumulation(0).init()),
            "steps",
        ),
        (message(Adam::new().lookahead(0, 0.5).init()), "k"),
        (message(Adam::new().lookahead(5, 1.5).init()), "alpha"),
        (message(Adam::new().ema(1.0).init()), "momentum"),
        (
            message(Adam::new().lr_multipliers(&[("crf", -100.0)]).init()),
            "multiplier",
        ),
    ];
    for (text, needle) in cases {
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
    }
}

#[test]
fn bad_name_patterns_are_rejected() {
    let text = message(
        Adam::new()
            .weight_decay(0.01)
            .exclude(&["norm", "bias("])
            .init(),
    );
    assert!(text.contains("bias("), "{text}");
    // An error deep inside the chain surfaces through every wrapper.
    let text = message(
        Adam::new()
            .layer_adaptation()
            .exclude(&["[unclosed"])
            .piecewise_linear_lr(&[(1, 1.0)])
            .gradient_accumulation(2)
            .ema(0.999)
            .init(),
    );
    assert!(text.contains("[unclosed"), "{text}");
}

#[test]
fn the_issue_example_chain_builds_and_describes_itself() {
    let optim = Adam::new()
        .weight_decay(0.01)
        .layer_adaptation()
        .piecewise_linear_lr(&[(1000, 1.0), (2000, 0.1)])
        .gradient_accumulation(4)
        .init()
        .unwrap();
    use nlp_optim::UpdateRule;
    assert_eq!(
        optim.rule().describe(),
        "gradient_accumulation(4, piecewise_linear_lr([(0, 0.0), (1000, 1.0), (2000, 0.1)], \
         layer_adaptation(weight_decay(0.01, adam(β₁=0.9, β₂=0.999, ε=0.000001)))))"
    );
}
