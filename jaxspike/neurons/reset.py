r"""Spike-and-reset, shared by every spiking neuron.

Every spiking step in jaxspike runs the same three phases in the same order:

1. **integrate**: compute the pre-reset membrane :math:`\tilde v_t` from the previous
   (post-reset) membrane :math:`v_{t-1}` and the input :math:`x_t` (model-specific);
2. **spike**: :math:`s_t = H(\tilde v_t - v_{th})` with :math:`H(0) = 1`;
3. **reset** (:func:`fire`), with :math:`r_t = \mathrm{sg}(s_t)` when ``detach_reset``
   (the default) and :math:`r_t = s_t` otherwise:

   * ``"subtract"``: :math:`v_t = \tilde v_t - r_t\,v_{th}`;
   * ``"zero"``: :math:`v_t = (1 - r_t)\,\tilde v_t + r_t\,v_{reset}` (to ``v_reset``,
     0 by default);
   * ``"none"``: :math:`v_t = \tilde v_t`.

A spike therefore leaves the neuron in the same step (no one-step lag per layer).
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

from jaxspike._validate import check_choice
from jaxspike.neurons.spike import spike
from jaxspike.neurons.surrogates import Surrogate, get_surrogate

Reset = Literal["subtract", "zero", "none"]
RESETS: tuple[str, ...] = ("subtract", "zero", "none")


def check_options(fn: str, reset: str, surrogate: Surrogate | str) -> Surrogate:
    """Validate the shared static options and resolve the surrogate."""
    check_choice(fn, "reset", reset, RESETS)
    try:
        return get_surrogate(surrogate)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{fn}: {err}") from None


def fire(
    v: jax.Array,
    v_th: jax.Array,
    v_reset: jax.Array,
    *,
    reset: Reset,
    surrogate: Surrogate,
    detach_reset: bool,
    subtract: jax.Array | None = None,
    active: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Spike on the pre-reset membrane ``v`` and apply the reset.

    Args:
        v: pre-reset membrane.
        v_th: threshold (same shape as ``v``).
        v_reset: value for ``reset="zero"``.
        reset: ``"subtract"``, ``"zero"`` or ``"none"``.
        surrogate: surrogate gradient of the spike.
        detach_reset: stop the gradient through the reset term.
        subtract: amount removed by ``"subtract"`` (default ``v_th``).
        active: optional mask (1 where the neuron may fire, 0 while refractory).

    Returns:
        ``(v_post, spikes)``.
    """
    s = spike(v - v_th, surrogate)
    if active is not None:
        s = s * active
    r = lax.stop_gradient(s) if detach_reset else s
    if reset == "subtract":
        v = v - r * (v_th if subtract is None else subtract)
    elif reset == "zero":
        # (1 - r) v + r v_reset gives exactly v_reset after a spike even for a huge v
        # (v + r (v_reset - v) rounds it away). An infinite membrane must reset to
        # v_reset, not to 0 * inf = NaN: the formula runs on a finite stand-in and the
        # result is selected (gradient-safe double where).
        finite = jnp.isfinite(v)
        v_fin = jnp.where(finite, v, jnp.zeros_like(v))
        v = jnp.where(finite, (1 - r) * v_fin + r * v_reset, jnp.where(r > 0, v_reset, v))
    return v, s


def refractory_gate(
    ref: jax.Array, v_new: jax.Array, v_old: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Hold the membrane of refractory neurons.

    Returns the integrated membrane where ``ref <= 0`` and the old one elsewhere, and
    the mask ``active = 1[ref <= 0]`` to pass to :func:`fire`.
    """
    active = (ref <= 0).astype(v_new.dtype)
    return jnp.where(ref <= 0, v_new, v_old), active


def refractory_count(ref: jax.Array, s: jax.Array, refractory: int) -> jax.Array:
    """Next refractory counter: ``refractory`` after a spike, else one less (floor 0)."""
    fired = lax.stop_gradient(s) > 0
    return jnp.where(fired, jnp.asarray(refractory, ref.dtype), jnp.maximum(ref - 1, 0))
