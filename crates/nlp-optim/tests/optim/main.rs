//! Integration tests of nlp-optim against independent references: PyTorch trajectories
//! (fixtures), closed-form formulas in plain f64, and equivalences between set-ups.

mod accumulation;
mod common;
mod config;
mod ema;
mod formulas;
mod lazy;
mod names;
mod resume;
mod torch_reference;
