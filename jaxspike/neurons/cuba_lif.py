r"""Current-based LIF: a synaptic current with its own time constant drives the membrane.

In the order implemented (multiplicative decays, time counted in steps):

.. math::
   i_t &= \alpha\, i_{t-1} + x_t \\
   \tilde v_t &= \beta\, v_{t-1} + i_t \\
   s_t &= H(\tilde v_t - v_{th}) \\
   v_t &= \operatorname{reset}(\tilde v_t, s_t)

with :math:`\alpha = e^{-\Delta t/\tau_{syn}}` (``decay_syn``) and
:math:`\beta = e^{-\Delta t/\tau_{mem}}` (``decay_mem``). The synaptic current is never
reset. snnTorch's ``Synaptic`` integrates the same way but subtracts the previous
step's reset (like ``lif_step(..., decay_reset=False)``); Norse's ``LIF`` uses Euler
decays and drives the membrane with the previous step's current; Spyx's ``CuBaLIF``
applies the reset before integrating.

References:
    W. Gerstner et al. Neuronal Dynamics, ch. 1.3 and 3.1. Cambridge University Press,
    2014. F. Zenke, T. P. Vogels. The remarkable robustness of surrogate gradient
    learning. Neural Computation 33(4), 2021.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxspike._validate import (
    broadcast_param,
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


class CubaLIFParams(NamedTuple):
    """Current-based LIF parameters (scalars or per-neuron arrays).

    Attributes:
        decay_syn: synaptic-current decay factor per step, in [0, 1].
        decay_mem: membrane decay factor per step, in [0, 1].
        v_th: firing threshold.
        v_reset: membrane after a spike with ``reset="zero"``.
    """

    decay_syn: Any = 0.8
    decay_mem: Any = 0.9
    v_th: Any = 1.0
    v_reset: Any = 0.0

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> CubaLIFParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)

    @classmethod
    def from_tau(
        cls, *args: Any, dt: Any = 1.0, dtype: Any = jnp.float32, **kwargs: Any
    ) -> CubaLIFParams:
        r"""Decays :math:`e^{-\Delta t/\tau}` from the declared time constants (> 0)."""
        return params_from_tau(cls, *args, dt=dt, dtype=dtype, **kwargs)


class CubaLIFState(NamedTuple):
    """Current-based LIF state: ``v``, synaptic current ``i``, ``ref`` and spikes ``s``."""

    v: jax.Array
    i: jax.Array
    ref: jax.Array
    s: jax.Array


def cuba_lif_init(
    params: CubaLIFParams, shape: tuple[int, ...], dtype: Any = jnp.float32
) -> CubaLIFState:
    """Resting state: ``v = 0``, ``i = 0``."""
    del params
    return CubaLIFState(*(jnp.zeros(shape, dtype) for _ in range(4)))


@jax.named_scope("jaxspike.cuba_lif_step")
def cuba_lif_step(
    params: CubaLIFParams,
    state: CubaLIFState,
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
) -> tuple[CubaLIFState, jax.Array]:
    """One current-based LIF step (equations in the module docstring).

    Args:
        params: :class:`CubaLIFParams`.
        state: :class:`CubaLIFState` of the same shape as ``x``.
        x: input for this step (added to the synaptic current).
        reset: ``"subtract"``, ``"zero"`` (to ``v_reset``) or ``"none"``.
        detach_reset: stop the gradient through the reset.
        surrogate: surrogate gradient of the spike.
        threshold: ``">="`` (default) or ``">"`` (strict).
        multi_spike: emit ``floor(v / v_th)`` spikes per step (sinabs).
        v_min: membrane floor (``None``: none).
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch's ``reset_delay``).
        refractory: steps a neuron ignores its input after a spike.

    The shared spike-and-reset options are described in
    :mod:`jaxspike.neurons.reset`; a refractory neuron keeps
    integrating its synaptic current.

    Returns:
        ``(state, spikes)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = CubaLIFParams(decay_syn=0.5, decay_mem=0.5, v_th=1.0)
        >>> s0 = cuba_lif_init(p, ())
        >>> state, s = cuba_lif_step(p, s0, jnp.asarray(0.8))
        >>> float(state.i), float(state.v), float(s)
        (0.800000011920929, 0.800000011920929, 0.0)
    """
    fn = "cuba_lif_step"
    check_state(fn, state, CubaLIFState, "cuba_lif_init")
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
    p = {k: broadcast_param(fn, k, getattr(params, k), state.v) for k in CubaLIFParams._fields}
    i = p["decay_syn"] * state.i + x
    f = spike_and_reset(
        lambda v: p["decay_mem"] * v + i, state.v, state.ref, state.s, p["v_th"], p["v_reset"], o
    )
    return CubaLIFState(f.v, i, f.ref, f.spikes), f.spikes


#: Declaration of the current-based LIF (see :mod:`jaxspike.neurons.declare`).
CUBA_LIF = declare(
    "cuba_lif",
    CubaLIFParams,
    CubaLIFState,
    cuba_lif_init,
    cuba_lif_step,
    {"decay_syn": "unit", "decay_mem": "unit", "v_th": "real", "v_reset": "real"},
    taus={"tau_syn": "decay_syn", "tau_mem": "decay_mem"},
)
