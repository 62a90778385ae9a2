r"""Izhikevich's simple model of spiking neurons, with his published presets.

Continuous dynamics (v in mV, t in ms):
:math:`\dot v = 0.04 v^2 + 5 v + 140 - u + I`, :math:`\dot u = a (b v - u)`; when
:math:`v \ge 30` mV: :math:`v \leftarrow c`, :math:`u \leftarrow u + d`.

Discrete update, in the order implemented (as in Izhikevich's 2003 reference code,
which advances ``v`` in two half steps for numerical stability):

.. math::
   f(v) &= 0.04 v^2 + 5 v + 140 - u_{t-1} + x_t \\
   v' &= v_{t-1} + \tfrac{\Delta t}{2} f(v_{t-1}) \\
   \tilde v_t &= v' + \tfrac{\Delta t}{2} f(v') \\
   u'_t &= u_{t-1} + \Delta t\, a\,(b\, \tilde v_t - u_{t-1}) \\
   s_t &= H(\tilde v_t - v_{th}) \\
   v_t &= (1 - s_t)\,\tilde v_t + s_t\, c, \qquad u_t = u'_t + d\, s_t

(:math:`v_{th} = 30` mV). The reset is always "to a value" (``c``); ``detach_reset``
stops its gradient. ``dt`` is in ms (1 by default, as in the reference code).

References:
    E. M. Izhikevich. Simple model of spiking neurons. IEEE Transactions on Neural
    Networks 14(6), 2003. E. M. Izhikevich. Which model to use for cortical spiking
    neurons? IEEE Transactions on Neural Networks 15(5), 2004.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike._validate import broadcast_param, check_dt, check_input
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
    "IZHIKEVICH_PRESETS",
    "IzhikevichParams",
    "IzhikevichState",
    "izhikevich_init",
    "izhikevich_step",
    "IZHIKEVICH",
]

#: (a, b, c, d) of the cortical and thalamic cell classes of Izhikevich (2003), Fig. 2.
IZHIKEVICH_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "RS": (0.02, 0.2, -65.0, 8.0),  # regular spiking
    "IB": (0.02, 0.2, -55.0, 4.0),  # intrinsically bursting
    "CH": (0.02, 0.2, -50.0, 2.0),  # chattering
    "FS": (0.1, 0.2, -65.0, 2.0),  # fast spiking
    "LTS": (0.02, 0.25, -65.0, 2.0),  # low-threshold spiking
    "TC": (0.02, 0.25, -65.0, 0.05),  # thalamo-cortical
    "RZ": (0.1, 0.26, -65.0, 2.0),  # resonator
}


class IzhikevichParams(NamedTuple):
    """Izhikevich parameters (scalars or per-neuron arrays); defaults are "RS".

    Attributes:
        a: recovery time scale (1/ms).
        b: sensitivity of the recovery variable to the membrane.
        c: membrane reset value (mV).
        d: recovery jump after a spike.
        v_th: spike cutoff (mV).
    """

    a: Any = 0.02
    b: Any = 0.2
    c: Any = -65.0
    d: Any = 8.0
    v_th: Any = 30.0

    @classmethod
    def preset(cls, name: str, dtype: Any = jnp.float32) -> IzhikevichParams:
        """Parameters of a named cell class: one of :data:`IZHIKEVICH_PRESETS`.

        Example:
            >>> IzhikevichParams.preset("FS").a.item()
            0.10000000149011612
        """
        try:
            a, b, c, d = IZHIKEVICH_PRESETS[name.upper()]
        except KeyError:
            raise ValueError(
                f"IzhikevichParams.preset: unknown preset {name!r}; expected one of "
                f"{sorted(IZHIKEVICH_PRESETS)}."
            ) from None
        return cls.create(a, b, c, d, dtype=dtype)

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> IzhikevichParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)


class IzhikevichState(NamedTuple):
    """Izhikevich state: ``v`` (mV), recovery ``u``, refractory ``ref``, spikes ``s``."""

    v: jax.Array
    u: jax.Array
    ref: jax.Array
    s: jax.Array


def izhikevich_init(
    params: IzhikevichParams, shape: tuple[int, ...], dtype: Any = jnp.float32
) -> IzhikevichState:
    """Resting state of the reference code: ``v = c`` and ``u = b * v``."""
    like = jnp.zeros(shape, dtype)
    v = broadcast_param("izhikevich_init", "c", params.c, like)
    u = broadcast_param("izhikevich_init", "b", params.b, like) * v
    return IzhikevichState(v, u, like, like)


@jax.named_scope("jaxspike.izhikevich_step")
def izhikevich_step(
    params: IzhikevichParams,
    state: IzhikevichState,
    x: jax.Array,
    *,
    dt: Any = 1.0,
    reset: Reset = "zero",
    detach_reset: bool = True,
    surrogate: Surrogate | str = FastSigmoid(),
    threshold: Threshold = ">=",
    multi_spike: bool = False,
    v_min: float | None = None,
    reset_at: ResetAt = "same_step",
    refractory: int = 0,
) -> tuple[IzhikevichState, jax.Array]:
    """One Izhikevich step of ``dt`` ms (equations in the module docstring).

    Args:
        params: :class:`IzhikevichParams`.
        state: :class:`IzhikevichState` of the same shape as ``x``.
        x: input current for this step.
        dt: step length in ms (> 0).
        reset: ``"zero"`` (to ``c``, the model's reset; default), ``"subtract"`` or
            ``"none"``. The recovery jump ``u += d`` comes with every reset.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">="`` (default) or ``">"`` (strict).
        multi_spike: emit ``floor(v / v_th)`` spikes per step (sinabs).
        v_min: membrane floor (``None``: none).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch's ``reset_delay``).
        refractory: steps a neuron ignores its input after a spike.

    The shared spike-and-reset options are described in
    :mod:`jaxspike.neurons.reset`.

    Returns:
        ``(state, spikes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = IzhikevichParams.preset("RS")
        >>> state, s = izhikevich_step(p, izhikevich_init(p, ()), jnp.asarray(10.0))
        >>> round(float(state.v), 3)
        -58.105
    """
    fn = "izhikevich_step"
    check_state(fn, state, IzhikevichState, "izhikevich_init")
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
    check_dt(fn, dt)
    x = check_input(fn, x, state.v)
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in IzhikevichParams._fields}
    half = jnp.asarray(dt, state.v.dtype) / 2

    def dv(v: jax.Array) -> jax.Array:
        return 0.04 * v**2 + 5.0 * v + 140.0 - state.u + x

    # The quadratic overflows for a huge input; held within half the square root of the
    # dtype's largest value, v**2 stays finite, so nothing computes inf - inf later.
    # Normal trajectories (|v| ~ 10^3 mV at most) never reach the bound.
    lim = 0.5 * float(np.sqrt(float(jnp.finfo(state.v.dtype).max)))

    def integrate(v: jax.Array) -> jax.Array:
        v_half = jnp.clip(v + half * dv(v), -lim, lim)
        return jnp.clip(v_half + half * dv(v_half), -lim, lim)

    f = spike_and_reset(integrate, state.v, state.ref, state.s, p["v_th"], p["c"], o)
    u = state.u + 2 * half * p["a"] * (p["b"] * f.v_pre - state.u)
    u = u + p["d"] * f.reset_signal
    return IzhikevichState(f.v, u, f.ref, f.spikes), f.spikes


#: Declaration of the Izhikevich neuron (see :mod:`jaxspike.neurons.declare`).
IZHIKEVICH = declare(
    "izhikevich",
    IzhikevichParams,
    IzhikevichState,
    izhikevich_init,
    izhikevich_step,
    {"a": "positive", "b": "real", "c": "real", "d": "real", "v_th": "real"},
    init_fields=("b", "c"),
)
