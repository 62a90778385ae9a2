r"""Adaptive LIF: a spike-triggered threshold adaptation (Bellec et al. 2018, LSNN).

In the order implemented (time counted in steps):

.. math::
   \tilde v_t &= \beta\, v_{t-1} + x_t \\
   \theta_t &= v_{th} + b\, a_{t-1} \\
   s_t &= H(\tilde v_t - \theta_t) \\
   v_t &= \operatorname{reset}(\tilde v_t, s_t) \quad (\text{``subtract'' removes } \theta_t) \\
   a_t &= \rho\, a_{t-1} + (1 - \rho)\, s_t

with membrane decay :math:`\beta` (``decay``), adaptation decay
:math:`\rho = e^{-\Delta t/\tau_a}` (``decay_adapt``) and adaptation strength
:math:`b` (``adapt``; Bellec et al. write :math:`\beta`). The adaptation variable sees
the spike with its gradient (only the reset term honours ``detach_reset``).

References:
    G. Bellec, D. Salaj, A. Subramoney, R. Legenstein, W. Maass. Long short-term memory
    and learning-to-learn in networks of spiking neurons. NeurIPS 2018.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxspike._validate import broadcast_param, check_input
from jaxspike.neurons.declare import declare, params_create, params_from_tau
from jaxspike.neurons.reset import (
    Reset,
    ResetAt,
    Threshold,
    check_options,
    check_state,
    spike_and_reset,
)
from jaxspike.neurons.surrogates import FastSigmoid, Surrogate


class ALIFParams(NamedTuple):
    """Adaptive LIF parameters (scalars or per-neuron arrays).

    Attributes:
        decay: membrane decay factor per step, in [0, 1].
        decay_adapt: adaptation decay factor per step, in [0, 1].
        v_th: baseline threshold.
        adapt: adaptation strength (threshold increase per unit of ``a``).
        v_reset: membrane after a spike with ``reset="zero"``.
    """

    decay: Any = 0.9
    decay_adapt: Any = 0.99
    v_th: Any = 1.0
    adapt: Any = 0.2
    v_reset: Any = 0.0

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> ALIFParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)

    @classmethod
    def from_tau(
        cls, *args: Any, dt: Any = 1.0, dtype: Any = jnp.float32, **kwargs: Any
    ) -> ALIFParams:
        r"""Decays :math:`e^{-\Delta t/\tau}` from the declared time constants (> 0)."""
        return params_from_tau(cls, *args, dt=dt, dtype=dtype, **kwargs)


class ALIFState(NamedTuple):
    """Adaptive LIF state: ``v``, adaptation ``a``, refractory ``ref``, spikes ``s``."""

    v: jax.Array
    a: jax.Array
    ref: jax.Array
    s: jax.Array


def alif_init(params: ALIFParams, shape: tuple[int, ...], dtype: Any = jnp.float32) -> ALIFState:
    """Resting state: ``v = 0``, ``a = 0``."""
    del params
    return ALIFState(*(jnp.zeros(shape, dtype) for _ in range(4)))


@jax.named_scope("jaxspike.alif_step")
def alif_step(
    params: ALIFParams,
    state: ALIFState,
    x: jax.Array,
    *,
    reset: Reset = "subtract",
    detach_reset: bool = True,
    surrogate: Surrogate | str = FastSigmoid(),
    threshold: Threshold = ">=",
    multi_spike: bool = False,
    v_min: float | None = None,
    reset_at: ResetAt = "same_step",
    refractory: int = 0,
) -> tuple[ALIFState, jax.Array]:
    """One adaptive LIF step (equations in the module docstring).

    Args:
        params: :class:`ALIFParams`.
        state: :class:`ALIFState` of the same shape as ``x``.
        x: input current for this step.
        reset: ``"subtract"`` (removes the adapted threshold), ``"zero"`` or ``"none"``.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">="`` (default) or ``">"`` (strict).
        multi_spike: emit ``floor(v / v_th)`` spikes per step (sinabs).
        v_min: membrane floor (``None``: none).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch's ``reset_delay``).
        refractory: steps a neuron ignores its input after a spike.

    The shared spike-and-reset options are described in
    :mod:`jaxspike.neurons.reset`. With ``reset_at="next_step"``,
    ``"subtract"`` removes the adapted threshold of the step the reset acts in.

    Returns:
        ``(state, spikes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = ALIFParams(decay=1.0, decay_adapt=0.5, v_th=1.0, adapt=1.0)
        >>> state, s = alif_step(p, alif_init(p, ()), jnp.asarray(1.0))
        >>> float(s), float(state.a)
        (1.0, 0.5)
    """
    fn = "alif_step"
    check_state(fn, state, ALIFState, "alif_init")
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
    x = check_input(fn, x, state.v)
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in ALIFParams._fields}
    theta = p["v_th"] + p["adapt"] * state.a
    f = spike_and_reset(
        lambda v: p["decay"] * v + x, state.v, state.ref, state.s, theta, p["v_reset"], o
    )
    a = p["decay_adapt"] * state.a + (1.0 - p["decay_adapt"]) * f.spikes
    return ALIFState(f.v, a, f.ref, f.spikes), f.spikes


#: Declaration of the adaptive LIF (see :mod:`jaxspike.neurons.declare`).
ALIF = declare(
    "alif",
    ALIFParams,
    ALIFState,
    alif_init,
    alif_step,
    {
        "decay": "unit",
        "decay_adapt": "unit",
        "v_th": "real",
        "adapt": "real",
        "v_reset": "real",
    },
    taus={"tau_mem": "decay", "tau_adapt": "decay_adapt"},
)
