r"""adLIF: LIF with a coupled adaptation current (Bittar & Garner 2022).

The adaptation :math:`w` is driven by the membrane (subthreshold coupling :math:`a`)
and jumps by :math:`b` with every spike; it is subtracted from the input. In the order
implemented (time counted in steps, :math:`u_{t-1}` the previous pre-reset membrane):

.. math::
   w_t &= \beta\, w_{t-1} + a\, u_{t-1} + b\, s_{t-1} \\
   \tilde v_t &= \alpha\, v_{t-1} + (1 - \alpha)\,(x_t - w_t) \\
   s_t &= H(\tilde v_t - v_{th}) \\
   v_t &= \operatorname{reset}(\tilde v_t, s_t)

with :math:`\alpha = e^{-\Delta t/\tau_{mem}}` (``decay``) and
:math:`\beta = e^{-\Delta t/\tau_{adapt}}` (``decay_adapt``). With the default
``reset="subtract"``, :math:`v_{t-1} = u_{t-1} - v_{th} s_{t-1}`, so the membrane line
is the published :math:`u_t = \alpha(u_{t-1} - v_{th} s_{t-1}) + (1-\alpha)(x_t - w_t)`.
The state stores :math:`w_{t+1}` (computed at the end of step :math:`t`, when
:math:`u_t` and :math:`s_t` are known), so the step needs no second membrane. The
authors' code (SparCh) compares with ``>``; pass ``threshold=">"`` for it.

References:
    A. Bittar, P. N. Garner. A surrogate gradient spiking baseline for speech command
    recognition. Frontiers in Neuroscience 16, 2022. doi:10.3389/fnins.2022.865897
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


class AdLIFParams(NamedTuple):
    r"""adLIF parameters (scalars or per-neuron arrays).

    Attributes:
        decay: membrane decay :math:`\alpha` per step, in [0, 1].
        decay_adapt: adaptation decay :math:`\beta` per step, in [0, 1].
        a: subthreshold coupling of the adaptation to the membrane.
        b: adaptation jump per spike.
        v_th: firing threshold.
        v_reset: membrane after a spike with ``reset="zero"``.
    """

    decay: Any = 0.95
    decay_adapt: Any = 0.99
    a: Any = 0.5
    b: Any = 1.0
    v_th: Any = 1.0
    v_reset: Any = 0.0

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> AdLIFParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)

    @classmethod
    def from_tau(
        cls, *args: Any, dt: Any = 1.0, dtype: Any = jnp.float32, **kwargs: Any
    ) -> AdLIFParams:
        r"""Decays :math:`e^{-\Delta t/\tau}` from the declared time constants (> 0)."""
        return params_from_tau(cls, *args, dt=dt, dtype=dtype, **kwargs)


class AdLIFState(NamedTuple):
    """adLIF state: ``v``, next adaptation ``w``, refractory ``ref``, spikes ``s``."""

    v: jax.Array
    w: jax.Array
    ref: jax.Array
    s: jax.Array


def adlif_init(params: Any, shape: tuple[int, ...], dtype: Any = jnp.float32) -> AdLIFState:
    """Resting state: all zeros."""
    del params
    return AdLIFState(*(jnp.zeros(shape, dtype) for _ in range(4)))


@jax.named_scope("jaxspike.adlif_step")
def adlif_step(
    params: AdLIFParams,
    state: AdLIFState,
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
) -> tuple[AdLIFState, jax.Array]:
    """One adLIF step (equations in the module docstring).

    Args:
        params: :class:`AdLIFParams`.
        state: :class:`AdLIFState` of the same shape as ``x``.
        x: input current for this step.
        reset: ``"subtract"`` (default), ``"zero"`` or ``"none"``.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">="`` (default) or ``">"`` (strict, as the authors' code).
        multi_spike: emit ``floor(v / v_th)`` spikes per step (sinabs).
        v_min: membrane floor (``None``: none).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch's ``reset_delay``).
        refractory: steps a neuron ignores its input after a spike.

    Returns:
        ``(state, spikes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = AdLIFParams(decay=0.5, decay_adapt=0.5, a=0.0, b=1.0, v_th=1.0)
        >>> state, s = adlif_step(p, adlif_init(p, ()), jnp.asarray(2.0))
        >>> float(s), float(state.v), float(state.w)
        (1.0, 0.0, 1.0)
    """
    fn = "adlif_step"
    check_state(fn, state, AdLIFState, "adlif_init")
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
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in AdLIFParams._fields}
    alpha = p["decay"]
    f = spike_and_reset(
        lambda v: alpha * v + (1.0 - alpha) * (x - state.w),
        state.v,
        state.ref,
        state.s,
        p["v_th"],
        p["v_reset"],
        o,
    )
    w_next = p["decay_adapt"] * state.w + p["a"] * f.v_pre + p["b"] * f.spikes
    return AdLIFState(f.v, w_next, f.ref, f.spikes), f.spikes


#: Declaration of adLIF (see :mod:`jaxspike.neurons.declare`).
ADLIF = declare(
    "adlif",
    AdLIFParams,
    AdLIFState,
    adlif_init,
    adlif_step,
    {
        "decay": "unit",
        "decay_adapt": "unit",
        "a": "real",
        "b": "real",
        "v_th": "real",
        "v_reset": "real",
    },
    taus={"tau_mem": "decay", "tau_adapt": "decay_adapt"},
)
