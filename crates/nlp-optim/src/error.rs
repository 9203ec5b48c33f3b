//! The crate's error type.

/// Everything that can go wrong when configuring an optimizer or saving/loading its state.
///
/// Configuration is checked once, when the chain is turned into a [`ModelOptimizer`]
/// (`init`), so a training loop never panics on a bad setting.
///
/// [`ModelOptimizer`]: crate::ModelOptimizer
#[derive(Clone, Debug, thiserror::Error)]
pub enum OptimError {
    /// A hyper-parameter is out of its valid range.
    #[error("{optimizer}: invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// Which optimizer or wrapper rejected it.
        optimizer: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What the valid range is.
        reason: &'static str,
    },
    /// A learning-rate schedule is malformed.
    #[error("invalid piecewise-linear schedule: {0}")]
    Schedule(String),
    /// A parameter-name pattern is not a valid regular expression.
    #[error("invalid parameter-name pattern {pattern:?}: {source}")]
    Pattern {
        /// The pattern as written.
        pattern: String,
        /// The regex compiler's complaint.
        source: regex::Error,
    },
    /// `apply_ema` was called but the chain has no `ema` wrapper.
    #[error("the optimizer chain has no exponential moving average (add `.ema(momentum)`)")]
    NoEma,
    /// `apply_ema` was called twice without `restore_weights` in between.
    #[error("EMA weights are already swapped in; call `restore_weights` first")]
    EmaAlreadyApplied,
    /// `restore_weights` was called without a preceding `apply_ema`.
    #[error("no training weights are stored; call `apply_ema` first")]
    EmaNotApplied,
    /// The optimizer state was saved while the EMA weights were swapped in.
    #[error(
        "cannot save optimizer state while EMA weights are swapped in; call `restore_weights` first"
    )]
    SaveWhileEmaApplied,
    /// A saved optimizer state does not belong to this optimizer chain.
    #[error(
        "optimizer record mismatch: the record was written by `{found}`, this optimizer is `{expected}`"
    )]
    RecordMismatch {
        /// The chain loading the record.
        expected: String,
        /// The chain that wrote it.
        found: String,
    },
    /// A saved optimizer state is unreadable or incomplete.
    #[error("invalid optimizer record: {0}")]
    Record(String),
}
