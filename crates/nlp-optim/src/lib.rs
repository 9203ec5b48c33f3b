//! Optimizers for bert4burn: RMSprop, Adam and SGD, plus the derived optimizers of
//! "6个派生优化器的简单介绍及其实现" as wrappers that stack over any base, in the order
//! written — the Rust counterpart of bert4keras' `extend_with_*`.
//!
//! ```no_run
//! use burn::module::Module;
//! use burn::optim::GradientsParams;
//! use burn::tensor::Tensor;
//! use nlp_optim::{Adam, RuleExt};
//!
//! # fn train<M: Module>(mut model: M, loss: impl Fn(&M) -> Tensor<1>) -> Result<(), nlp_optim::OptimError> {
//! // LAMB with decoupled weight decay (not on LayerNorm/bias), warm-up to step 1000 then
//! // decay to 0.1 at step 2000, updating once every 4 micro-batches.
//! let mut optim = Adam::new()
//!     .weight_decay(0.01)
//!     .exclude(&["norm", "bias"])
//!     .layer_adaptation()
//!     .piecewise_linear_lr(&[(1000, 1.0), (2000, 0.1)])
//!     .gradient_accumulation(4)
//!     .init()?; // configuration errors surface here, never as panics
//! for _ in 0..10_000 {
//!     let grads = GradientsParams::from_grads(loss(&model).backward(), &model);
//!     model = optim.step(1e-3, model, grads);
//! }
//! optim.save("optim.bpk")?; // resume later with `optim.load(path, &device)`
//! # Ok(()) }
//! ```
//!
//! * Base rules: [`Sgd`] (momentum, Nesterov; Burn's own `Sgd`), [`RmsProp`] (ε inside or
//!   outside the root), [`Adam`] (optional bias correction), or any Burn optimizer through
//!   [`BurnOptimizer`].
//! * Wrappers ([`RuleExt`]): one shape, [`Extended`], around an inner rule, filled by each
//!   derived optimizer's [`Extension`] (only its difference): [`WeightDecay`],
//!   [`LayerAdaptation`], [`PiecewiseLinearLr`], [`GradientAccumulation`], [`Lookahead`],
//!   [`Lazy`], [`Ema`], [`LrMultipliers`].
//! * [`ModelOptimizer`] applies a chain to every parameter of a Burn module, swaps EMA weights
//!   in and out, and saves/loads all states so a resumed run continues bit for bit.

mod accumulation;
mod adam;
mod burn_adapter;
mod ema;
mod error;
mod ext;
mod extended;
mod layer_adaptation;
mod lazy;
mod lookahead;
mod lr_multiplier;
mod model;
mod patterns;
mod rmsprop;
mod rule;
mod schedule;
mod sgd;
mod state;
mod weight_decay;

pub use accumulation::{AccumulationState, GradientAccumulation};
pub use adam::{Adam, AdamState};
pub use burn_adapter::{BurnOptimizer, BurnState};
pub use ema::{Ema, EmaState};
pub use error::OptimError;
pub use ext::RuleExt;
pub use extended::{Extended, Extension};
pub use layer_adaptation::LayerAdaptation;
pub use lazy::Lazy;
pub use lookahead::{Lookahead, LookaheadState};
pub use lr_multiplier::LrMultipliers;
pub use model::ModelOptimizer;
pub use patterns::NamePatterns;
pub use rmsprop::{EpsilonPlacement, RmsProp, RmsPropState};
pub use rule::{ParamInfo, Update, UpdateRule};
pub use schedule::{PiecewiseLinear, PiecewiseLinearLr, ScheduleState};
pub use sgd::Sgd;
pub use state::ParamState;
pub use weight_decay::WeightDecay;
