r"""Spike encoders: turn real values into spike trains (or input currents) over time.

Every encoder is a pure, jit-compatible function. Encoders that *create* a time axis
(:func:`rate`, :func:`poisson`, :func:`latency`, :func:`direct`) take the number of
steps ``num_steps`` and a keyword-only ``time_axis``: the position of the new axis in
the output, so ``time_axis=0`` gives ``[T, *x.shape]`` (time-major, what
:func:`jaxspike.unroll` scans) and ``time_axis=1`` on a batch ``[B, ...]`` gives
``[B, T, ...]``. :func:`delta` reads an existing time axis. :func:`population` adds a
trailing axis of receptive fields and no time; combine it with a time encoder, e.g.
``latency(population(x, 8), T, time_axis=0)``.

Random encoders take an explicit :func:`jax.random.key`; there is no hidden state.
Spikes are ``0``/``1`` floats (``float32`` unless ``dtype`` is given).

The population, latency and direct codes are the three input codes of the SNN overview
the project started from; rate and delta codes follow Eshraghian et al. (2023),
"Training spiking neural networks using lessons from deep learning", Proc. IEEE 111(9).
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp

from jaxspike._validate import check_choice, check_positive, is_concrete

__all__ = [
    "delta",
    "direct",
    "latency",
    "latency_times",
    "poisson",
    "population",
    "rate",
]


_MAX_POISSON_MEAN = 1e9
"""Largest mean count per bin for ``poisson(binary=False)`` (int32 samples stay exact)."""


def _new_axis(fn: str, ndim: int, time_axis: Any) -> int:
    """Normalise the position of a new axis in an output of rank ``ndim + 1``."""
    if not isinstance(time_axis, int) or isinstance(time_axis, bool):
        raise TypeError(f"{fn}: time_axis must be an int, got {time_axis!r}.")
    out_ndim = ndim + 1
    if not -out_ndim <= time_axis < out_ndim:
        raise ValueError(
            f"{fn}: time_axis={time_axis} is out of range for an output of rank {out_ndim} "
            f"(input rank {ndim} plus the new time axis); use a value in "
            f"[{-out_ndim}, {out_ndim - 1}]."
        )
    return time_axis % out_ndim


def _num_steps(fn: str, num_steps: Any) -> int:
    if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
        raise ValueError(f"{fn}: num_steps must be a Python int >= 1, got {num_steps!r}.")
    return num_steps


def _float(fn: str, x: Any) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    return x


def _repeat(x: jax.Array, num_steps: int, axis: int) -> jax.Array:
    """Broadcast ``x`` along a new axis of length ``num_steps`` at ``axis``."""
    x = jnp.expand_dims(x, axis)
    shape = list(x.shape)
    shape[axis] = num_steps
    return jnp.broadcast_to(x, tuple(shape))


def _step_index(num_steps: int, axis: int, ndim: int) -> jax.Array:
    """``arange(num_steps)`` shaped to broadcast along ``axis`` of a rank-``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = num_steps
    return jnp.arange(num_steps).reshape(shape)


