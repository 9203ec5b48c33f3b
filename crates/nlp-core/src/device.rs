//! Turn a user's `--device` string into a [`Device`].
//!
//! Accepted names: `flex` (the recommended CPU backend), `ndarray` (deprecated CPU backend),
//! `cpu` (CubeCL CPU runtime), `wgpu` (any GPU through wgpu/Vulkan/Metal), `cuda` / `cuda:N`.
//! Each backend exists only when its cargo feature was compiled in; asking for a missing one
//! gives an error that names the feature to enable.

use burn::tensor::Device;

use crate::error::{Error, Result};

/// Names of the backends compiled into this build, in order of preference.
pub fn available_devices() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "cuda") {
        names.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        names.push("wgpu");
    }
    if cfg!(feature = "flex") {
        names.push("flex");
    }
    if cfg!(feature = "cpu") {
        names.push("cpu");
    }
    if cfg!(feature = "ndarray") {
        names.push("ndarray");
    }
    names
}

/// The default device of this build: the first of [`available_devices`], which prefers a GPU.
///
/// # Panics
/// Never in a normal build: the crates enable `flex` by default. A build with every backend
/// feature switched off has no device at all, and Burn panics here with its own guidance.
pub fn default_device() -> Device {
    match available_devices().first() {
        Some(name) => parse_device(name).expect("a compiled-in backend parses"),
        None => Device::default(),
    }
}

/// Parse `flex`, `ndarray`, `cpu`, `wgpu`, `cuda` or `cuda:N` (case-insensitive) into a device.
pub fn parse_device(spec: &str) -> Result<Device> {
    let lower = spec.trim().to_ascii_lowercase();
    let (name, index) = match lower.split_once(':') {
        Some((name, idx)) => {
            let idx: usize = idx
                .parse()
                .map_err(|_| Error::BadDeviceIndex(spec.to_string()))?;
            (name.to_string(), Some(idx))
        }
        None => (lower.clone(), None),
    };
    let missing = |feature: &'static str| Error::DeviceNotCompiled {
        name: spec.to_string(),
        feature,
    };
    // Only CUDA devices carry an index.
    if index.is_some() && name != "cuda" {
        return Err(Error::BadDeviceIndex(spec.to_string()));
    }
    match name.as_str() {
        "flex" => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[cfg(not(feature = "flex"))]
            return Err(missing("flex"));
        }
        "ndarray" => {
            #[cfg(feature = "ndarray")]
            return Ok(Device::ndarray());
            #[cfg(not(feature = "ndarray"))]
            return Err(missing("ndarray"));
        }
        "cpu" => {
            #[cfg(feature = "cpu")]
            return Ok(Device::cpu());
            #[cfg(not(feature = "cpu"))]
            return Err(missing("cpu"));
        }
        "wgpu" | "gpu" => {
            #[cfg(feature = "wgpu")]
            return Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice));
            #[cfg(not(feature = "wgpu"))]
            return Err(missing("wgpu"));
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            return Ok(Device::cuda(index.unwrap_or(0)));
            #[cfg(not(feature = "cuda"))]
            let _ = index;
            #[cfg(not(feature = "cuda"))]
            return Err(missing("cuda"));
        }
        _ => Err(Error::UnknownDevice(spec.to_string())),
    }
}
