//! Reparameterisation tricks: the straight-through estimator and Gumbel-softmax sampling.

use burn::tensor::activation::softmax;
use burn::tensor::{Distribution, Tensor};

/// Straight-through estimator `x + sg(f(x) − x)`: the forward value is `f(x)`, the gradient
/// flows to `x` as if `f` were the identity (VQ-VAE, hard Gumbel-softmax).
pub fn straight_through<const D: usize>(x: Tensor<D>, fx: Tensor<D>) -> Tensor<D> {
    x.clone().add(fx.sub(x).detach())
}

/// Gumbel-softmax over the last axis: `softmax((logits + g) / τ)` with `g = −log(−log u)`,
/// `u ~ U(0, 1)`. With `hard`, the forward value is the one-hot argmax and the gradient is the
/// soft sample's (straight-through). The argmax of a sample is distributed as
/// `softmax(logits)` whatever τ is (the Gumbel-max trick).
///
/// Randomness comes from the device's generator: seed it with `device.seed(n)` for
/// reproducible samples.
pub fn gumbel_softmax<const D: usize>(logits: Tensor<D>, tau: f64, hard: bool) -> Tensor<D> {
    // Keep u away from 0 and 1 so both logarithms stay finite.
    let u = logits.random_like(Distribution::Uniform(1e-10, 1.0 - 1e-7));
    let gumbel = u.log().neg().log().neg();
    let soft = softmax(logits.add(gumbel).div_scalar(tau), D - 1);
    if !hard {
        return soft;
    }
    // One-hot of the argmax (exact ties have probability zero under continuous noise).
    let max = soft.clone().max_dim(D - 1);
    let one_hot = soft.clone().equal(max.expand(soft.dims())).float();
    straight_through(soft, one_hot)
}