def rate(
    key: jax.Array,
    x: Any,
    num_steps: int,
    *,
    time_axis: int,
    gain: Any = 1.0,
    dtype: Any = jnp.float32,
) -> jax.Array:
    r"""Bernoulli rate code: every step fires independently with probability ``gain * x``.

    .. math:: p = \operatorname{clip}(g\,x, 0, 1), \qquad
       s_t \sim \operatorname{Bernoulli}(p), \quad t = 0, \dots, T-1,

    drawn as :math:`s_t = \mathbb{1}[u_t < p]` with :math:`u_t \sim U[0, 1)`. The
    expected spike count over ``T`` steps is :math:`T p` and the expected rate is
    :math:`p` spikes per step.

    Args:
        key: a :func:`jax.random.key`.
        x: intensities, any shape (typically in ``[0, 1]``).
        num_steps: number of time steps ``T``.
        time_axis: where the new time axis goes in the output.
        gain: scale :math:`g` applied to ``x`` before clipping (scalar or broadcastable).
        dtype: dtype of the spikes.

    Returns:
        ``0``/``1`` spikes of shape ``x.shape`` with ``T`` inserted at ``time_axis``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> s = rate(jax.random.key(0), jnp.array([0.0, 1.0]), 4, time_axis=0)
        >>> s.shape, s.sum(0).tolist()
        ((4, 2), [0.0, 4.0])
    """
    fn = "rate"
    num_steps = _num_steps(fn, num_steps)
    x = _float(fn, x)
    axis = _new_axis(fn, x.ndim, time_axis)
    p = jnp.clip(jnp.asarray(gain, x.dtype) * x, 0.0, 1.0)
    p = _repeat(p, num_steps, axis)
    u = jax.random.uniform(key, p.shape, dtype=p.dtype)
    return (u < p).astype(dtype)


def poisson(
    key: jax.Array,
    x: Any,
    num_steps: int,
    *,
    time_axis: int,
    gain: Any = 1.0,
    dt: Any = 1.0,
    binary: bool = True,
    dtype: Any = jnp.float32,
) -> jax.Array:
    r"""Poisson rate code: a Poisson process of rate ``gain * x`` observed in bins ``dt``.

    .. math:: \lambda = \max(g\,x, 0)\,\Delta t, \qquad
       n_t \sim \operatorname{Poisson}(\lambda).

    With ``binary=True`` the output is :math:`s_t = \mathbb{1}[n_t \ge 1]`, a spike
    whenever at least one event falls in the bin, i.e. Bernoulli with
    :math:`p = 1 - e^{-\lambda}` (exact, unlike :math:`p = \lambda`, which exceeds 1
    for high rates). With ``binary=False`` the output is the event count :math:`n_t`
    (graded spikes, mean and variance :math:`\lambda`).

    Args:
        key: a :func:`jax.random.key`.
        x: intensities, any shape (negative values give no events).
        num_steps: number of time bins ``T``.
        time_axis: where the new time axis goes in the output.
        gain: rate per unit intensity (events per unit of ``dt``).
        dt: bin width (same time unit as ``1 / gain``).
        binary: clip counts to ``0``/``1`` spikes.
        dtype: dtype of the output.

    Raises:
        ValueError: for concrete NaN intensities, and with ``binary=False`` for mean
            counts above ``1e9`` per bin or infinite. Under :func:`jax.jit` these entries
            come out as NaN (floating ``dtype``) instead.

    Returns:
        Spikes (or counts) of shape ``x.shape`` with ``T`` inserted at ``time_axis``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> s = poisson(jax.random.key(0), jnp.zeros((3,)), 5, time_axis=1)
        >>> s.shape, float(s.sum())
        ((3, 5), 0.0)
    """
    fn = "poisson"
    num_steps = _num_steps(fn, num_steps)
    check_positive(fn, "dt", dt)
    x = _float(fn, x)
    axis = _new_axis(fn, x.ndim, time_axis)
    lam = jnp.maximum(jnp.asarray(gain, x.dtype) * x, 0.0) * jnp.asarray(dt, x.dtype)
    if is_concrete(lam):
        if bool(jnp.any(jnp.isnan(lam))):
            raise ValueError(f"{fn}: x holds NaN (after gain and dt); intensities must be numbers.")
        if not binary and not bool(jnp.all(lam <= _MAX_POISSON_MEAN)):
            raise ValueError(
                f"{fn}: with binary=False the mean count gain * x * dt must be finite and "
                f"<= {_MAX_POISSON_MEAN:g} per bin (counts are int32 samples), got up to "
                f"{float(jnp.max(lam)):g}."
            )
    lam = _repeat(lam, num_steps, axis)
    if binary:
        u = jax.random.uniform(key, lam.shape, dtype=lam.dtype)
        out = (u < -jnp.expm1(-lam)).astype(dtype)
        bad = jnp.isnan(lam)
    else:
        safe = jnp.where(lam <= _MAX_POISSON_MEAN, lam, 0.0)
        out = jax.random.poisson(key, safe, lam.shape).astype(dtype)
        bad = ~(lam <= _MAX_POISSON_MEAN)
    if jnp.issubdtype(jnp.dtype(dtype), jnp.inexact):
        # traced input (no check possible above): NaN marks the entries, never a count
        out = jnp.where(bad, jnp.asarray(jnp.nan, out.dtype), out)
    return out


