r"""Losses and accuracies on spiking outputs, one per readout of :mod:`jaxspike.readout`.

Conventions, the same for every function:

* ``time_axis`` is keyword-only with no default; the readout removes it.
* After the time reduction, classes are on the **last** axis and every other axis is
  a batch axis; ``labels`` are integers with exactly that batch shape (checked at trace
  time). An empty batch is an error.
* **Labels out of range** (``< 0`` or ``>= C``): concrete labels raise ``ValueError``.
  Traced labels (inside :func:`jax.jit`, where values cannot be inspected) make the
  result **NaN**, loss and accuracy alike, and the gradient NaN too, so a bad label in a
  jitted training step shows up in the logged loss instead of silently contributing
  nothing (``jax.nn.one_hot`` would give it an all-zero row). To fail fast instead,
  check the labels in the data pipeline before the jitted step, or stop on
  ``not jnp.isfinite(loss)``. Non-finite scores (NaN/inf logits) are not checked: they
  propagate as usual.
* Losses are averaged over the batch (and over neurons for mean-squared errors) and
  return a scalar; accuracies return the fraction of correct predictions.
* Rates are in spikes per step (``[0, 1]`` for binary spikes); counts in spikes.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike import readout
from jaxspike._validate import check_in_range, check_positive, is_concrete

__all__ = [
    "accuracy_count",
    "accuracy_first_spike",
    "accuracy_max_membrane",
    "accuracy_membrane_integral",
    "ce_count",
    "ce_first_spike",
    "ce_max_membrane",
    "ce_membrane_integral",
    "cross_entropy",
    "mse_count",
    "mse_first_spike",
    "mse_membrane",
    "mse_rate",
]


def _check_labels(fn: str, labels: Any, scores: jax.Array) -> jax.Array:
    labels = jnp.asarray(labels)
    if scores.ndim == 0:
        raise ValueError(f"{fn}: the readout needs a class axis, got a scalar per sample.")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(
            f"{fn}: labels must be integer class indices, got dtype {labels.dtype}; "
            "pass class indices, not one-hot vectors."
        )
    if labels.shape != scores.shape[:-1]:
        raise ValueError(
            f"{fn}: labels has shape {labels.shape} but the readout has shape {scores.shape} "
            f"(batch {scores.shape[:-1]}, {scores.shape[-1]} classes on the last axis); "
            "labels must have the batch shape. Is time_axis right?"
        )
    if labels.size == 0:
        raise ValueError(
            f"{fn}: the batch is empty (labels has shape {labels.shape}); a mean over no "
            "samples is undefined."
        )
    num_classes = scores.shape[-1]
    if is_concrete(labels):
        arr = np.asarray(labels)
        if arr.min() < 0 or arr.max() >= num_classes:
            raise ValueError(
                f"{fn}: labels must lie in [0, {num_classes}), got values in "
                f"[{arr.min()}, {arr.max()}]."
            )
    return labels


def _nan_if_out_of_range(value: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
    """``value``, or NaN (value and gradient) when a traced label lies outside [0, C)."""
    if is_concrete(labels):
        return value  # already checked by _check_labels
    ok = jnp.all((labels >= 0) & (labels < num_classes))
    return value * jnp.where(ok, 1.0, jnp.nan).astype(value.dtype)


def cross_entropy(logits: Any, labels: Any, *, label_smoothing: Any = 0.0) -> jax.Array:
    r"""Softmax cross-entropy with optional label smoothing, averaged over the batch.

    .. math::
       q_c = (1 - \varepsilon)\,\mathbb{1}[c = y] + \varepsilon / C, \qquad
       \ell = -\frac{1}{B}\sum_b \sum_c q_{bc} \log\operatorname{softmax}(z_b)_c.

    Args:
        logits: scores with classes on the last axis.
        labels: integer classes, shape ``logits.shape[:-1]``.
        label_smoothing: :math:`\varepsilon \in [0, 1]`.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(cross_entropy(jnp.zeros((1, 4)), jnp.array([2]))), 4)  # ln 4
        1.3863
    """
    fn = "cross_entropy"
    logits = jnp.asarray(logits)
    labels = _check_labels(fn, labels, logits)
    check_in_range(fn, "label_smoothing", label_smoothing, 0.0, 1.0)
    return _ce(logits, labels, label_smoothing)


def _ce(logits: jax.Array, labels: jax.Array, label_smoothing: Any) -> jax.Array:
    num_classes = logits.shape[-1]
    logp = jax.nn.log_softmax(logits, axis=-1)
    eps = jnp.asarray(label_smoothing, logp.dtype)
    q = (1.0 - eps) * jax.nn.one_hot(labels, num_classes, dtype=logp.dtype) + eps / num_classes
    return _nan_if_out_of_range(-jnp.mean(jnp.sum(q * logp, axis=-1)), labels, num_classes)


def _ce_on(fn: str, scores: jax.Array, labels: Any, label_smoothing: Any) -> jax.Array:
    labels = _check_labels(fn, labels, scores)
    check_in_range(fn, "label_smoothing", label_smoothing, 0.0, 1.0)
    return _ce(scores, labels, label_smoothing)


def _accuracy(fn: str, scores: jax.Array, labels: Any) -> jax.Array:
    labels = _check_labels(fn, labels, scores)
    pred = jnp.argmax(scores, axis=-1)
    dtype = scores.dtype if jnp.issubdtype(scores.dtype, jnp.floating) else jnp.float32
    acc = jnp.mean((pred == labels).astype(dtype))
    return _nan_if_out_of_range(acc, labels, scores.shape[-1])


def ce_count(spikes: Any, labels: Any, *, time_axis: int, label_smoothing: Any = 0.0) -> jax.Array:
    r"""Cross-entropy on spike counts: logits :math:`z_c = \sum_t s_{t,c}`.

    Args:
        spikes: output spikes with a time axis; classes on the last remaining axis.
        labels: integer classes with the batch shape.
        time_axis: the time axis of ``spikes``.
        label_smoothing: :math:`\varepsilon \in [0, 1]` (see :func:`cross_entropy`).

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((5, 1, 3)).at[:, 0, 1].set(1.0)  # [T, B, C]
        >>> round(float(ce_count(s, jnp.array([1]), time_axis=0)), 4)
        0.0134
    """
    fn = "ce_count"
    return _ce_on(fn, readout.spike_count(spikes, time_axis=time_axis), labels, label_smoothing)


def ce_max_membrane(
    v: Any, labels: Any, *, time_axis: int, label_smoothing: Any = 0.0
) -> jax.Array:
    r"""Cross-entropy on the maximum membrane: logits :math:`z_c = \max_t v_{t,c}`.

    Args:
        v: output membrane trace with a time axis; classes on the last remaining axis.
        labels: integer classes with the batch shape.
        time_axis: the time axis of ``v``.
        label_smoothing: :math:`\varepsilon \in [0, 1]`.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> v = jnp.array([[[0.0, 0.0]], [[0.0, 2.0]]])  # [T, B, C]
        >>> round(float(ce_max_membrane(v, jnp.array([1]), time_axis=0)), 4)
        0.1269
    """
    fn = "ce_max_membrane"
    return _ce_on(fn, readout.max_membrane(v, time_axis=time_axis), labels, label_smoothing)


def ce_membrane_integral(
    v: Any, labels: Any, *, time_axis: int, label_smoothing: Any = 0.0, dt: Any = 1.0
) -> jax.Array:
    r"""Cross-entropy on the membrane integral: :math:`z_c = \Delta t \sum_t v_{t,c}`.

    The usual loss for a leaky-integrator (:func:`jaxspike.li_step`) output layer.

    Args:
        v: output membrane trace with a time axis; classes on the last remaining axis.
        labels: integer classes with the batch shape.
        time_axis: the time axis of ``v``.
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        dt: duration of one step.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> v = jnp.array([[[0.0, 1.0]], [[0.0, 1.0]]])  # [T, B, C]
        >>> round(float(ce_membrane_integral(v, jnp.array([1]), time_axis=0)), 4)
        0.1269
    """
    fn = "ce_membrane_integral"
    z = readout.membrane_integral(v, time_axis=time_axis, dt=dt)
    return _ce_on(fn, z, labels, label_smoothing)


def ce_first_spike(
    spikes: Any, labels: Any, *, time_axis: int, tau: Any = 1.0, label_smoothing: Any = 0.0
) -> jax.Array:
    r"""Time-to-first-spike cross-entropy: the correct class should fire first.

    .. math:: z_c = -\,t^{first}_c / \tau

    with :math:`t^{first}` from :func:`jaxspike.readout.first_spike_time` (``T`` for a
    silent neuron), followed by :func:`cross_entropy`: a softmax over negative
    first-spike times, as in Mostafa (2018), "Supervised learning based on temporal
    coding in spiking neural networks", IEEE TNNLS 29(7), and Göltz et al. (2021),
    "Fast and energy-efficient neuromorphic deep learning with first-spike times",
    Nature Machine Intelligence 3.

    Args:
        spikes: output spikes (``0``/``1``) with a time axis.
        labels: integer classes with the batch shape.
        time_axis: the time axis of ``spikes``.
        tau: temperature in steps (> 0).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((4, 1, 2)).at[0, 0, 0].set(1.0)  # class 0 fires at t=0, 1 never
        >>> round(float(ce_first_spike(s, jnp.array([0]), time_axis=0)), 4)  # ln(1+e^-4)
        0.0181
    """
    fn = "ce_first_spike"
    check_positive(fn, "tau", tau)
    t = readout.first_spike_time(spikes, time_axis=time_axis)
    return _ce_on(fn, -t / jnp.asarray(tau, t.dtype), labels, label_smoothing)


def _targets(fn: str, targets: Any, reduced: jax.Array, on: Any, off: Any, what: str) -> jax.Array:
    targets = jnp.asarray(targets)
    if jnp.issubdtype(targets.dtype, jnp.integer):
        labels = _check_labels(fn, targets, reduced)
        hot = jax.nn.one_hot(labels, reduced.shape[-1], dtype=reduced.dtype)
        return _nan_if_out_of_range(off + (on - off) * hot, labels, reduced.shape[-1])
    if reduced.size == 0:
        raise ValueError(f"{fn}: the batch is empty ({what} of shape {reduced.shape}).")
    if targets.shape != reduced.shape:
        raise ValueError(
            f"{fn}: target {what} has shape {targets.shape} but the {what} has shape "
            f"{reduced.shape}; give integer class labels of shape {reduced.shape[:-1]} or "
            f"a target {what} per neuron. Is time_axis right?"
        )
    return targets.astype(reduced.dtype)


def mse_rate(
    spikes: Any,
    targets: Any,
    *,
    time_axis: int,
    on_rate: Any = 1.0,
    off_rate: Any = 0.0,
) -> jax.Array:
    r"""Mean-squared error between firing rates and target rates (spikes per step).

    .. math:: r = \frac{1}{T}\sum_t s_t, \qquad \ell = \operatorname{mean}\,(r - \hat r)^2.

    Both sides are rates in ``[0, 1]``, so a neuron that fires at exactly its target
    rate has zero loss. (Comparing a rate with a count target ``rate * T`` would make
    the loss fall as the neuron fires *more* than asked.) Equals
    :func:`mse_count` with count targets :math:`T \hat r`, divided by :math:`T^2`.

    Args:
        spikes: output spikes with a time axis.
        targets: integer class labels with the batch shape (the target rate is
            ``on_rate`` for the labelled class and ``off_rate`` for the others), or
            floating target rates with the rate's shape.
        time_axis: the time axis of ``spikes``.
        on_rate: target rate of the correct class (with integer labels).
        off_rate: target rate of the other classes (with integer labels).

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((4, 1, 2)).at[::2, 0, 0].set(1.0)  # class 0 at rate 0.5
        >>> float(mse_rate(s, jnp.array([0]), time_axis=0, on_rate=0.5))
        0.0
    """
    fn = "mse_rate"
    r = readout.spike_rate(spikes, time_axis=time_axis)
    target = _targets(fn, targets, r, on_rate, off_rate, "rate")
    return jnp.mean(jnp.square(r - target))


def mse_count(
    spikes: Any,
    targets: Any,
    *,
    time_axis: int,
    on_rate: Any = 1.0,
    off_rate: Any = 0.0,
) -> jax.Array:
    r"""Mean-squared error between spike counts and target counts.

    .. math:: n = \sum_t s_t, \qquad \ell = \operatorname{mean}\,(n - \hat n)^2.

    With integer labels the targets are built from *rates* and converted to counts,
    :math:`\hat n = T\,r_{on}` for the labelled class and :math:`T\,r_{off}` for the
    others, so the same ``on_rate`` works for any number of steps.

    Args:
        spikes: output spikes with a time axis of length ``T``.
        targets: integer class labels with the batch shape, or floating target counts
            with the count's shape.
        time_axis: the time axis of ``spikes``.
        on_rate: target rate (spikes per step) of the correct class.
        off_rate: target rate of the other classes.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((4, 1, 2)).at[::2, 0, 0].set(1.0)  # class 0 fires twice
        >>> float(mse_count(s, jnp.array([0]), time_axis=0, on_rate=0.5))
        0.0
    """
    fn = "mse_count"
    n = readout.spike_count(spikes, time_axis=time_axis)
    num_steps = jnp.shape(spikes)[time_axis]
    target = _targets(fn, targets, n, num_steps * on_rate, num_steps * off_rate, "count")
    return jnp.mean(jnp.square(n - target))


def mse_first_spike(
    spikes: Any,
    targets: Any,
    *,
    time_axis: int,
    on_time: Any = 0.0,
    off_time: Any = None,
) -> jax.Array:
    r"""Mean-squared error between first-spike times and target times (in steps).

    .. math:: \ell = \operatorname{mean}\,(t^{first} - \hat t)^2

    with :math:`t^{first}` from :func:`jaxspike.readout.first_spike_time` (``T`` for
    silent neurons).

    Args:
        spikes: output spikes (``0``/``1``) with a time axis of length ``T``.
        targets: integer class labels with the batch shape (target ``on_time`` for the
            labelled class, ``off_time`` for the others), or floating target times with
            the readout's shape.
        time_axis: the time axis of ``spikes``.
        on_time: target step of the correct class.
        off_time: target step of the other classes (default ``T``: do not fire).

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((4, 1, 2)).at[1, 0, 0].set(1.0)  # class 0 at t=1, class 1 silent
        >>> float(mse_first_spike(s, jnp.array([0]), time_axis=0))  # ((1-0)^2 + 0) / 2
        0.5
    """
    fn = "mse_first_spike"
    t = readout.first_spike_time(spikes, time_axis=time_axis)
    if off_time is None:
        off_time = jnp.shape(spikes)[time_axis]
    target = _targets(fn, targets, t, on_time, off_time, "time")
    return jnp.mean(jnp.square(t - target))


def mse_membrane(v: Any, target: Any, *, time_axis: int) -> jax.Array:
    r"""Mean-squared error between a membrane trace and a target.

    .. math:: \ell = \frac{1}{T N}\sum_{t} \sum_{n} (v_{t,n} - \hat v_{t,n})^2

    Args:
        v: membrane trace with a time axis.
        target: a full target trace of ``v``'s shape, or a constant target of ``v``'s
            shape without the time axis (held at every step).
        time_axis: the time axis of ``v``.

    Returns:
        A scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> float(mse_membrane(jnp.array([[1.0, 0.0], [3.0, 0.0]]), jnp.array([1.0, 0.0]),
        ...                    time_axis=0))
        1.0
    """
    fn = "mse_membrane"
    v = jnp.asarray(v)
    axis = readout.time_axis_of(fn, v, time_axis, "v")
    if v.size == 0:
        raise ValueError(f"{fn}: v is empty (shape {v.shape}); a mean over nothing is undefined.")
    target = jnp.asarray(target, v.dtype)
    no_time = v.shape[:axis] + v.shape[axis + 1 :]
    if target.shape == no_time and target.shape != v.shape:
        target = jnp.expand_dims(target, axis)
        target = jnp.broadcast_to(target, v.shape)
    elif target.shape != v.shape:
        raise ValueError(
            f"{fn}: target has shape {target.shape}; expected the trace shape {v.shape} "
            f"or the shape without time {no_time}."
        )
    return jnp.mean(jnp.square(v - target))


def accuracy_count(spikes: Any, labels: Any, *, time_axis: int) -> jax.Array:
    r"""Accuracy of the most active neuron: :math:`\hat y = \arg\max_c \sum_t s_{t,c}`.

    Ties go to the lowest class index (so an all-silent output predicts class 0).

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((3, 2, 2)).at[:, 0, 1].set(1.0)  # sample 0 -> class 1, 1 -> 0
        >>> float(accuracy_count(s, jnp.array([1, 1]), time_axis=0))
        0.5
    """
    fn = "accuracy_count"
    return _accuracy(fn, readout.spike_count(spikes, time_axis=time_axis), labels)


def accuracy_max_membrane(v: Any, labels: Any, *, time_axis: int) -> jax.Array:
    r"""Accuracy of :math:`\hat y = \arg\max_c \max_t v_{t,c}`.

    Example:
        >>> import jax.numpy as jnp
        >>> v = jnp.array([[[0.0, 1.0]], [[2.0, 0.0]]])  # [T, B, C]
        >>> float(accuracy_max_membrane(v, jnp.array([0]), time_axis=0))
        1.0
    """
    fn = "accuracy_max_membrane"
    return _accuracy(fn, readout.max_membrane(v, time_axis=time_axis), labels)


def accuracy_membrane_integral(v: Any, labels: Any, *, time_axis: int) -> jax.Array:
    r"""Accuracy of :math:`\hat y = \arg\max_c \sum_t v_{t,c}`.

    Example:
        >>> import jax.numpy as jnp
        >>> v = jnp.array([[[0.0, 1.0]], [[2.0, 0.0]]])  # [T, B, C]
        >>> float(accuracy_membrane_integral(v, jnp.array([0]), time_axis=0))
        1.0
    """
    fn = "accuracy_membrane_integral"
    return _accuracy(fn, readout.membrane_integral(v, time_axis=time_axis), labels)


def accuracy_first_spike(spikes: Any, labels: Any, *, time_axis: int) -> jax.Array:
    r"""Accuracy of the first neuron to fire: :math:`\hat y = \arg\min_c t^{first}_c`.

    Ties (including an all-silent output) go to the lowest class index.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.zeros((4, 1, 2)).at[1, 0, 1].set(1.0).at[3, 0, 0].set(1.0)
        >>> float(accuracy_first_spike(s, jnp.array([1]), time_axis=0))
        1.0
    """
    fn = "accuracy_first_spike"
    t = readout.first_spike_time(spikes, time_axis=time_axis)
    return _accuracy(fn, -t, labels)
