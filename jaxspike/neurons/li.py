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
    check_input,
)
from jaxspike.neurons.declare import declare, params_create, params_from_tau
from jaxspike.neurons.reset import check_state


class LIParams(NamedTuple):
    """Leaky-integrator parameters.

    Attributes:
        decay: membrane decay factor per step, in [0, 1].
    """

    decay: Any = 0.9

    @classmethod
    def create(cls, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> LIParams:
        """Validated constructor: fields in order (defaults above), ranges as declared."""
        return params_create(cls, *args, dtype=dtype, **kwargs)

    @classmethod
    def from_tau(
        cls, *args: Any, dt: Any = 1.0, dtype: Any = jnp.float32, **kwargs: Any
    ) -> LIParams:
        r"""Decays :math:`e^{-\Delta t/\tau}` from the declared time constants (> 0)."""
        return params_from_tau(cls, *args, dt=dt, dtype=dtype, **kwargs)


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


#: Declaration of the leaky integrator (see :mod:`jaxspike.neurons.declare`).
LI = declare(
    "li",
    LIParams,
    LIState,
    li_init,
    li_step,
    {"decay": "unit"},
    taus={"tau_mem": "decay"},
    spiking=False,
)