def latency_times(
    x: Any,
    num_steps: int,
    *,
    method: Literal["linear", "log"] = "linear",
    tau: Any = None,
    threshold: Any = 0.01,
) -> jax.Array:
    r"""Spike step of the time-to-first-spike code of :func:`latency` (``T`` if silent).

    With :math:`\hat x = \operatorname{clip}(x, 0, 1)` and threshold :math:`\theta`:

    .. math::
       t^\ast(x) &= \tau\,(1 - \hat x) && \text{(linear)} \\
       t^\ast(x) &= \tau \ln\frac{\hat x}{\hat x - \theta} && \text{(log, RC charging)} \\
       k(x) &= \lfloor t^\ast(x) + \tfrac12 \rfloor \quad \text{if } \hat x > \theta
       \text{ and } \lfloor t^\ast + \tfrac12 \rfloor < T, \text{ else } T.

    The log form is the time an RC circuit driven by a constant input :math:`\hat x`
    needs to charge from 0 to :math:`\theta` (snnTorch's ``latency`` in its default RC
    mode). ``tau`` (in steps) defaults to :math:`T - 1`, so in the linear code
    :math:`\hat x = 1` fires at step 0 and :math:`\hat x \to 0^+` at step
    :math:`T - 1`. Inputs :math:`\hat x \le \theta` never fire (strictly: no spike at
    :math:`\hat x = \theta`), nor do inputs whose spike would fall at or after ``T``.

    Args:
        x: intensities, any shape (clipped to ``[0, 1]``).
        num_steps: number of time steps ``T``.
        method: ``"linear"`` or ``"log"``.
        tau: time constant in steps (default ``T - 1``).
        threshold: :math:`\theta \ge 0` (``"log"`` needs :math:`\theta > 0`).

    Returns:
        Integer step indices (``int32``) of shape ``x.shape``; ``T`` marks "no spike",
        the same convention as :func:`jaxspike.readout.first_spike_time`.

    Example:
        >>> import jax.numpy as jnp
        >>> latency_times(jnp.array([1.0, 0.5, 0.0]), 5).tolist()
        [0, 2, 5]
    """
    fn = "latency"
    num_steps = _num_steps(fn, num_steps)
    check_choice(fn, "method", method, ("linear", "log"))
    check_positive(fn, "threshold", threshold, allow_zero=method == "linear")
    if tau is None:
        tau = float(max(num_steps - 1, 0))
    else:
        check_positive(fn, "tau", tau, allow_zero=True)
    x = _float(fn, x)
    xc = jnp.clip(x, 0.0, 1.0)
    tau = jnp.asarray(tau, x.dtype)
    theta = jnp.asarray(threshold, x.dtype)
    fires = xc > theta
    if method == "linear":
        t = tau * (1.0 - xc)
    else:
        safe = jnp.where(fires, xc, 1.0)
        t = tau * jnp.log(safe / (safe - jnp.where(fires, theta, 0.0)))
    k = jnp.floor(t + 0.5)
    fires = fires & (k < num_steps)
    return jnp.where(fires, k, num_steps).astype(jnp.int32)


