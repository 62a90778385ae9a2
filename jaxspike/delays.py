r"""Transmission delays: integer ring buffers and learnable fractional delays.

**Integer delays, one step at a time.** A delay of :math:`d` steps returns the input of
:math:`d` steps ago. :func:`delay_step` keeps the last :math:`D + 1` inputs in a ring
buffer (``D = max_delay``), so its memory is :math:`(D+1) \times` the input shape
whatever the sequence length. In the order implemented, at step :math:`t`:

.. math::
   B[\pi_t] &\leftarrow x_t \\
   y_t &= B[(\pi_t - d) \bmod (D+1)] = x_{t-d} \quad (0 \text{ for } t < d) \\
   \pi_{t+1} &= (\pi_t + 1) \bmod (D+1)

Per neuron, ``delays`` has the input's shape (or broadcasts to it) and :math:`y` has it
too. Per synapse (:func:`synaptic_delay_step`), ``delays`` is ``(N_in, N_out)`` and the
output ``(..., N_in, N_out)`` holds :math:`x_{t-d_{ij},\,i}` for every synapse, or with a
weight matrix, the summed current :math:`I_j = \sum_i W_{ij}\, x_{t-d_{ij},\,i}`. Bind
the delays with ``functools.partial(delay_step, delays)`` and scan with
:func:`jaxspike.unroll`. :func:`delay_sequence` applies the same delays to a whole
``[T, ...]`` sequence with one gather.

**Learnable fractional delays** (Hammouamri et al. 2023). A delay
:math:`d \in [0, D]` becomes the centre of a kernel over the lags
:math:`\tau = 0, \dots, D`, normalised to sum to one:

.. math::
   g(\tau) &= \exp\!\Big(-\tfrac{(\tau - d)^2}{2\sigma^2}\Big) \ \text{(gaussian)}
      \quad\text{or}\quad \max\!\Big(0,\ 1 - \tfrac{|\tau - d|}{\sigma}\Big)
      \ \text{(triangle)} \\
   k(\tau) &= g(\tau) \,/\, \big(\textstyle\sum_{\tau'} g(\tau') + \epsilon\big) \\
   y_t &= \textstyle\sum_{\tau=0}^{D} k(\tau)\, x_{t-\tau}

a causal convolution along time that is differentiable in :math:`d`
(:func:`fractional_delay`, one delay per channel). Per synapse,
:func:`fractional_delay_dense` computes
:math:`I_{j,t} = \sum_i \sum_\tau W_{ij}\, k_{ij}(\tau)\, x_{i,t-\tau}`, a dense layer
whose every weight has its own learnable delay (the paper's DCLS convolution). The
triangle kernel with :math:`\sigma = 1` is linear interpolation between the two nearest
integer delays and equals the integer delay exactly when :math:`d` is an integer (its
gradient there is the one-sided derivative for a growing delay, so whole-step delays
still learn); the paper trains with a Gaussian whose :math:`\sigma` shrinks during
training and rounds the delays at the end.

References:
    I. Hammouamri, I. Khalfaoui-Hassani, T. Masquelier. Learning delays in spiking
    neural networks using dilated convolutions with learnable spacings. ICLR 2024,
    arXiv:2306.17670.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxspike._validate import is_concrete

__all__ = [
    "Kernel",
    "DelayState",
    "delay_init",
    "delay_step",
    "synaptic_delay_step",
    "delay_sequence",
    "delay_kernel",
    "fractional_delay",
    "fractional_delay_dense",
    "delay_steps",
]

Kernel = Literal["gaussian", "triangle"]
_EPS = 1e-8


class DelayState(NamedTuple):
    """Ring buffer of the last ``max_delay + 1`` inputs.

    Attributes:
        buffer: past inputs, shape ``[max_delay + 1, *shape]``.
        pos: ``int32`` scalar, the slot the next input is written to.
    """

    buffer: jax.Array
    pos: jax.Array


def delay_init(max_delay: int, shape: tuple[int, ...], dtype: Any = jnp.float32) -> DelayState:
    """An empty ring buffer for delays of up to ``max_delay`` steps on inputs of ``shape``.

    Example:
        >>> delay_init(3, (2,)).buffer.shape
        (4, 2)
    """
    if isinstance(max_delay, bool) or not isinstance(max_delay, (int, np.integer)):
        raise TypeError(f"delay_init: max_delay must be an int, got {max_delay!r}.")
    if max_delay < 0:
        raise ValueError(f"delay_init: max_delay must be >= 0, got {max_delay}.")
    return DelayState(jnp.zeros((int(max_delay) + 1, *shape), dtype), jnp.zeros((), jnp.int32))


def _check_int_delays(fn: str, delays: Any, max_delay: int) -> jax.Array:
    if is_concrete(delays):
        arr = np.asarray(delays)
        if not (np.issubdtype(arr.dtype, np.integer) or np.all(arr == np.round(arr))):
            raise ValueError(
                f"{fn}: delays must be whole numbers of steps, got {arr.dtype} values; use "
                "fractional_delay for non-integer delays or round them."
            )
        if arr.size and (arr.min() < 0 or arr.max() > max_delay):
            raise ValueError(
                f"{fn}: delays must lie in [0, {max_delay}] (max_delay of the buffer), got "
                f"values in [{arr.min()}, {arr.max()}]."
            )
    return jnp.clip(jnp.asarray(delays).astype(jnp.int32), 0, max_delay)


def _write(fn: str, state: DelayState, x: Any) -> tuple[jax.Array, jax.Array, int]:
    x = jnp.asarray(x)
    if x.shape != state.buffer.shape[1:]:
        raise ValueError(
            f"{fn}: x has shape {x.shape} but the buffer holds inputs of shape "
            f"{state.buffer.shape[1:]}; create it with delay_init(max_delay, x.shape)."
        )
    length = state.buffer.shape[0]
    buf = lax.dynamic_update_index_in_dim(state.buffer, x.astype(state.buffer.dtype), state.pos, 0)
    return buf, state.pos, length


@jax.named_scope("jaxspike.delay_step")
def delay_step(delays: Any, state: DelayState, x: Any) -> tuple[DelayState, jax.Array]:
    """Delay every element of ``x`` by its own whole number of steps.

    Args:
        delays: integer steps in ``[0, max_delay]``, broadcastable to ``x.shape``
            (per neuron). Traced values are clipped to the range.
        state: :class:`DelayState` from :func:`delay_init` with ``x``'s shape.
        x: this step's input.

    Returns:
        ``(state, y)`` with ``y[...] = x_{t - delays[...]}`` (zero before the start).

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> xs = jnp.eye(4, 2)  # a spike on neuron 0 at t=0 and on neuron 1 at t=1
        >>> _, ys = js.unroll(functools.partial(delay_step, jnp.array([2, 1])),
        ...                   delay_init(2, (2,)), xs)
        >>> ys.tolist()
        [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    """
    fn = "delay_step"
    length = state.buffer.shape[0]
    d = _check_int_delays(fn, delays, length - 1)
    buf, pos, length = _write(fn, state, x)
    try:
        d = jnp.broadcast_to(d, buf.shape[1:])
    except ValueError:
        raise ValueError(
            f"{fn}: delays has shape {d.shape}, which does not broadcast to the input shape "
            f"{buf.shape[1:]}; for one delay per synapse use synaptic_delay_step."
        ) from None
    slot = jnp.mod(pos - d, length)
    y = jnp.take_along_axis(buf, slot[None], axis=0)[0]
    return DelayState(buf, jnp.mod(pos + 1, length)), y


@jax.named_scope("jaxspike.synaptic_delay_step")
def synaptic_delay_step(
    delays: Any, state: DelayState, x: Any, weight: Any = None
) -> tuple[DelayState, jax.Array]:
    r"""Delay input ``i`` by ``delays[i, j]`` steps on its way to output ``j``.

    Args:
        delays: integer steps, shape ``(N_in, N_out)``, in ``[0, max_delay]``.
        state: :class:`DelayState` with the input's shape ``(..., N_in)``.
        x: this step's input, ``(..., N_in)``.
        weight: optional ``(N_in, N_out)`` weights (``x @ weight`` orientation).

    Returns:
        ``(state, y)``: without ``weight``, ``y[..., i, j] = x_{t - d_{ij}, i}`` of shape
        ``(..., N_in, N_out)``; with it, :math:`y_j = \sum_i W_{ij}\, x_{t-d_{ij},i}`
        of shape ``(..., N_out)``.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> d = jnp.array([[0, 2]])  # one input, two outputs
        >>> step = functools.partial(synaptic_delay_step, d)
        >>> _, ys = js.unroll(step, delay_init(2, (1,)), jnp.array([[1.0], [0.0], [0.0]]))
        >>> ys[:, 0, :].tolist()
        [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
    """
    fn = "synaptic_delay_step"
    length = state.buffer.shape[0]
    d = _check_int_delays(fn, delays, length - 1)
    buf, pos, length = _write(fn, state, x)
    n_in = buf.shape[-1] if buf.ndim > 1 else None
    if d.ndim != 2 or d.shape[0] != n_in:
        raise ValueError(
            f"{fn}: delays must have shape (N_in, N_out) = ({n_in}, N_out) for inputs of "
            f"shape {buf.shape[1:]}, got {d.shape}."
        )
    slot = jnp.mod(pos - d, length)  # (N_in, N_out)
    rows = jnp.arange(n_in)[:, None]
    y = buf[slot, ..., rows]  # (N_in, N_out, *batch)
    y = jnp.moveaxis(y, (0, 1), (-2, -1))
    if weight is not None:
        w = jnp.asarray(weight, y.dtype)
        if w.shape != d.shape:
            raise ValueError(f"{fn}: weight has shape {w.shape} but delays has shape {d.shape}.")
        y = jnp.einsum("...ij,ij->...j", y, w)
    return DelayState(buf, jnp.mod(pos + 1, length)), y


def delay_sequence(xs: Any, delays: Any, *, time_axis: int) -> jax.Array:
    """Delay a whole sequence by whole numbers of steps: ``y[t] = x[t - d]`` (0 if t < d).

    The result equals scanning :func:`delay_step` over time, but uses one gather and
    needs no buffer (the sequence is already in memory).

    Args:
        xs: the sequence, time on ``time_axis``.
        delays: non-negative integer steps, broadcastable to ``xs``'s shape without the
            time axis.
        time_axis: the time axis of ``xs``.

    Example:
        >>> import jax.numpy as jnp
        >>> delay_sequence(jnp.array([1.0, 2.0, 3.0]), 1, time_axis=0).tolist()
        [0.0, 1.0, 2.0]
    """
    fn = "delay_sequence"
    xs = jnp.asarray(xs)
    if not -xs.ndim <= time_axis < xs.ndim:
        raise ValueError(f"{fn}: time_axis {time_axis} is out of range for shape {xs.shape}.")
    x0 = jnp.moveaxis(xs, time_axis, 0)
    n_steps = x0.shape[0]
    d = _check_int_delays(fn, delays, max(n_steps, 0))
    try:
        d = jnp.broadcast_to(d, x0.shape[1:])
    except ValueError:
        raise ValueError(
            f"{fn}: delays has shape {d.shape}, which does not broadcast to the per-step "
            f"shape {x0.shape[1:]}."
        ) from None
    src = jnp.arange(n_steps).reshape((n_steps,) + (1,) * d.ndim) - d[None]
    y = jnp.take_along_axis(x0, jnp.clip(src, 0, n_steps - 1), axis=0)
    y = jnp.where(src >= 0, y, jnp.zeros((), y.dtype))
    return jnp.moveaxis(y, 0, time_axis)


def _check_kernel_args(fn: str, max_delay: Any, sigma: Any, kernel: Any) -> None:
    if kernel not in ("gaussian", "triangle"):
        raise ValueError(f"{fn}: kernel must be 'gaussian' or 'triangle', got {kernel!r}.")
    if isinstance(max_delay, bool) or not isinstance(max_delay, (int, np.integer)):
        raise TypeError(f"{fn}: max_delay must be an int, got {max_delay!r}.")
    if max_delay < 0:
        raise ValueError(f"{fn}: max_delay must be >= 0, got {max_delay}.")
    if is_concrete(sigma) and not np.all(np.asarray(sigma, np.float64) > 0):
        raise ValueError(f"{fn}: sigma must be > 0, got {sigma!r}.")


def delay_kernel(
    delays: Any, *, max_delay: int, sigma: Any = 1.0, kernel: Kernel = "gaussian"
) -> jax.Array:
    """The normalised interpolation kernel over lags ``0..max_delay`` for each delay.

    Args:
        delays: real delays in steps, any shape; clipped to ``[0, max_delay]``.
        max_delay: the largest lag ``D``.
        sigma: kernel width in steps (> 0); scalar or broadcastable to ``delays``.
        kernel: ``"gaussian"`` or ``"triangle"`` (module docstring).

    Returns:
        Array of shape ``[max_delay + 1, *delays.shape]`` whose columns sum to one.

    Example:
        >>> import jax.numpy as jnp
        >>> delay_kernel(jnp.array(1.25), max_delay=3, kernel="triangle").tolist()
        [0.0, 0.75, 0.25, 0.0]
    """
    fn = "delay_kernel"
    _check_kernel_args(fn, max_delay, sigma, kernel)
    d = jnp.asarray(delays)
    if not jnp.issubdtype(d.dtype, jnp.floating):
        d = d.astype(jnp.float32)
    d = jnp.clip(d, 0.0, float(max_delay))
    try:
        sigma = jnp.broadcast_to(jnp.asarray(sigma, d.dtype), d.shape)[None]
    except ValueError:
        raise ValueError(
            f"{fn}: sigma has shape {jnp.shape(sigma)}, which does not broadcast to the delays' "
            f"shape {d.shape}."
        ) from None
    tau = jnp.arange(max_delay + 1, dtype=d.dtype).reshape((-1,) + (1,) * d.ndim)
    z = (tau - d[None]) / sigma
    if kernel == "gaussian":
        g = jnp.exp(-0.5 * z * z)
    else:
        # max(0, 1 - |z|) with one-sided derivatives at the kinks (the derivative for a
        # growing delay), so that a delay sitting on a whole step still gets a gradient.
        u = 1.0 - jnp.where(z > 0, z, -z)
        g = jnp.where((u > 0) | ((u == 0) & (z > 0)), u, jnp.zeros((), u.dtype))
    return g / (jnp.sum(g, axis=0, keepdims=True) + _EPS)


def fractional_delay(
    xs: Any,
    delays: Any,
    *,
    max_delay: int,
    sigma: Any = 1.0,
    kernel: Kernel = "gaussian",
    time_axis: int,
) -> jax.Array:
    r"""Delay each channel of a sequence by a real, differentiable number of steps.

    :math:`y_t = \sum_{\tau=0}^{D} k(\tau)\, x_{t-\tau}` with the kernel of
    :func:`delay_kernel` (causal: no output depends on a later input).

    Args:
        xs: the sequence, time on ``time_axis``.
        delays: real delays in steps, broadcastable to ``xs``'s shape without the time
            axis (e.g. ``(N,)`` for ``xs`` of shape ``[T, B, N]``).
        max_delay: the largest lag ``D``.
        sigma: kernel width in steps.
        kernel: ``"gaussian"`` or ``"triangle"``.
        time_axis: the time axis of ``xs``.

    Example:
        >>> import jax.numpy as jnp
        >>> xs = jnp.array([1.0, 0.0, 0.0, 0.0])
        >>> fractional_delay(xs, 1.5, max_delay=3, kernel="triangle", time_axis=0).tolist()
        [0.0, 0.5, 0.5, 0.0]
    """
    fn = "fractional_delay"
    xs = jnp.asarray(xs)
    if not jnp.issubdtype(xs.dtype, jnp.floating):
        raise TypeError(f"{fn}: xs must have a floating dtype, got {xs.dtype}.")
    if not -xs.ndim <= time_axis < xs.ndim:
        raise ValueError(f"{fn}: time_axis {time_axis} is out of range for shape {xs.shape}.")
    _check_kernel_args(fn, max_delay, sigma, kernel)
    step_shape = tuple(s for i, s in enumerate(xs.shape) if i != time_axis % xs.ndim)
    try:
        grows = jnp.broadcast_shapes(jnp.shape(delays), step_shape) != step_shape
    except ValueError:
        grows = True
    if grows:
        raise ValueError(
            f"{fn}: delays has shape {jnp.shape(delays)}, which does not broadcast to the "
            f"per-step shape {step_shape}."
        )
    return _fractional_delay(xs, delays, sigma, int(max_delay), kernel, time_axis % xs.ndim)


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _fractional_delay(
    xs: jax.Array, delays: Any, sigma: Any, max_delay: int, kernel: Kernel, time_axis: int
) -> jax.Array:
    x0 = jnp.moveaxis(xs, time_axis, 0)
    k = delay_kernel(delays, max_delay=max_delay, sigma=sigma, kernel=kernel).astype(x0.dtype)
    n_steps = x0.shape[0]
    pad = jnp.concatenate([jnp.zeros((max_delay, *x0.shape[1:]), x0.dtype), x0], axis=0)
    k = k.reshape((k.shape[0],) + (1,) * (x0.ndim - k.ndim + 1) + k.shape[1:])
    # Sum over the D + 1 lags (not over time): lag tau reads pad[D - tau : D - tau + T].
    y = sum(
        k[tau] * lax.dynamic_slice_in_dim(pad, max_delay - tau, n_steps, axis=0)
        for tau in range(max_delay + 1)
    )
    return jnp.moveaxis(jnp.asarray(y), 0, time_axis)


def fractional_delay_dense(
    xs: Any,
    weight: Any,
    delays: Any,
    *,
    max_delay: int,
    sigma: Any = 1.0,
    kernel: Kernel = "gaussian",
    time_axis: int,
) -> jax.Array:
    r"""A dense layer with one learnable delay per synapse, over a whole sequence.

    :math:`I_{j,t} = \sum_i \sum_{\tau=0}^{D} W_{ij}\, k_{ij}(\tau)\, x_{i,t-\tau}`,
    computed as one causal 1-D convolution (Hammouamri et al. 2023).

    Args:
        xs: input sequence ``[..., N_in]`` with time on ``time_axis``.
        weight: ``(N_in, N_out)`` weights (``x @ weight`` orientation).
        delays: ``(N_in, N_out)`` real delays in steps.
        max_delay: the largest lag ``D``.
        sigma: kernel width in steps.
        kernel: ``"gaussian"`` or ``"triangle"``.
        time_axis: the time axis of ``xs`` (not the last axis).

    Returns:
        The input currents, ``xs``'s shape with ``N_out`` in place of ``N_in``.

    Example:
        >>> import jax.numpy as jnp
        >>> xs = jnp.array([[1.0], [0.0], [0.0]])  # [T=3, N_in=1]
        >>> y = fractional_delay_dense(xs, jnp.array([[2.0, 1.0]]), jnp.array([[0.0, 2.0]]),
        ...                            max_delay=2, kernel="triangle", time_axis=0)
        >>> y.tolist()
        [[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
    """
    fn = "fractional_delay_dense"
    xs = jnp.asarray(xs)
    if not jnp.issubdtype(xs.dtype, jnp.floating):
        raise TypeError(f"{fn}: xs must have a floating dtype, got {xs.dtype}.")
    if xs.ndim < 2 or not -xs.ndim <= time_axis < xs.ndim or time_axis % xs.ndim == xs.ndim - 1:
        raise ValueError(
            f"{fn}: xs must be [..., N_in] with a time axis other than the last, got shape "
            f"{xs.shape} and time_axis={time_axis}."
        )
    w = jnp.asarray(weight, xs.dtype)
    n_in = xs.shape[-1]
    if w.ndim != 2 or w.shape[0] != n_in:
        raise ValueError(f"{fn}: weight must be ({n_in}, N_out), got shape {w.shape}.")
    if jnp.shape(delays) != w.shape:
        raise ValueError(
            f"{fn}: delays must have the weight's shape {w.shape}, got {jnp.shape(delays)}."
        )
    _check_kernel_args(fn, max_delay, sigma, kernel)
    return _fractional_delay_dense(
        xs, w, delays, sigma, int(max_delay), kernel, time_axis % xs.ndim
    )


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _fractional_delay_dense(
    xs: jax.Array,
    w: jax.Array,
    delays: Any,
    sigma: Any,
    max_delay: int,
    kernel: Kernel,
    time_axis: int,
) -> jax.Array:
    n_in = xs.shape[-1]
    k = delay_kernel(delays, max_delay=max_delay, sigma=sigma, kernel=kernel).astype(xs.dtype)
    # rhs[j, i, m] = W_ij k_ij(D - m): cross-correlation over the left-padded input.
    rhs = jnp.flip(jnp.transpose(k * w[None], (2, 1, 0)), axis=-1)
    x0 = jnp.moveaxis(xs, time_axis, -1)  # [..., N_in, T]
    batch = x0.shape[:-2]
    lhs = x0.reshape((-1, n_in, x0.shape[-1]))
    out = lax.conv_general_dilated(
        lhs,
        rhs,
        window_strides=(1,),
        padding=[(max_delay, 0)],
        dimension_numbers=("NCH", "OIH", "NCH"),
    )
    out = out.reshape((*batch, w.shape[1], x0.shape[-1]))
    return jnp.moveaxis(out, -1, time_axis)


def delay_steps(delay: Any, dt: float, *, atol: float = 1e-6) -> np.ndarray:
    """Convert delays in time units to whole steps, ``round(delay / dt)``, exactly or not at all.

    NIR's ``Delay`` node states delays in time; a step-based simulation can represent
    them exactly only when ``delay / dt`` is a whole number.

    Raises:
        ValueError: if some ``delay / dt`` is negative or further than ``atol`` from an
            integer.

    Example:
        >>> delay_steps([0.002, 0.005], dt=0.001).tolist()
        [2, 5]
    """
    fn = "delay_steps"
    if not dt > 0:
        raise ValueError(f"{fn}: dt must be > 0, got {dt!r}.")
    ratio = np.asarray(delay, np.float64) / dt
    steps = np.round(ratio)
    if np.any(ratio < 0) or np.any(np.abs(ratio - steps) > atol):
        raise ValueError(
            f"{fn}: delay / dt must be whole, non-negative numbers of steps for an exact "
            f"mapping, got {ratio.tolist()}; choose a dt that divides every delay."
        )
    return steps.astype(np.int64)
