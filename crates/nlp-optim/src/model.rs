//! Drives an [`UpdateRule`] over every parameter of a Burn module, keeps the per-parameter
//! states, swaps EMA weights in and out, and saves/loads the states.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::optim::{GradientsParams, StateSink, StateSource};
use burn::tensor::{Device, GradientCheckpointingStrategy, Tensor, TensorData};

use crate::{OptimError, ParamInfo, ParamState, UpdateRule};

/// Record metadata key holding the chain's [`UpdateRule::describe`].
const RULE_KEY: &str = "nlp_optim.rule";
/// Record metadata key holding the format version.
const FORMAT_KEY: &str = "nlp_optim.format";
const FORMAT: &str = "1";
/// Per-parameter scalar holding the parameter's rank.
const RANK_LEAF: &str = "__rank";

/// Calls `$body` with `const $d: usize` equal to the runtime rank, for ranks 0 to 6.
macro_rules! with_rank {
    ($rank:expr, $d:ident => $body:expr, $otherwise:expr) => {
        match $rank {
            0 => {
                const $d: usize = 0;
                $body
            }
            1 => {
                const $d: usize = 1;
                $body
            }
            2 => {
                const $d: usize = 2;
                $body
            }
            3 => {
                const $d: usize = 3;
                $body
            }
            4 => {
                const $d: usize = 4;
                $body
            }
            5 => {
                const $d: usize = 5;
                $body
            }
            6 => {
                const $d: usize = 6;
                $body
            }
            _ => $otherwise,
        }
    };
}

/// A type-erased value (a state or a tensor) for a parameter of known rank.
struct Slot {
    rank: usize,
    value: Box<dyn Any + Send + Sync>,
}

impl Slot {
    fn new<T: Send + Sync + 'static>(rank: usize, value: T) -> Self {
        Self {
            rank,
            value: Box::new(value),
        }
    }

    fn get<T: 'static>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }

    fn take<T: 'static>(self) -> Option<T> {
        self.value.downcast().ok().map(|b| *b)
    }
}

/// Optimizes whole Burn modules with an [`UpdateRule`] chain — the counterpart of Burn's
/// `ModuleOptimizer`, but passing each parameter's module path to the rule (for the name
/// patterns) and keying states by that path (stable across processes, unlike parameter ids).
///
/// ```no_run
/// # use burn::{module::Module, optim::GradientsParams, tensor::Tensor};
/// # use nlp_optim::{Adam, RuleExt};
/// # fn train<M: Module>(model: M, loss: impl Fn(&M) -> Tensor<1>) -> Result<M, nlp_optim::OptimError> {
/// let mut optim = Adam::new().weight_decay(0.01).ema(0.999).init()?;
/// let mut model = model;
/// for _ in 0..100 {
///     let grads = GradientsParams::from_grads(loss(&model).backward(), &model);
///     model = optim.step(1e-3, model, grads);
/// }
/// let eval_model = optim.apply_ema(&model)?; // evaluate with the averaged weights...
/// let model = optim.restore_weights(&eval_model)?; // ...and continue training
/// # Ok(model) }
/// ```
pub struct ModelOptimizer<R: UpdateRule> {
    rule: R,
    states: HashMap<String, Slot>,
    training_weights: Option<HashMap<String, Slot>>,
}

impl<R: UpdateRule> ModelOptimizer<R> {
    /// Check `rule`'s configuration and wrap it. Same as [`RuleExt::init`](crate::RuleExt::init).
    pub fn new(rule: R) -> Result<Self, OptimError> {
        rule.validate()?;
        Ok(Self {
            rule,
            states: HashMap::new(),
            training_weights: None,
        })
    }

    /// The rule chain.
    pub fn rule(&self) -> &R {
        &self.rule
    }

    /// Update every parameter of `module` that has a gradient in `grads` with learning rate
    /// `lr`. Parameters without a gradient are left alone, and so is their state.
    pub fn step<M: Module>(&mut self, lr: f64, module: M, mut grads: GradientsParams) -> M {
        let mut mapper = StepMapper {
            rule: &self.rule,
            lr,
            grads: &mut grads,
            states: &mut self.states,
            path: Vec::new(),
        };
        module.map(&mut mapper)
    }

    /// The state of the parameter at `path` (module path, e.g. `layer.weight`), if it has one
    /// and its rank is `D`.
    pub fn state<const D: usize>(&self, path: &str) -> Option<&R::State<D>> {
        self.states
            .get(path)
            .filter(|slot| slot.rank == D)
            .and_then(Slot::get)
    }

