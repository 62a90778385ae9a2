r"""Affine LIF: the discrete neuron every NIR neuron node (and every peer library) reduces to.

NIR describes ``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI`` and ``CubaLIF`` in continuous
time; each simulator discretises them into the same affine update, with coefficients
fixed once from the time constants and the step. In the order implemented:

.. math::
   i_t &= a_{syn}\, i_{t-1} + b_{syn}\, x_t \\
   \tilde v_t &= a_{mem}\, v_{t-1} + b_{mem}\, i_t + c_{mem} \\
   \tilde v_t &\leftarrow \operatorname{reset}(\tilde v_t, s_{t-1})
      \qquad\text{(only with ``reset_at="next_step"``)} \\
   s_t &= H(\tilde v_t - v_{th}) \quad\text{or}\quad
          \mathbb 1[\tilde v_t > v_{th}] \quad\text{(``threshold=">"``)} \\
   v_t &= \max\bigl(\operatorname{reset}(\tilde v_t, s_t),\, v_{min}\bigr)
      \qquad\text{(``reset_at="same_step"``)}

Without a synapse (``a_syn = 0``, ``b_syn = 1``) the current is the input itself. The
reset is ``"zero"`` (to :math:`v_{reset}`), ``"subtract"`` (:math:`v_{th}` per spike) or
``"none"``. With ``multi_spike=True`` a step emits
:math:`\max(\lfloor \tilde v_t / v_{th}\rfloor, 1)\, s_t` spikes (sinabs' default) and
``"subtract"`` removes that many thresholds. ``reset_at="next_step"`` applies the reset
of a spike after the next step's integration (snnTorch ``reset_delay=True``); with
``emit="late"`` a step outputs the previous step's spikes (Spyx fires on the carried
membrane, one step of latency per layer). The state keeps the last spikes ``s`` for both.

:meth:`AffineLIFParams.from_tau` computes the coefficients from NIR's fields: with
``method="euler"`` :math:`a = 1 - \Delta t/\tau`, :math:`b_{mem} = R\,\Delta t/\tau_{mem}`,
:math:`c_{mem} = v_{leak}\,\Delta t/\tau_{mem}`, :math:`b_{syn} = w_{in}\,\Delta t/\tau_{syn}`;
with ``"exact"`` :math:`a = e^{-\Delta t/\tau}`, :math:`b_{mem} = R(1 - a_{mem})`,
:math:`c_{mem} = v_{leak}(1 - a_{mem})`, :math:`b_{syn} = w_{in}(1 - a_{syn})`. Without
``tau_mem`` (``IF``, ``I``) :math:`a_{mem} = 1`, :math:`b_{mem} = R\,\Delta t`. An
``"impulse"`` gain drops the :math:`\Delta t/\tau` (or :math:`1-a`) factor: each input adds
:math:`R x` (or :math:`w_{in} x`), as Norse's current and Spyx do.

References:
    NIR: J. E. Pedersen et al. Neuromorphic intermediate representation: a unified
    instruction set for interoperable brain-inspired computing. Nature Communications
    15, 8122 (2024).
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxspike._validate import broadcast_param, check_choice, check_dt, check_input
from jaxspike.neurons.reset import Reset, check_options, fire
from jaxspike.neurons.spike import spike
from jaxspike.neurons.surrogates import FastSigmoid, Surrogate

Gain = Literal["continuous", "impulse"]


class AffineLIFParams(NamedTuple):
    """Affine LIF coefficients (scalars or per-neuron arrays).

    Attributes:
        a_syn: current decay per step (0 with ``b_syn = 1``: no synapse).
        b_syn: input gain of the current.
        a_mem: membrane decay per step.
        b_mem: current gain of the membrane.
        c_mem: constant drive per step (the leak target's share).
        v_th: firing threshold (``inf``: never fires).
        v_reset: membrane after a spike with ``reset="zero"``.
        v_min: floor of the membrane after the reset (``-inf``: none).
    """

    a_syn: Any = 0.0
    b_syn: Any = 1.0
    a_mem: Any = 1.0
    b_mem: Any = 1.0
    c_mem: Any = 0.0
    v_th: Any = 1.0
    v_reset: Any = 0.0
    v_min: Any = -math.inf

    @classmethod
    def from_tau(
        cls,
        tau_mem: Any = None,
        dt: float = 1.0,
        *,
        tau_syn: Any = None,
        r: Any = 1.0,
        v_leak: Any = 0.0,
        w_in: Any = 1.0,
        v_th: Any = math.inf,
        v_reset: Any = 0.0,
        v_min: Any = -math.inf,
        method: Literal["euler", "exact"] = "euler",
        membrane_gain: Gain = "continuous",
        synapse_gain: Gain = "continuous",
        dtype: Any = jnp.float32,
    ) -> AffineLIFParams:
        r"""Coefficients of NIR's continuous equations for a step ``dt`` (module docstring).

        Computed in float64 from concrete values. Without ``tau_mem`` the membrane does not
        leak (``IF``/``I``); without ``tau_syn`` there is no synapse.

        Raises:
            ValueError: a time constant <= 0, or ``tau < dt`` with ``method="euler"``
                (the decay :math:`1 - \Delta t/\tau` would be negative: unstable).
        """
        fn = "AffineLIFParams.from_tau"
        check_dt(fn, dt)
        check_choice(fn, "method", method, ("euler", "exact"))
        check_choice(fn, "membrane_gain", membrane_gain, ("continuous", "impulse"))
        check_choice(fn, "synapse_gain", synapse_gain, ("continuous", "impulse"))

        def decay(name: str, tau: Any) -> tuple[np.ndarray, np.ndarray]:
            t = np.asarray(tau, np.float64)
            if np.any(~(t > 0)):
                raise ValueError(f"{fn}: {name} must be > 0, got {t.tolist()}.")
            if method == "exact":
                a = np.exp(-dt / t)
                return a, 1.0 - a
            if np.any(t < dt):
                raise ValueError(
                    f"{fn}: {name} = {t.min()} < dt = {dt}: forward Euler's decay "
                    f"1 - dt/{name} is negative (unstable)."
                )
            return 1.0 - dt / t, dt / t

        r64 = np.asarray(r, np.float64)
        if tau_mem is None:
            a_mem = np.float64(1.0)
            b_mem = r64 * (dt if membrane_gain == "continuous" else 1.0)
            c_mem = np.float64(0.0)
        else:
            a_mem, k = decay("tau_mem", tau_mem)
            b_mem = r64 * (k if membrane_gain == "continuous" else 1.0)
            c_mem = np.asarray(v_leak, np.float64) * k
        if tau_syn is None:
            a_syn, b_syn = np.float64(0.0), np.float64(1.0)
        else:
            a_syn, k_s = decay("tau_syn", tau_syn)
            w = np.asarray(w_in, np.float64)
            b_syn = w * (k_s if synapse_gain == "continuous" else 1.0)
        values = (a_syn, b_syn, a_mem, b_mem, c_mem, v_th, v_reset, v_min)
        return cls(*(jnp.asarray(np.asarray(v, np.float64), dtype) for v in values))


class AffineLIFState(NamedTuple):
    """Affine LIF state: membrane ``v``, current ``i`` and the last step's spikes ``s``."""

    v: jax.Array
    i: jax.Array
    s: jax.Array


def affine_lif_init(
    params: AffineLIFParams, shape: tuple[int, ...], dtype: Any = jnp.float32, *, v: Any = 0.0
) -> AffineLIFState:
    """Resting state: membrane ``v`` (0 by default), no current, no spikes."""
    del params
    zeros = jnp.zeros(shape, dtype)
    return AffineLIFState(jnp.broadcast_to(jnp.asarray(v, dtype), shape), zeros, zeros)


def _reset(v: jax.Array, r: jax.Array, reset: Reset, v_th: jax.Array, v_reset: jax.Array):
    if reset == "subtract":
        return v - r * v_th
    if reset == "zero":
        return v + jnp.minimum(r, 1) * (v_reset - v)
    return v


@jax.named_scope("jaxspike.affine_lif_step")
def affine_lif_step(
    params: AffineLIFParams,
    state: AffineLIFState,
    x: jax.Array,
    *,
    reset: Reset = "zero",
    threshold: Literal[">=", ">"] = ">",
    multi_spike: bool = False,
    reset_at: Literal["same_step", "next_step"] = "same_step",
    emit: Literal["now", "late"] = "now",
    detach_reset: bool = True,
    surrogate: Surrogate | str = FastSigmoid(),
    pre_reset: bool = False,
) -> tuple[AffineLIFState, Any]:
    """One affine LIF step (equations in the module docstring).

    Args:
        params: :class:`AffineLIFParams`.
        state: :class:`AffineLIFState` of the same shape as ``x``.
        x: input for this step.
        reset: ``"zero"`` (to ``v_reset``, NIR's rule), ``"subtract"`` or ``"none"``.
        threshold: ``">"`` (NIR: ``v > v_th`` fires) or ``">="``.
        multi_spike: emit ``floor(v / v_th)`` spikes in one step (sinabs).
        reset_at: ``"same_step"`` or ``"next_step"`` (after the next integration).
        emit: ``"now"``, or ``"late"``: output the previous step's spikes.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        pre_reset: also return the membrane before this step's reset.

    Returns:
        ``(state, spikes)``, or ``(state, (spikes, v_pre_reset))`` with ``pre_reset``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = AffineLIFParams(a_mem=0.5, b_mem=1.0, v_th=1.0)
        >>> s0 = affine_lif_init(p, ())
        >>> state, s = affine_lif_step(p, s0, jnp.asarray(1.0))  # 1 > 1 is False
        >>> float(s), float(state.v)
        (0.0, 1.0)
        >>> state, s = affine_lif_step(p, state, jnp.asarray(1.0))  # 1.5 fires, to 0
        >>> float(s), float(state.v)
        (1.0, 0.0)
    """
    fn = "affine_lif_step"
    surrogate = check_options(fn, reset, surrogate)
    check_choice(fn, "threshold", threshold, (">=", ">"))
    check_choice(fn, "reset_at", reset_at, ("same_step", "next_step"))
    check_choice(fn, "emit", emit, ("now", "late"))
    x = check_input(fn, x, state.v)
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in AffineLIFParams._fields}
    i = p["a_syn"] * state.i + p["b_syn"] * x
    v = p["a_mem"] * state.v + p["b_mem"] * i + p["c_mem"]
    if reset_at == "next_step":
        r = lax.stop_gradient(state.s) if detach_reset else state.s
        v = _reset(v, r, reset, p["v_th"], p["v_reset"])
    v_pre = v
    th = p["v_th"]
    if threshold == ">":
        # the next float up: v >= it iff v > v_th (the gradient still flows to v_th)
        up = jnp.nextafter(lax.stop_gradient(th), jnp.asarray(jnp.inf, th.dtype))
        th = th + lax.stop_gradient(up - th)
    now = "none" if reset_at == "next_step" else reset
    if multi_spike:
        s = spike(v - th, surrogate)
        count = jnp.maximum(jnp.floor(lax.stop_gradient(v) / p["v_th"]), 1.0)
        s = s + lax.stop_gradient(count * s - s)
        r = lax.stop_gradient(s) if detach_reset else s
        v = _reset(v, r, now, p["v_th"], p["v_reset"])
    else:
        v, s = fire(
            v,
            th,
            p["v_reset"],
            reset=now,
            surrogate=surrogate,
            detach_reset=detach_reset,
            subtract=p["v_th"],
        )
    v = jnp.maximum(v, p["v_min"])
    out = state.s if emit == "late" else s
    return AffineLIFState(v, i, s), ((out, v_pre) if pre_reset else out)


__all__ = ["AffineLIFParams", "AffineLIFState", "affine_lif_init", "affine_lif_step"]
