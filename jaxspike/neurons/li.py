r"""Leaky integrator: the non-spiking readout neuron.

In the order implemented (time counted in steps):

.. math:: v_t = \beta\, v_{t-1} + x_t, \qquad y_t = v_t

with decay :math:`\beta = e^{-\Delta t/\tau_{mem}}` (``decay``). The output is the
membrane itself; reduce it over time with a readout (maximum, final value or sum).
This is Spyx's ``LI`` and snnTorch's ``Leaky`` with ``reset_mechanism="none"`` read
through its membrane.

References:
    E. O. Neftci, H. Mostafa, F. Zenke. Surrogate gradient learning in spiking neural
    networks. IEEE Signal Processing Magazine 36(6), 2019.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxspike._validate import (
    broadcast_param,
    check_dt,
    check_in_range,
    check_input,
    check_positive,
)
from jaxspike.neurons.reset import check_state


class LIParams(NamedTuple):
    """Leaky-integrator parameters.

    Attributes:
        decay: membrane decay factor per step, in [0, 1].
    """

    decay: Any = 0.9

    @classmethod
    def create(cls, decay: Any = 0.9, dtype: Any = jnp.float32) -> LIParams:
        """Validated constructor: ``decay`` must lie in [0, 1]."""
        check_in_range("LIParams", "decay", decay, 0.0, 1.0)
        return cls(jnp.asarray(decay, dtype))

    @classmethod
    def from_tau(cls, tau_mem: Any, dt: float = 1.0, dtype: Any = jnp.float32) -> LIParams:
        r"""Parameters with :math:`\beta = e^{-\Delta t/\tau_{mem}}`."""
        check_positive("LIParams.from_tau", "tau_mem", tau_mem)
        check_dt("LIParams.from_tau", dt)
        return cls.create(jnp.exp(-dt / jnp.asarray(tau_mem, dtype)), dtype)


class LIState(NamedTuple):
    """Leaky-integrator state: membrane ``v``."""

    v: jax.Array


def li_init(params: LIParams, shape: tuple[int, ...], dtype: Any = jnp.float32) -> LIState:
    """Resting state: ``v = 0``."""
    del params
    return LIState(jnp.zeros(shape, dtype))


@jax.named_scope("jaxspike.li_step")
def li_step(params: LIParams, state: LIState, x: jax.Array) -> tuple[LIState, jax.Array]:
    """One leaky-integrator step; the output is the new membrane.

    Args:
        params: :class:`LIParams`.
        state: :class:`LIState` of the same shape as ``x``.
        x: input for this step.

    Returns:
        ``(state, v)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = LIParams(decay=0.5)
        >>> state, v = li_step(p, LIState(jnp.asarray(2.0)), jnp.asarray(1.0))
        >>> float(v)
        2.0
    """
    check_state("li_step", state, LIState, "li_init")
    x = check_input("li_step", x, state.v)
    v = broadcast_param("li_step", "decay", params.decay, state.v) * state.v + x
    return LIState(v), v