def latency(
    x: Any,
    num_steps: int,
    *,
    time_axis: int,
    method: Literal["linear", "log"] = "linear",
    tau: Any = None,
    threshold: Any = 0.01,
    dtype: Any = jnp.float32,
) -> jax.Array:
    r"""Latency (time-to-first-spike) code: one spike per input, earlier for larger ``x``.

    .. math:: s_t = \mathbb{1}[t = k(x)], \quad t = 0, \dots, T - 1,

    with the spike step :math:`k(x)` of :func:`latency_times` (linear
    :math:`\tau(1-\hat x)` or logarithmic :math:`\tau\ln(\hat x/(\hat x-\theta))`,
    rounded to the nearest step). Inputs at or below ``threshold`` stay silent.

    Args:
        x: intensities, any shape (clipped to ``[0, 1]``).
        num_steps: number of time steps ``T``.
        time_axis: where the new time axis goes in the output.
        method: ``"linear"`` or ``"log"``.
        tau: time constant in steps (default ``T - 1``).
        threshold: inputs ``<= threshold`` never fire.
        dtype: dtype of the spikes.

    Returns:
        ``0``/``1`` spikes of shape ``x.shape`` with ``T`` inserted at ``time_axis``;
        at most one spike per input.

    Example:
        >>> import jax.numpy as jnp
        >>> latency(jnp.array([1.0, 0.5, 0.0]), 3, time_axis=0).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    fn = "latency"
    x = _float(fn, x)
    axis = _new_axis(fn, x.ndim, time_axis)
    k = latency_times(x, num_steps, method=method, tau=tau, threshold=threshold)
    steps = _step_index(num_steps, axis, x.ndim + 1)
    return (steps == jnp.expand_dims(k, axis)).astype(dtype)


def direct(x: Any, num_steps: int, *, time_axis: int) -> jax.Array:
    r"""Direct (current-injection) code: the same real value is fed at every step.

    .. math:: x_t = x, \quad t = 0, \dots, T - 1.

    The first layer's neurons then receive ``x`` as a constant input current and do
    the spike encoding themselves (the SNN overview's "direct encoding").

    Args:
        x: values, any shape and floating dtype (kept).
        num_steps: number of time steps ``T``.
        time_axis: where the new time axis goes in the output.

    Returns:
        ``x`` repeated, shape ``x.shape`` with ``T`` inserted at ``time_axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> direct(jnp.array([0.5, 2.0]), 3, time_axis=1).tolist()
        [[0.5, 0.5, 0.5], [2.0, 2.0, 2.0]]
    """
    fn = "direct"
    num_steps = _num_steps(fn, num_steps)
    x = _float(fn, x)
    axis = _new_axis(fn, x.ndim, time_axis)
    return _repeat(x, num_steps, axis)


def delta(
    x: Any,
    *,
    time_axis: int,
    threshold: Any = 0.1,
    channels: Literal["on_off", "on", "signed"] = "on_off",
    initial: Literal["first", "zero"] = "first",
    dtype: Any = jnp.float32,
) -> jax.Array:
    r"""Delta (temporal-contrast) code: spike where the signal changes by ``threshold``.

    .. math::
       d_t &= x_t - x_{t-1} \\
       s^{on}_t &= \mathbb{1}[d_t \ge \theta], \qquad s^{off}_t = \mathbb{1}[d_t \le -\theta]

    with :math:`x_{-1} = x_0` (``initial="first"``: no event at ``t = 0``) or
    :math:`x_{-1} = 0` (``initial="zero"``: a bright input fires an ON event at
    ``t = 0``). This is the stateless difference code; event cameras add a log
    transform (pass ``jnp.log(x)``) and reset the reference at each event.

    Args:
        x: a signal with a time axis, any shape.
        time_axis: the time axis of ``x``.
        threshold: :math:`\theta > 0`.
        channels: ``"on_off"`` stacks ON and OFF spikes on a new trailing axis of
            size 2 (``[..., 0]`` ON, ``[..., 1]`` OFF); ``"on"`` returns ON spikes
            only; ``"signed"`` returns :math:`s^{on} - s^{off}` in ``{-1, 0, 1}``.
        initial: the reference before the first step, ``"first"`` or ``"zero"``.
        dtype: dtype of the spikes.

    Returns:
        Spikes of shape ``x.shape`` (``"on"``, ``"signed"``) or ``(*x.shape, 2)``
        (``"on_off"``).

    Example:
        >>> import jax.numpy as jnp
        >>> delta(jnp.array([0.0, 0.5, 0.5, 0.1]), time_axis=0, channels="signed").tolist()
        [0.0, 1.0, 0.0, -1.0]
    """
    fn = "delta"
    check_positive(fn, "threshold", threshold)
    check_choice(fn, "channels", channels, ("on_off", "on", "signed"))
    check_choice(fn, "initial", initial, ("first", "zero"))
    x = _float(fn, x)
    if x.ndim == 0:
        raise ValueError(f"{fn}: x must have a time axis, got a scalar.")
    axis = _new_axis(fn, x.ndim - 1, time_axis)
    first = jax.lax.slice_in_dim(x, 0, 1, axis=axis)
    prepend = first if initial == "first" else jnp.zeros_like(first)
    d = jnp.diff(x, axis=axis, prepend=prepend)
    theta = jnp.asarray(threshold, x.dtype)
    on = (d >= theta).astype(dtype)
    off = (d <= -theta).astype(dtype)
    if channels == "on":
        return on
    if channels == "signed":
        return on - off
    return jnp.stack([on, off], axis=-1)


def population(
    x: Any,
    num_neurons: int,
    *,
    low: float = 0.0,
    high: float = 1.0,
    sigma: Any = None,
) -> jax.Array:
    r"""Population code: each value drives ``N`` Gaussian receptive fields.

    .. math::
       \mu_j = \text{low} + j\,\frac{\text{high} - \text{low}}{N - 1}, \qquad
       r_j(x) = \exp\!\left(-\frac{(x - \mu_j)^2}{2\sigma^2}\right), \quad j = 0, \dots, N-1,

    with :math:`\sigma` defaulting to the spacing of the centres (Bohte, Kok & La
    Poutré, 2002, "Error-backpropagation in temporally encoded networks of spiking
    neurons", Neurocomputing 48, use overlapping Gaussian fields of this kind). The
    activations lie in ``(0, 1]`` and carry no time axis: feed them to :func:`latency`,
    :func:`rate` or :func:`direct`. :func:`jaxspike.readout.population_value` inverts it.

    Args:
        x: values, any shape.
        num_neurons: receptive fields per value, ``N >= 2``.
        low: centre of the first field.
        high: centre of the last field.
        sigma: width of every field (default: the spacing of the centres).

    Returns:
        Activations of shape ``(*x.shape, N)``.

    Example:
        >>> import jax.numpy as jnp
        >>> r = population(jnp.array([0.5]), 3)
        >>> [round(v, 4) for v in r[0].tolist()]
        [0.6065, 1.0, 0.6065]
    """
    fn = "population"
    if not isinstance(num_neurons, int) or isinstance(num_neurons, bool) or num_neurons < 2:
        raise ValueError(f"{fn}: num_neurons must be a Python int >= 2, got {num_neurons!r}.")
    if not high > low:
        raise ValueError(f"{fn}: high must be > low, got low={low!r}, high={high!r}.")
    if sigma is None:
        sigma = (high - low) / (num_neurons - 1)
    check_positive(fn, "sigma", sigma)
    x = _float(fn, x)
    centres = jnp.linspace(low, high, num_neurons, dtype=x.dtype)
    sigma = jnp.asarray(sigma, x.dtype)
    d = x[..., None] - centres.reshape((1,) * x.ndim + (num_neurons,))
    return jnp.exp(-0.5 * jnp.square(d / sigma))
