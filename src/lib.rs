//! bert4burn: BERT-family NLP for Chinese text on [Burn](burn).
//!
//! This facade re-exports the workspace crates, like `burn` re-exports its parts:
//! - [`core`] (`nlp-core`): masks, attention, position embeddings, LayerNorm, CRF, decoding, padding;
//! - [`models`] (`nlp-models`): BERT, DGCNN, VQ-VAE;
//! - [`optim`] (`nlp-optim`): RMSprop/Adam and the derived optimizers;
//! - [`tasks`] (`nlp-tasks`): extraction, QA and generation;
//! - [`text`] (`nlp-text`): word frequencies and new-word discovery (no Burn).

pub use burn;
pub use nlp_core as core;
pub use nlp_models as models;
pub use nlp_optim as optim;
pub use nlp_tasks as tasks;
pub use nlp_text as text;