    /// Paths of the parameters that have a state, sorted.
    pub fn param_paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self.states.keys().map(String::as_str).collect();
        paths.sort_unstable();
        paths
    }

    /// A copy of `module` with every parameter replaced by its bias-corrected EMA
    /// (parameters without an average yet, e.g. before the first update, keep their values).
    /// `module` itself is unchanged.
    pub fn ema_model<M: Module>(&self, module: &M) -> Result<M, OptimError> {
        self.check_has_ema()?;
        let mut mapper = EmaMapper {
            rule: &self.rule,
            states: &self.states,
            saved: None,
            path: Vec::new(),
        };
        Ok(module.clone().map(&mut mapper))
    }

    /// Swap the EMA weights into the model for evaluation, keeping the training weights for
    /// [`restore_weights`](Self::restore_weights).
    pub fn apply_ema<M: Module>(&mut self, module: &M) -> Result<M, OptimError> {
        if self.training_weights.is_some() {
            return Err(OptimError::EmaAlreadyApplied);
        }
        self.check_has_ema()?;
        let mut saved = HashMap::new();
        let mut mapper = EmaMapper {
            rule: &self.rule,
            states: &self.states,
            saved: Some(&mut saved),
            path: Vec::new(),
        };
        let module = module.clone().map(&mut mapper);
        self.training_weights = Some(saved);
        Ok(module)
    }

    /// Swap the training weights saved by [`apply_ema`](Self::apply_ema) back in.
    pub fn restore_weights<M: Module>(&mut self, module: &M) -> Result<M, OptimError> {
        let saved = self
            .training_weights
            .take()
            .ok_or(OptimError::EmaNotApplied)?;
        let mut mapper = RestoreMapper {
            saved,
            path: Vec::new(),
        };
        Ok(module.clone().map(&mut mapper))
    }

    fn check_has_ema(&self) -> Result<(), OptimError> {
        if self.rule.keeps_average() {
            Ok(())
        } else {
            Err(OptimError::NoEma)
        }
    }

    /// Serialize every parameter's state (Burn's burnpack format, tensors bit for bit).
    pub fn to_bytes(&self) -> Result<Vec<u8>, OptimError> {
        let bytes = self.writer()?.into_bytes().map_err(record_error)?;
        Ok(bytes.to_vec())
    }

    /// Save every parameter's state to `path` (burnpack format; the file name is used as
    /// given).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), OptimError> {
        self.writer()?
            .auto_extension(false)
            .write_to_file(path)
            .map_err(record_error)
    }

    /// Replace the states with those in `bytes` (from [`to_bytes`](Self::to_bytes)), placing
    /// the tensors on `device` (the model's device).
    pub fn load_bytes(&mut self, bytes: Vec<u8>, device: &Device) -> Result<(), OptimError> {
        let reader = burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
            .map_err(record_error)?;
        self.read(reader, device)
    }

    /// Replace the states with those saved in `path` by [`save`](Self::save).
    pub fn load(&mut self, path: impl AsRef<Path>, device: &Device) -> Result<(), OptimError> {
        // Read the whole file: a lazily-mapped record would keep referring to the file.
        let bytes = std::fs::read(path).map_err(record_error)?;
        self.load_bytes(bytes, device)
    }

    fn writer(&self) -> Result<burn_pack::Writer, OptimError> {
        if self.training_weights.is_some() {
            return Err(OptimError::SaveWhileEmaApplied);
        }
        let mut sink = StateSink::default();
        let mut paths: Vec<&String> = self.states.keys().collect();
        paths.sort_unstable();
        for path in paths {
            let slot = &self.states[path];
            let saved = with_rank!(slot.rank, D => slot
                .get::<R::State<D>>()
                .map(|state| state.save(path, &mut sink))
                .is_some(), false);
            if !saved {
                return Err(OptimError::Record(format!(
                    "no state of rank {} for {path}",
                    slot.rank
                )));
            }
            sink.push_scalar(path, RANK_LEAF, burn_pack::Scalar::from(slot.rank));
        }
        let tensors = sink
            .tensors
            .into_iter()
            .map(|(name, data)| {
                let (bytes, shape, dtype) = data.into_parts();
                burn_pack::Tensor::new(name, dtype, shape, None, bytes)
            })
            .collect();
        let mut writer = burn_pack::Writer::new(tensors)
            .with_metadata(FORMAT_KEY, FORMAT)
            .with_metadata(RULE_KEY, &self.rule.describe());
        for (name, value) in sink.scalars {
            writer = writer.with_scalar(&name, value);
        }
        Ok(writer)
    }

    fn read(&mut self, reader: burn_pack::Reader, device: &Device) -> Result<(), OptimError> {
        let expected = self.rule.describe();
        let found = reader.metadata().get(RULE_KEY).cloned().unwrap_or_default();
        if found != expected {
            return Err(OptimError::RecordMismatch { expected, found });
        }
        let scalars: BTreeMap<_, _> = reader.scalars().clone();
        let suffix = format!(".{RANK_LEAF}");
        let ranks: Vec<(String, usize)> = scalars
            .iter()
            .filter_map(|(name, value)| {
                let path = name.strip_suffix(&suffix)?;
                Some((path.to_string(), usize::try_from(*value).ok()?))
            })
            .collect();
        let mut source = StateSource::new(scalars);
        for tensor in reader.into_tensors().map_err(record_error)? {
            let (name, dtype, shape, _, bytes) = tensor.into_parts().map_err(record_error)?;
            source.insert_tensor(name, TensorData::from_bytes(bytes, shape, dtype));
        }
        let device = device.clone().without_autodiff();
        let mut states = HashMap::new();
        for (path, rank) in ranks {
            let state = with_rank!(rank, D => R::State::<D>::load(&path, &mut source, &device)
                .map(|state| Slot::new(D, state)), None);
            let state = state.ok_or_else(|| {
                OptimError::Record(format!(
                    "incomplete state for parameter {path} (rank {rank})"
                ))
            })?;
            states.insert(path, state);
        }
        self.states = states;
        Ok(())
    }
}

