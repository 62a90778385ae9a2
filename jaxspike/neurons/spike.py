r"""The spike: Heaviside forward pass with a surrogate gradient.

:math:`s = H(x) = \mathbb{1}[x \ge 0]` with :math:`x = v - v_{th}`: a neuron fires when
its membrane reaches the threshold (``v >= v_th``; the comparison of the sinabs tutorial and
sinabs). snnTorch, Norse and Spyx use ``v > v_th``; the two differ only where
``v == v_th`` exactly.

Reverse mode goes through :func:`jax.custom_vjp` (the default). Wrap a surrogate in
:class:`ForwardMode` to use a :func:`jax.custom_jvp` rule instead, which also supports
:func:`jax.jvp` and :func:`jax.jacfwd`; its reverse-mode gradients are identical.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxspike.neurons.surrogates import Surrogate, get_surrogate, surrogate_class

__all__ = [
    "ForwardMode",
    "spike",
]


@surrogate_class
class ForwardMode(Surrogate):
    """Wrap a surrogate so :func:`spike` uses the forward-mode (``custom_jvp``) rule.

    The wrapped surrogate's derivative and primitive are unchanged.

    Example:
        >>> from jaxspike import FastSigmoid
        >>> f = lambda x: spike(x, ForwardMode(FastSigmoid()))
        >>> float(jax.jvp(f, (jnp.asarray(0.0),), (jnp.asarray(1.0),))[1])
        1.0
    """

    inner: Surrogate

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return self.inner(x)

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        return self.inner.smooth(x)


def _heaviside(x: jax.Array) -> jax.Array:
    return (x >= 0).astype(x.dtype)


def _wide(dtype: Any) -> Any:
    """The dtype the surrogate is evaluated in: at least float32 (float64 stays)."""
    return jnp.promote_types(dtype, jnp.float32)


def _to_dtype(value: jax.Array, dtype: Any) -> jax.Array:
    """Cast to ``dtype``, clipping finite values to its range (no overflow to inf)."""
    big = float(jnp.finfo(dtype).max)
    return jnp.clip(value, -big, big).astype(dtype)


def _surrogate_grad(x: jax.Array, surrogate: Surrogate) -> jax.Array:
    """``surrogate(x)`` evaluated in float32 or wider, clipped into ``x``'s dtype.

    In float16/bfloat16 a sharp surrogate (large slope, small width) then overflows
    neither in its own arithmetic nor in the cast back. NaN in ``x`` stays NaN.
    """
    return _to_dtype(surrogate(x.astype(_wide(x.dtype))), x.dtype)


@jax.custom_vjp
def _spike_vjp(x: jax.Array, surrogate: Surrogate) -> jax.Array:
    return _heaviside(x)


def _spike_vjp_fwd(x: jax.Array, surrogate: Surrogate) -> tuple[jax.Array, Any]:
    return _heaviside(x), (x, surrogate)


def _spike_vjp_bwd(res: Any, g: jax.Array) -> tuple[jax.Array, Any]:
    x, surrogate = res
    zeros = jax.tree.map(jnp.zeros_like, surrogate)
    return g * _surrogate_grad(x, surrogate), zeros


_spike_vjp.defvjp(_spike_vjp_fwd, _spike_vjp_bwd)


@jax.custom_jvp
def _spike_jvp(x: jax.Array, surrogate: Surrogate) -> jax.Array:
    return _heaviside(x)


@_spike_jvp.defjvp
def _spike_jvp_rule(primals: Any, tangents: Any) -> tuple[jax.Array, jax.Array]:
    x, surrogate = primals
    x_dot, _ = tangents
    return _heaviside(x), _surrogate_grad(x, surrogate) * x_dot


def spike(x: jax.Array, surrogate: Surrogate | str) -> jax.Array:
    r"""Heaviside spike :math:`H(x) = \mathbb{1}[x \ge 0]` with a surrogate gradient.

    Args:
        x: membrane minus threshold, any shape and floating dtype.
        surrogate: a :class:`~jaxspike.Surrogate` or its name. The backward pass
            multiplies the incoming cotangent by ``surrogate(x)``. Wrap it in
            :class:`ForwardMode` for forward-mode autodiff.

    Returns:
        Spikes, 0 or 1, with ``x``'s shape and dtype.

    Example:
        >>> from jaxspike import FastSigmoid
        >>> spike(jnp.asarray([-0.5, 0.0, 0.5]), FastSigmoid()).tolist()
        [0.0, 1.0, 1.0]
        >>> float(jax.grad(lambda x: spike(x, FastSigmoid(slope=1.0)))(1.0))
        0.25
    """
    try:
        surrogate = get_surrogate(surrogate)
    except (TypeError, ValueError) as err:
        raise type(err)(f"spike: {err}") from None
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"spike: x must have a floating dtype, got {x.dtype}.")
    if isinstance(surrogate, ForwardMode):
        return _spike_jvp(x, surrogate.inner)
    return _spike_vjp(x, surrogate)
