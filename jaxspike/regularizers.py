r"""Activity regularizers: keep firing rates in range and spike counts low.

Every penalty accepts either a stacked spike array with its ``time_axis`` or a
:class:`SpikeCounter` (with ``time_axis=None``) accumulated step by step inside
:func:`jax.lax.scan`, so the same penalty can be computed after :func:`jaxspike.unroll`
returned the spikes, or from the scan carry without ever stacking them::

    step = with_spike_counter(functools.partial(jaxspike.lif_step, params))
    (state, counter), spikes = jaxspike.unroll(step, (state0, counter_init(shape)), xs)
    loss = loss + 1e-3 * rate_upper_bound(counter, 0.2, time_axis=None)

Rates are in spikes per step. The per-neuron lower bound and upper bound follow Zenke
& Vogels (2021), "The remarkable robustness of surrogate gradient learning for
instilling complex function in spiking neural networks", Neural Computation 33(4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxspike import readout

__all__ = [
    "SpikeCounter",
    "counter_init",
    "counter_update",
    "count_spikes",
    "l1_count",
    "l2_count",
    "rate_lower_bound",
    "rate_upper_bound",
    "with_spike_counter",
]


class SpikeCounter(NamedTuple):
    """Spikes accumulated over time, carried through a scan.

    Attributes:
        counts: spikes of each neuron summed over the steps seen so far.
        steps: number of steps seen so far (a scalar of ``counts``' dtype).
    """

    counts: jax.Array
    steps: jax.Array


def counter_init(shape: Any, dtype: Any = jnp.float32) -> SpikeCounter:
    """An empty :class:`SpikeCounter` for spikes of ``shape`` (no time axis).

    Example:
        >>> counter_init((2, 3)).counts.shape
        (2, 3)
    """
    return SpikeCounter(jnp.zeros(shape, dtype), jnp.zeros((), dtype))


def counter_update(counter: SpikeCounter, spikes: Any) -> SpikeCounter:
    r"""Add one step's spikes: :math:`n \leftarrow n + s_t`, :math:`T \leftarrow T + 1`.

    Example:
        >>> import jax.numpy as jnp
        >>> c = counter_update(counter_init((2,)), jnp.array([1.0, 0.0]))
        >>> c.counts.tolist(), float(c.steps)
        ([1.0, 0.0], 1.0)
    """
    spikes = jnp.asarray(spikes)
    if spikes.shape != counter.counts.shape:
        raise ValueError(
            f"counter_update: spikes has shape {spikes.shape} but the counter has shape "
            f"{counter.counts.shape}; create it with counter_init(spikes_shape) (one step, "
            "no time axis)."
        )
    return SpikeCounter(counter.counts + spikes.astype(counter.counts.dtype), counter.steps + 1)


def count_spikes(spikes: Any, *, time_axis: int) -> SpikeCounter:
    """The :class:`SpikeCounter` of a stacked spike array (sums over ``time_axis``).

    Example:
        >>> import jax.numpy as jnp
        >>> c = count_spikes(jnp.ones((4, 2)), time_axis=0)
        >>> c.counts.tolist(), float(c.steps)
        ([4.0, 4.0], 4.0)
    """
    count = readout.spike_count(spikes, time_axis=time_axis)
    steps = jnp.asarray(jnp.shape(spikes)[time_axis], count.dtype)
    return SpikeCounter(count, steps)


def with_spike_counter(step: Callable[[Any, Any], tuple[Any, Any]]) -> Callable[..., Any]:
    """Wrap ``step(state, x) -> (state, s)`` to carry a :class:`SpikeCounter` of ``s``.

    The wrapped step maps ``((state, counter), x)`` to ``((state, counter'), s)``, a
    scan body for :func:`jaxspike.unroll`.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> p = js.IFParams()
        >>> step = with_spike_counter(functools.partial(js.if_step, p))
        >>> carry = (js.if_init(p, (2,)), counter_init((2,)))
        >>> (_, c), s = js.unroll(step, carry, jnp.full((4, 2), 0.5))
        >>> c.counts.tolist()
        [2.0, 2.0]
    """

    def counted(carry: tuple[Any, SpikeCounter], x: Any) -> tuple[Any, Any]:
        state, counter = carry
        state, s = step(state, x)
        return (state, counter_update(counter, s)), s

    return counted


def _counter(fn: str, activity: Any, time_axis: Any) -> SpikeCounter:
    if isinstance(activity, SpikeCounter):
        if time_axis is not None:
            raise ValueError(
                f"{fn}: a SpikeCounter has no time axis; pass time_axis=None, got {time_axis!r}."
            )
        return activity
    if time_axis is None:
        raise ValueError(
            f"{fn}: time_axis=None is only for a SpikeCounter; give the time axis of the "
            f"spike array of shape {jnp.shape(activity)}."
        )
    return count_spikes(activity, time_axis=time_axis)


def _rates(fn: str, activity: Any, time_axis: Any, batch_axis: Any) -> jax.Array:
    c = _counter(fn, activity, time_axis)
    r = c.counts / jnp.maximum(c.steps, 1)
    if batch_axis is not None:
        axes = (batch_axis,) if isinstance(batch_axis, int) else tuple(batch_axis)
        for a in axes:
            if not -r.ndim <= a < r.ndim:
                raise ValueError(
                    f"{fn}: batch_axis={batch_axis} is out of range for rates of shape "
                    f"{r.shape} (the spikes without their time axis)."
                )
        r = jnp.mean(r, axis=axes)
    return r


def rate_lower_bound(
    activity: Any, min_rate: Any, *, time_axis: int | None, batch_axis: Any = None
) -> jax.Array:
    r"""Penalty on neurons firing below ``min_rate`` (lower bound on the rate).

    .. math:: \ell = \operatorname{mean}_i \max(0, \nu_{min} - r_i)^2

    :math:`r_i = n_i / T` is neuron ``i``'s rate in spikes per step, averaged over
    ``batch_axis`` first when given (so a neuron only needs to fire on average over
    the batch, not for every sample). Revives silent neurons.

    Args:
        activity: spikes with a time axis, or a :class:`SpikeCounter`.
        min_rate: :math:`\nu_{min}`, scalar or per neuron.
        time_axis: the time axis of the spikes; ``None`` for a :class:`SpikeCounter`.
        batch_axis: axis or axes of the rates (the spikes without their time axis) to
            average over before the bound, e.g. ``0`` for spikes ``[T, B, N]``.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.array([[0.0, 1.0], [0.0, 1.0]])  # rates [0, 1]
        >>> float(rate_lower_bound(s, 0.5, time_axis=0))  # (0.5^2 + 0) / 2
        0.125
    """
    r = _rates("rate_lower_bound", activity, time_axis, batch_axis)
    return jnp.mean(jnp.square(jax.nn.relu(min_rate - r)))


def rate_upper_bound(
    activity: Any, max_rate: Any, *, time_axis: int | None, batch_axis: Any = None
) -> jax.Array:
    r"""Penalty on neurons firing above ``max_rate`` (upper bound on the rate).

    .. math:: \ell = \operatorname{mean}_i \max(0, r_i - \nu_{max})^2

    Args:
        activity: spikes with a time axis, or a :class:`SpikeCounter`.
        max_rate: :math:`\nu_{max}` in spikes per step, scalar or per neuron.
        time_axis: the time axis of the spikes; ``None`` for a :class:`SpikeCounter`.
        batch_axis: axis or axes of the rates to average over before the bound.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.array([[0.0, 1.0], [0.0, 1.0]])  # rates [0, 1]
        >>> float(rate_upper_bound(s, 0.5, time_axis=0))  # (0 + 0.5^2) / 2
        0.125
    """
    r = _rates("rate_upper_bound", activity, time_axis, batch_axis)
    return jnp.mean(jnp.square(jax.nn.relu(r - max_rate)))


def l1_count(activity: Any, *, time_axis: int | None) -> jax.Array:
    r"""L1 penalty on spike counts: :math:`\operatorname{mean}_i |n_i|` (spikes per neuron).

    Example:
        >>> import jax.numpy as jnp
        >>> float(l1_count(jnp.array([[1.0, 0.0], [1.0, 1.0]]), time_axis=0))
        1.5
    """
    c = _counter("l1_count", activity, time_axis)
    return jnp.mean(jnp.abs(c.counts))


def l2_count(activity: Any, *, time_axis: int | None) -> jax.Array:
    r"""L2 penalty on spike counts: :math:`\operatorname{mean}_i n_i^2`.

    Example:
        >>> import jax.numpy as jnp
        >>> float(l2_count(jnp.array([[1.0, 0.0], [1.0, 1.0]]), time_axis=0))  # (4 + 1) / 2
        2.5
    """
    c = _counter("l2_count", activity, time_axis)
    return jnp.mean(jnp.square(c.counts))
