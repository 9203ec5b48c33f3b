//! The one error type of `nlp-core`: bad spans for a tag sequence, bad CRF constraints, and
//! device strings that name no usable backend.

use crate::decode::Span;

/// A bad argument to an `nlp-core` call.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Two spans share a position.
    #[error("spans {a:?} and {b:?} overlap; a tag sequence holds one span per position")]
    SpanOverlap {
        /// First span.
        a: Span,
        /// Second span.
        b: Span,
    },
    /// A span reaches past the sequence or is empty.
    #[error("span {span:?} does not fit in a sequence of length {len}")]
    SpanOutOfRange {
        /// The span.
        span: Span,
        /// Sequence length.
        len: usize,
    },
    /// CRF constraint vectors of the wrong size.
    #[error("CRF constraints: `{what}` has {got} entries, expected {expected}")]
    CrfConstraintSize {
        /// Which vector.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The expected length.
        expected: usize,
    },
    /// The backend exists but this build does not include it.
    #[error(
        "device `{name}` needs the `{feature}` cargo feature, which this build lacks; rebuild with `--features {feature}`"
    )]
    DeviceNotCompiled {
        /// The device string given by the user.
        name: String,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// The string names no known backend.
    #[error("unknown device `{0}`; expected one of: flex, ndarray, cpu, wgpu, cuda, cuda:N")]
    UnknownDevice(String),
    /// `cuda:N` with an N that is not a number.
    #[error("bad device index in `{0}`; expected e.g. `cuda:0`")]
    BadDeviceIndex(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