fn record_error(error: impl std::fmt::Display) -> OptimError {
    OptimError::Record(error.to_string())
}

/// The autodiff settings of a parameter, restored on its updated value (as Burn's own
/// optimizers do).
struct ParamContext {
    require_grad: bool,
    distributed: bool,
    checkpointing: Option<GradientCheckpointingStrategy>,
}

impl ParamContext {
    fn capture<const D: usize>(tensor: &Tensor<D>) -> Self {
        let checkpointing = tensor.gradient_checkpointing_strategy();
        let autodiff = checkpointing.is_some();
        Self {
            require_grad: autodiff && tensor.is_require_grad(),
            distributed: autodiff && tensor.is_distributed(),
            checkpointing,
        }
    }

    fn restore<const D: usize>(&self, value: Tensor<D>, id: ParamId) -> Tensor<D> {
        let Some(strategy) = self.checkpointing else {
            return value; // the parameter did not use autodiff
        };
        let mut value = value
            .autodiff()
            .with_gradient_checkpointing_strategy(strategy);
        if self.require_grad {
            value = value.require_grad();
        }
        if self.distributed {
            value = value.set_distributed(id);
        }
        value
    }
}

struct StepMapper<'a, R: UpdateRule> {
    rule: &'a R,
    lr: f64,
    grads: &'a mut GradientsParams,
    states: &'a mut HashMap<String, Slot>,
    path: Vec<String>,
}

impl<R: UpdateRule> ModuleMapper for StepMapper<'_, R> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let path = self.path.join(".");
        let context = ParamContext::capture(&tensor);
        let value = tensor.inner();
        let grad = grad.to_device(&value.device());
        let state = self
            .states
            .remove(&path)
            .filter(|slot| slot.rank == D)
            .and_then(Slot::take::<R::State<D>>);
        let info = ParamInfo { path: &path };
        let (update, state) = self.rule.step(info, self.lr, value.clone(), grad, state);
        let value = update.apply(value);
        self.states.insert(path, Slot::new(D, state));
        Param::from_mapped_value(id, context.restore(value, id), mapper)
    }
}

struct EmaMapper<'a, R: UpdateRule> {
    rule: &'a R,
    states: &'a HashMap<String, Slot>,
    saved: Option<&'a mut HashMap<String, Slot>>,
    path: Vec<String>,
}

impl<R: UpdateRule> ModuleMapper for EmaMapper<'_, R> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let average = self
            .states
            .get(&path)
            .filter(|slot| slot.rank == D)
            .and_then(Slot::get::<R::State<D>>)
            .and_then(|state| self.rule.averaged_weights(state));
        let Some(average) = average else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let context = ParamContext::capture(&tensor);
        let training = tensor.inner();
        let average = average.to_device(&training.device());
        if let Some(saved) = self.saved.as_deref_mut() {
            saved.insert(path, Slot::new(D, training));
        }
        Param::from_mapped_value(id, context.restore(average, id), mapper)
    }
}

struct RestoreMapper {
    saved: HashMap<String, Slot>,
    path: Vec<String>,
}

impl ModuleMapper for RestoreMapper {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let Some(training) = self.saved.remove(&path).and_then(Slot::take::<Tensor<D>>) else {
            return param;
        };
        let (id, tensor, mapper) = param.consume();
        let context = ParamContext::capture(&tensor);
        Param::from_mapped_value(id, context.restore(training, id), mapper)
    }
}
