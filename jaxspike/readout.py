r"""Readouts: reduce spike trains or membrane traces over time to one value per neuron.

Every reduction takes a keyword-only ``time_axis`` with no default, so a ``[T, B, N]``
and a ``[B, T, N]`` array can never be confused (even when ``T == B``). All functions
are pure, jit-compatible and differentiable where the readout is (spike counts and
first-spike times pass the surrogate gradient of :func:`jaxspike.spike` through).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from jaxspike._validate import check_positive

__all__ = [
    "final_membrane",
    "first_spike_time",
    "max_membrane",
    "membrane_integral",
    "population_decode",
    "population_value",
    "spike_count",
    "spike_rate",
]


def _array(fn: str, name: str, x: Any) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{fn}: {name} must have a floating dtype, got {x.dtype}; "
            f"cast it with {name}.astype(jnp.float32)."
        )
    return x


def time_axis_of(fn: str, x: jax.Array, time_axis: Any, name: str = "x") -> int:
    """Return ``time_axis`` as a non-negative axis of ``x``, or raise a clear error."""
    if not isinstance(time_axis, int) or isinstance(time_axis, bool):
        raise TypeError(f"{fn}: time_axis must be an int, got {time_axis!r}.")
    if not -x.ndim <= time_axis < x.ndim:
        raise ValueError(
            f"{fn}: time_axis={time_axis} is out of range for {name} of shape {x.shape}; "
            f"{name} needs a time axis."
        )
    axis = time_axis % x.ndim
    if x.shape[axis] == 0:
        raise ValueError(
            f"{fn}: {name} has 0 time steps (shape {x.shape}, time_axis={time_axis}); a "
            "readout over no steps is undefined."
        )
    return axis


def spike_count(spikes: Any, *, time_axis: int) -> jax.Array:
    r"""Number of spikes of each neuron: :math:`n = \sum_t s_t`.

    Args:
        spikes: spike train with a time axis.
        time_axis: the time axis of ``spikes``.

    Returns:
        Counts, ``spikes.shape`` without ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> spike_count(jnp.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]), time_axis=0).tolist()
        [2.0, 2.0]
    """
    fn = "spike_count"
    spikes = _array(fn, "spikes", spikes)
    return jnp.sum(spikes, axis=time_axis_of(fn, spikes, time_axis, "spikes"))


def spike_rate(spikes: Any, *, time_axis: int, dt: Any = 1.0) -> jax.Array:
    r"""Mean firing rate: :math:`r = \frac{1}{T\,\Delta t}\sum_t s_t`.

    With the default ``dt = 1`` the rate is in spikes per step, in ``[0, 1]`` for
    binary spikes; with ``dt`` in seconds it is in hertz.

    Args:
        spikes: spike train with a time axis of length ``T``.
        time_axis: the time axis of ``spikes``.
        dt: duration of one step.

    Returns:
        Rates, ``spikes.shape`` without ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> spike_rate(jnp.array([1.0, 0.0, 1.0, 1.0]), time_axis=0, dt=0.5).tolist()
        1.5
    """
    fn = "spike_rate"
    check_positive(fn, "dt", dt)
    spikes = _array(fn, "spikes", spikes)
    axis = time_axis_of(fn, spikes, time_axis, "spikes")
    num_steps = spikes.shape[axis]
    return jnp.sum(spikes, axis=axis) / (num_steps * jnp.asarray(dt, spikes.dtype))


def first_spike_time(spikes: Any, *, time_axis: int, never: Any = None) -> jax.Array:
    r"""Step of each neuron's first spike, ``T`` (or ``never``) if it never fires.

    Computed as the number of steps before the first spike,

    .. math:: t_{first} = \sum_{t=0}^{T-1} \prod_{t'=0}^{t} (1 - s_{t'}),

    which equals the index :math:`\min\{t : s_t = 1\}` for ``0``/``1`` spikes and
    :math:`T` for a silent neuron. Written this way the readout is differentiable:
    surrogate gradients flow back to every spike up to and including the first one
    (firing earlier lowers :math:`t_{first}`).

    Args:
        spikes: ``0``/``1`` spike train with a time axis of length ``T``; a graded
            value above 1 counts as one spike, a value at or below 0 as none.
        time_axis: the time axis of ``spikes``.
        never: value for neurons that never fire (default ``T``). Any other value
            cuts the gradient for silent neurons.

    Returns:
        First-spike steps (floating), ``spikes.shape`` without ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
        >>> first_spike_time(s, time_axis=0).tolist()
        [1.0, 3.0]
    """
    fn = "first_spike_time"
    spikes = _array(fn, "spikes", spikes)
    axis = time_axis_of(fn, spikes, time_axis, "spikes")
    # A graded spike (a count > 1, e.g. from a Poisson encoder) counts as one spike:
    # 1 - s would otherwise turn negative and the product flip sign. The clip is
    # straight-through, so the gradient is unchanged for 0/1 spikes.
    clipped = spikes - lax.stop_gradient(spikes - jnp.clip(spikes, 0.0, 1.0))
    silent_so_far = jnp.cumprod(1.0 - clipped, axis=axis)
    t = jnp.sum(silent_so_far, axis=axis)
    if never is None:
        return t
    fired = jnp.any(spikes > 0, axis=axis)
    return jnp.where(fired, t, jnp.asarray(never, t.dtype))


def max_membrane(v: Any, *, time_axis: int) -> jax.Array:
    r"""Maximum membrane over time: :math:`\max_t v_t` (gradient to the arg-max step).

    Args:
        v: membrane trace with a time axis.
        time_axis: the time axis of ``v``.

    Returns:
        ``v.shape`` without ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> max_membrane(jnp.array([0.25, 0.75, 0.5]), time_axis=0).tolist()
        0.75
    """
    fn = "max_membrane"
    v = _array(fn, "v", v)
    return jnp.max(v, axis=time_axis_of(fn, v, time_axis, "v"))


def final_membrane(v: Any, *, time_axis: int) -> jax.Array:
    r"""Membrane at the last step: :math:`v_{T-1}`.

    Args:
        v: membrane trace with a time axis.
        time_axis: the time axis of ``v``.

    Returns:
        ``v.shape`` without ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> final_membrane(jnp.array([[0.25, 0.5], [0.75, 1.0]]), time_axis=1).tolist()
        [0.5, 1.0]
    """
    fn = "final_membrane"
    v = _array(fn, "v", v)
    axis = time_axis_of(fn, v, time_axis, "v")
    return jnp.take(v, v.shape[axis] - 1, axis=axis)


def membrane_integral(v: Any, *, time_axis: int, dt: Any = 1.0) -> jax.Array:
    r"""Time integral of the membrane (rectangle rule): :math:`\Delta t \sum_t v_t`.

    With ``dt = 1`` this is the sum over steps, the "integral" readout of a
    leaky-integrator output layer.

    Args:
        v: membrane trace with a time axis.
        time_axis: the time axis of ``v``.
        dt: duration of one step.

    Returns:
        ``v.shape`` without ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> membrane_integral(jnp.array([0.5, 1.0, 1.5]), time_axis=0).tolist()
        3.0
    """
    fn = "membrane_integral"
    check_positive(fn, "dt", dt)
    v = _array(fn, "v", v)
    axis = time_axis_of(fn, v, time_axis, "v")
    return jnp.sum(v, axis=axis) * jnp.asarray(dt, v.dtype)


def population_decode(x: Any, num_classes: int) -> jax.Array:
    r"""Sum a population of ``C * k`` output neurons into ``C`` class scores.

    The last axis is split into ``num_classes`` contiguous groups of ``k`` neurons
    (class ``c`` owns neurons ``c k, ..., c k + k - 1``) and each group is summed:

    .. math:: y_c = \sum_{j=0}^{k-1} x_{c k + j}.

    Apply it to counts or rates (after the time reduction). Unlike a flat reshape to
    ``(-1, C)``, every leading (batch) axis is kept.

    Args:
        x: activity with neurons on the last axis, a multiple of ``num_classes``.
        num_classes: number of classes ``C``.

    Returns:
        ``(*x.shape[:-1], C)``.

    Example:
        >>> import jax.numpy as jnp
        >>> population_decode(jnp.arange(12.0).reshape(2, 6), 3).tolist()
        [[1.0, 5.0, 9.0], [13.0, 17.0, 21.0]]
    """
    fn = "population_decode"
    x = _array(fn, "x", x)
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"{fn}: num_classes must be a Python int >= 1, got {num_classes!r}.")
    if x.ndim == 0 or x.shape[-1] % num_classes:
        raise ValueError(
            f"{fn}: the last axis of x must be a multiple of num_classes={num_classes}, "
            f"got shape {x.shape}."
        )
    k = x.shape[-1] // num_classes
    return jnp.sum(x.reshape((*x.shape[:-1], num_classes, k)), axis=-1)


def population_value(activity: Any, *, low: float = 0.0, high: float = 1.0) -> jax.Array:
    r"""Decode a value from a population of evenly spaced receptive fields.

    Centre-of-mass (population vector) decoding over the centres
    :math:`\mu_j` of :func:`jaxspike.encoding.population`:

    .. math:: \hat x = \frac{\sum_j a_j \mu_j}{\sum_j a_j}

    (``nan``-free: a silent population decodes to the midpoint). Exact when the
    activity is symmetric around the value; biased toward the middle near the ends,
    where fields are cut off.

    Args:
        activity: non-negative activity (counts, rates, activations) on the last axis.
        low: centre of the first field.
        high: centre of the last field.

    Returns:
        ``activity.shape[:-1]``.

    Example:
        >>> import jax.numpy as jnp
        >>> population_value(jnp.array([0.0, 1.0, 2.0, 1.0, 0.0])).tolist()
        0.5
    """
    fn = "population_value"
    a = _array(fn, "activity", activity)
    if a.ndim == 0 or a.shape[-1] < 2:
        raise ValueError(f"{fn}: activity needs >= 2 neurons on its last axis, got {a.shape}.")
    centres = jnp.linspace(low, high, a.shape[-1], dtype=a.dtype)
    total = jnp.sum(a, axis=-1)
    safe = jnp.where(total > 0, total, 1.0)
    value = jnp.sum(a * centres.reshape((1,) * (a.ndim - 1) + (-1,)), axis=-1) / safe
    return jnp.where(total > 0, value, jnp.asarray(0.5 * (low + high), a.dtype))
