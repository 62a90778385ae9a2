r"""Leaky integrate-and-fire neurons: multiplicative decay and continuous time.

Two leak modes live here; the third, a constant subtractive leak, is
:func:`~jaxspike.if_step` with ``leak > 0`` (the SpikeSEG documentation's "subtractive mode").

**Multiplicative decay** (:func:`lif_step`; the SpikeSEG documentation's multiplicative
mode, snnpytorch's ``SpikingNeuronLayer``, snnTorch ``Leaky``, Spyx ``LIF``). In the order
implemented:

.. math::
   \tilde v_t &= \beta\, v_{t-1} + x_t \\
   s_t &= H(\tilde v_t - v_{th}) \\
   v_t &= \operatorname{reset}(\tilde v_t, s_t)

with the decay factor :math:`\beta \in [0, 1]` (``decay``); time is counted in steps and
:math:`\beta = e^{-\Delta t/\tau}` for a membrane time constant :math:`\tau`
(:meth:`LIFParams.from_tau`). With ``reset="subtract"`` the subtracted threshold decays
with the membrane on the next step. ``reset_at="next_step"`` instead gives snnTorch's
``Leaky(reset_delay=True)`` and the soft reset of snnpytorch's ``SpikingNeuronLayer``:
the stored membrane is the pre-reset :math:`u_t = \tilde v_t` and
:math:`u_t = \beta u_{t-1} + x_t - v_{th} s_{t-1}` (the threshold removed undecayed).
``decay_reset=False`` is an alias of it (with ``reset="subtract"``).

**Continuous time** (:func:`ctlif_step`; the sinabs tutorial's continuous LIF, NIR's ``LIF``):
:math:`\tau\,\dot v = (v_{leak} - v) + R\,(x + I_{bias})`, integrated over one step of
length ``dt`` with the input held constant, then spike and reset as above:

.. math::
   v_\infty &= v_{leak} + R\,(x_t + I_{bias}) \\
   \tilde v_t &= v_{t-1} + \tfrac{\Delta t}{\tau}(v_\infty - v_{t-1})
      \quad\text{(Euler)} \qquad\text{or}\qquad
   \tilde v_t = v_\infty + (v_{t-1} - v_\infty)\,e^{-\Delta t/\tau}
      \quad\text{(exact)}

``tau_mem`` and ``dt`` share one unit (e.g. ms).

References:
    W. Gerstner, W. M. Kistler, R. Naud, L. Paninski. Neuronal Dynamics, ch. 1.3.
    Cambridge University Press, 2014.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from jaxspike._validate import (
    broadcast_param,
    check_choice,
    check_dt,
    check_input,
)
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

__all__ = [
    "LIFParams",
    "LIFState",
    "lif_init",
    "lif_step",
    "CTLIFParams",
    "ctlif_init",
    "ctlif_step",
    "LIF",
    "CTLIF",
]


class LIFParams(NamedTuple):
    """Multiplicative-decay LIF parameters (scalars or per-neuron arrays).

    Attributes:
        decay: membrane decay factor per step, in [0, 1].
        v_th: firing threshold.
        v_reset: membrane after a spike with ``reset="zero"``.
    """

    decay: Any = 0.9
    v_th: Any = 1.0
    v_reset: Any = 0.0

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> LIFParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)

    @classmethod
    def from_tau(
        cls, *args: Any, dt: Any = 1.0, dtype: Any = jnp.float32, **kwargs: Any
    ) -> LIFParams:
        r"""Decays :math:`e^{-\Delta t/\tau}` from the declared time constants (> 0)."""
        return params_from_tau(cls, *args, dt=dt, dtype=dtype, **kwargs)


class LIFState(NamedTuple):
    """LIF state: membrane ``v``, refractory counter ``ref``, previous spikes ``s``."""

    v: jax.Array
    ref: jax.Array
    s: jax.Array


def lif_init(params: Any, shape: tuple[int, ...], dtype: Any = jnp.float32) -> LIFState:
    """Resting state: ``v = 0``, not refractory (for :func:`lif_step` and :func:`ctlif_step`)."""
    del params
    return LIFState(*(jnp.zeros(shape, dtype) for _ in range(3)))


@jax.named_scope("jaxspike.lif_step")
def lif_step(
    params: LIFParams,
    state: LIFState,
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
    decay_reset: bool = True,
) -> tuple[LIFState, jax.Array]:
    """One multiplicative-decay LIF step (equations in the module docstring).

    Args:
        params: :class:`LIFParams`.
        state: :class:`LIFState` of the same shape as ``x``.
        x: input current for this step.
        reset: ``"subtract"``, ``"zero"`` (to ``v_reset``) or ``"none"``.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">="`` (default) or ``">"`` (strict).
        multi_spike: emit ``floor(v / v_th)`` spikes per step (sinabs).
        v_min: membrane floor (``None``: none).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch's ``reset_delay``).
        refractory: steps a neuron ignores its input after a spike.
        decay_reset: alias kept for compatibility: ``False`` is
            ``reset_at="next_step"`` when ``reset="subtract"`` (and changes nothing
            for the other resets, as before).

    The shared options are described in :mod:`jaxspike.neurons.reset`; the pre-reset
    membrane is available through :func:`~jaxspike.neurons.step_with_trace`.

    Returns:
        ``(state, spikes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = LIFParams(decay=0.5, v_th=1.0)
        >>> state, s = lif_step(p, lif_init(p, ()), jnp.asarray(1.25))
        >>> float(s), float(state.v)
        (1.0, 0.25)
    """
    fn = "lif_step"
    check_state(fn, state, LIFState, "lif_init")
    if not isinstance(decay_reset, bool):
        raise TypeError(f"{fn}: decay_reset must be a bool, got {decay_reset!r}.")
    if not decay_reset and reset == "subtract":
        reset_at = "next_step"
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
    decay = broadcast_param(fn, "decay", params.decay, state.v)
    v_th = broadcast_param(fn, "v_th", params.v_th, state.v)
    v_reset = broadcast_param(fn, "v_reset", params.v_reset, state.v)
    f = spike_and_reset(lambda v: decay * v + x, state.v, state.ref, state.s, v_th, v_reset, o)
    return LIFState(f.v, f.ref, f.spikes), f.spikes


class CTLIFParams(NamedTuple):
    """Continuous-time LIF parameters (scalars or per-neuron arrays).

    Attributes:
        tau_mem: membrane time constant (> 0, in the unit of ``dt``).
        v_leak: resting potential the membrane relaxes to.
        r: membrane resistance (scales the input).
        i_bias: constant bias current.
        v_th: firing threshold.
        v_reset: membrane after a spike with ``reset="zero"``.
    """

    tau_mem: Any = 20.0
    v_leak: Any = 0.0
    r: Any = 1.0
    i_bias: Any = 0.0
    v_th: Any = 1.0
    v_reset: Any = 0.0

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> CTLIFParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)


ctlif_init = lif_init


@jax.named_scope("jaxspike.ctlif_step")
def ctlif_step(
    params: CTLIFParams,
    state: LIFState,
    x: jax.Array,
    *,
    dt: Any = 1.0,
    method: Literal["exact", "euler"] = "exact",
    reset: Reset = "zero",
    detach_reset: bool = True,
    surrogate: Surrogate | str = FastSigmoid(),
    threshold: Threshold = ">=",
    multi_spike: bool = False,
    v_min: float | None = None,
    reset_at: ResetAt = "same_step",
    refractory: int = 0,
) -> tuple[LIFState, jax.Array]:
    """One continuous-time LIF step of length ``dt`` (equations in the module docstring).

    Args:
        params: :class:`CTLIFParams`.
        state: :class:`LIFState` of the same shape as ``x``.
        x: input current, held constant over the step.
        dt: step length, in the unit of ``tau_mem`` (> 0).
        method: ``"exact"`` (exponential integrator) or ``"euler"``.
        reset: ``"zero"`` (to ``v_reset``, default), ``"subtract"`` or ``"none"``.
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
        >>> p = CTLIFParams(tau_mem=20.0, v_th=10.0)
        >>> state, s = ctlif_step(p, lif_init(p, ()), jnp.asarray(11.0), method="euler")
        >>> round(float(state.v), 4)
        0.55
    """
    fn = "ctlif_step"
    check_state(fn, state, LIFState, "ctlif_init")
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
    check_choice(fn, "method", method, ("exact", "euler"))
    check_dt(fn, dt)
    x = check_input(fn, x, state.v)
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in CTLIFParams._fields}
    ratio = jnp.asarray(dt, state.v.dtype) / p["tau_mem"]
    v_inf = p["v_leak"] + p["r"] * (x + p["i_bias"])

    def integrate(v: jax.Array) -> jax.Array:
        if method == "euler":
            return v + ratio * (v_inf - v)
        # v e + v_inf (1 - e): equal to v_inf + (v - v_inf) e, and no inf - inf for an
        # infinite input.
        return v * jnp.exp(-ratio) - v_inf * jnp.expm1(-ratio)

    f = spike_and_reset(integrate, state.v, state.ref, state.s, p["v_th"], p["v_reset"], o)
    return LIFState(f.v, f.ref, f.spikes), f.spikes


#: Declaration of the multiplicative-decay LIF (see :mod:`jaxspike.neurons.declare`).
LIF = declare(
    "lif",
    LIFParams,
    LIFState,
    lif_init,
    lif_step,
    {"decay": "unit", "v_th": "real", "v_reset": "real"},
    taus={"tau_mem": "decay"},
)

#: Declaration of the continuous-time LIF.
CTLIF = declare(
    "ctlif",
    CTLIFParams,
    LIFState,
    ctlif_init,
    ctlif_step,
    {
        "tau_mem": "positive",
        "v_leak": "real",
        "r": "real",
        "i_bias": "real",
        "v_th": "real",
        "v_reset": "real",
    },
)
