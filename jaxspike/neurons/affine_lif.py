r"""Affine LIF: the discrete neuron every NIR neuron node (and every peer library) reduces to.

NIR describes ``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI`` and ``CubaLIF`` in continuous
time; each simulator discretises them into the same affine update, with coefficients
fixed once from the time constants and the step. In the order implemented:

.. math::
   i_t &= a_{syn}\, i_{t-1} + b_{syn}\, x_t \\
   \tilde v_t &= a_{mem}\, v_{t-1} + b_{mem}\, i_t + c_{mem}

followed by the one spike-and-reset rule of every spiking family
(:func:`jaxspike.neurons.spike_and_reset`, with the same keyword options: ``reset``,
``threshold``, ``multi_spike``, ``v_min``, ``reset_at``, ``refractory``). Without a synapse
(``a_syn = 0``, ``b_syn = 1``) the current is the input itself. NIR's rule is
``reset="zero"`` to :math:`v_{reset}` with ``threshold=">"``, the defaults here. One
option is this family's own: ``emit="late"`` outputs the previous step's spikes instead
of this step's (Spyx fires on the carried membrane: one step of latency per layer); it
selects the output and changes no arithmetic. The membrane before the reset is read with
:func:`jaxspike.neurons.step_with_trace`.

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

from jaxspike._validate import broadcast_param, check_choice, check_dt, check_input
from jaxspike.neurons.reset import (
    Reset,
    ResetAt,
    Threshold,
    check_options,
    check_state,
    spike_and_reset,
)
from jaxspike.neurons.surrogates import FastSigmoid, Surrogate

__all__ = [
    "AffineLIFParams",
    "AffineLIFState",
    "affine_lif_init",
    "affine_lif_step",
]

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
    """

    a_syn: Any = 0.0
    b_syn: Any = 1.0
    a_mem: Any = 1.0
    b_mem: Any = 1.0
    c_mem: Any = 0.0
    v_th: Any = 1.0
    v_reset: Any = 0.0

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
        a_mem: Any
        b_mem: Any
        c_mem: Any
        a_syn: Any
        b_syn: Any
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
        values = (a_syn, b_syn, a_mem, b_mem, c_mem, v_th, v_reset)
        return cls(*(jnp.asarray(np.asarray(v, np.float64), dtype) for v in values))


class AffineLIFState(NamedTuple):
    """Affine LIF state: membrane ``v``, current ``i``, refractory ``ref``, last spikes ``s``."""

    v: jax.Array
    i: jax.Array
    ref: jax.Array
    s: jax.Array


def affine_lif_init(
    params: AffineLIFParams, shape: tuple[int, ...], dtype: Any = jnp.float32, *, v: Any = 0.0
) -> AffineLIFState:
    """Resting state: membrane ``v`` (0 by default), no current, no spikes."""
    del params
    zeros = jnp.zeros(shape, dtype)
    return AffineLIFState(jnp.broadcast_to(jnp.asarray(v, dtype), shape), zeros, zeros, zeros)


@jax.named_scope("jaxspike.affine_lif_step")
def affine_lif_step(
    params: AffineLIFParams,
    state: AffineLIFState,
    x: jax.Array,
    *,
    reset: Reset = "zero",
    detach_reset: bool = True,
    surrogate: Surrogate | str = FastSigmoid(),
    threshold: Threshold = ">",
    multi_spike: bool = False,
    v_min: float | None = None,
    reset_at: ResetAt = "same_step",
    refractory: int = 0,
    emit: Literal["now", "late"] = "now",
) -> tuple[AffineLIFState, jax.Array]:
    """One affine LIF step (equations in the module docstring).

    Args:
        params: :class:`AffineLIFParams`.
        state: :class:`AffineLIFState` of the same shape as ``x``.
        x: input for this step.
        reset: ``"zero"`` (to ``v_reset``, NIR's rule), ``"subtract"`` or ``"none"``.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">"`` (NIR: ``v > v_th`` fires, the default here) or ``">="``.
        multi_spike: emit ``floor(v / v_th)`` spikes in one step (sinabs).
        v_min: membrane floor (``None``: none; sinabs' ``min_v_mem``).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch ``reset_delay=True``).
        refractory: steps a neuron ignores its input after a spike.
        emit: ``"now"``, or ``"late"``: output the previous step's spikes (Spyx).

    Returns:
        ``(state, spikes)``.

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
    check_state(fn, state, AffineLIFState, "affine_lif_init")
    o = check_options(
        fn,
        reset,
        surrogate,
        detach_reset=detach_reset,
        threshold=threshold,
        multi_spike=multi_spike,
        v_min=v_min,
        reset_at=reset_at,
        refractory=refractory,
    )
    check_choice(fn, "emit", emit, ("now", "late"))
    x = check_input(fn, x, state.v)
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in AffineLIFParams._fields}
    i = p["a_syn"] * state.i + p["b_syn"] * x

    def integrate(v: jax.Array) -> jax.Array:
        return p["a_mem"] * v + p["b_mem"] * i + p["c_mem"]

    f = spike_and_reset(integrate, state.v, state.ref, state.s, p["v_th"], p["v_reset"], o)
    out = state.s if emit == "late" else f.spikes
    return AffineLIFState(f.v, i, f.ref, f.spikes), out


__all__ = ["AffineLIFParams", "AffineLIFState", "affine_lif_init", "affine_lif_step"]
