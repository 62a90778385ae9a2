r"""Integrate-and-fire neuron, with an optional constant leak and membrane floor.

Discrete update, in the order implemented (one step, all elementwise):

.. math::
   \tilde v_t &= \max\!\left(v_{t-1} + x_t - \lambda,\; v_{min}\right) \\
   s_t &= H(\tilde v_t - v_{th}) \\
   v_t &= \operatorname{reset}(\tilde v_t, s_t)

with the constant (subtractive) leak :math:`\lambda \ge 0` (0: no leak) and the floor
:math:`v_{min}` (:math:`-\infty` by default: no floor). With :math:`\lambda > 0` this is
the LIF in *subtractive* leak mode of SpikeSEG (its documentation; IGARSS 2023), where
:math:`\lambda` is 90% and 10% of the threshold in layers 1 and 2. Time is counted in
steps; the continuous form is :math:`\dot v = x - \lambda` (sinabs' IAF; the
sinabs tutorial "A quick (and over-simplified) introduction to spiking neurons").
With ``refractory = n > 0`` a neuron that fired ignores its input and holds its
membrane for the next ``n`` steps.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxspike._validate import broadcast_param, check_input
from jaxspike.neurons.declare import declare, params_create
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
    "IFParams",
    "IFState",
    "if_init",
    "if_step",
    "IF",
]


class IFParams(NamedTuple):
    """Integrate-and-fire parameters (scalars or per-neuron arrays).

    Attributes:
        v_th: firing threshold.
        v_reset: membrane after a spike with ``reset="zero"``.
        leak: constant leak subtracted every step (>= 0).
        v_min: floor of the membrane (``-inf``: none).
    """

    v_th: Any = 1.0
    v_reset: Any = 0.0
    leak: Any = 0.0
    v_min: Any = -math.inf

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> IFParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)


class IFState(NamedTuple):
    """Integrate-and-fire state: membrane ``v``, refractory counter ``ref``, spikes ``s``."""

    v: jax.Array
    ref: jax.Array
    s: jax.Array


def if_init(params: IFParams, shape: tuple[int, ...], dtype: Any = jnp.float32) -> IFState:
    """Resting state: ``v = 0``, not refractory."""
    del params
    return IFState(*(jnp.zeros(shape, dtype) for _ in range(3)))


@jax.named_scope("jaxspike.if_step")
def if_step(
    params: IFParams,
    state: IFState,
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
) -> tuple[IFState, jax.Array]:
    """One integrate-and-fire step (see the module docstring for the equations).

    Args:
        params: :class:`IFParams`.
        state: :class:`IFState` of the same shape as ``x``.
        x: input current for this step.
        reset: ``"subtract"``, ``"zero"`` (to ``v_reset``) or ``"none"``.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">="`` (default) or ``">"`` (strict).
        multi_spike: emit ``floor(v / v_th)`` spikes per step (sinabs).
        v_min: membrane floor (``None``: none).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch's ``reset_delay``).
        refractory: steps a neuron ignores its input after a spike.

    The shared spike-and-reset options are described in
    :mod:`jaxspike.neurons.reset`. The option ``v_min`` floors the
    membrane after integration and after the reset, on top of the parameter
    ``params.v_min`` (per neuron, after integration only).

    Returns:
        ``(state, spikes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = IFParams(v_th=1.0)
        >>> state, s = if_step(p, if_init(p, (2,)), jnp.asarray([0.5, 1.5]))
        >>> s.tolist(), state.v.tolist()
        ([0.0, 1.0], [0.5, 0.5])
    """
    fn = "if_step"
    check_state(fn, state, IFState, "if_init")
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
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in IFParams._fields}
    f = spike_and_reset(
        lambda v: jnp.maximum(v + x - p["leak"], p["v_min"]),
        state.v,
        state.ref,
        state.s,
        p["v_th"],
        p["v_reset"],
        o,
    )
    return IFState(f.v, f.ref, f.spikes), f.spikes


#: Declaration of the integrate-and-fire neuron (see :mod:`jaxspike.neurons.declare`).
IF = declare(
    "if",
    IFParams,
    IFState,
    if_init,
    if_step,
    {"v_th": "real", "v_reset": "real", "leak": "nonneg", "v_min": "real"},
)
