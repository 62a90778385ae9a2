"""Delay-layer pieces shared by the NNX and Linen wrappers (no Flax import)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike._layer.spec import layout
from jaxspike._validate import is_concrete
from jaxspike.delays import DelayState, Kernel, delay_init, fractional_delay_dense


def integer_delays(
    owner: str, delays: Any, num_features: int, max_delay: int | None
) -> tuple[jax.Array, int]:
    """Check whole-step delays ``()`` or ``(num_features,)``; return them and ``max_delay``."""
    arr = np.asarray(delays)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer)
        or (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    ):
        raise ValueError(
            f"{owner}: delays must be whole numbers of steps, got {arr.dtype} values "
            f"{arr.tolist() if arr.size < 9 else '...'}; for learnable real-valued "
            "delays use DelayedLinear (nnx) or DelayedDense (linen)."
        )
    if arr.shape not in ((), (num_features,)):
        raise ValueError(
            f"{owner}: delays must be a number or have shape ({num_features},) (one per "
            f"neuron), got shape {arr.shape}."
        )
    if arr.size and arr.min() < 0:
        raise ValueError(f"{owner}: delays must be >= 0, got a minimum of {arr.min()}.")
    largest = int(arr.max()) if arr.size else 0
    if max_delay is None:
        max_delay = largest
    if isinstance(max_delay, bool) or not isinstance(max_delay, (int, np.integer)):
        raise TypeError(f"{owner}: max_delay must be an int, got {max_delay!r}.")
    if largest > max_delay:
        raise ValueError(
            f"{owner}: delays go up to {largest} steps but max_delay is {max_delay}; raise "
            "max_delay (the ring buffer holds max_delay + 1 steps)."
        )
    full = np.broadcast_to(arr, (num_features,)).astype(np.int32)
    return jnp.asarray(full), int(max_delay)


def empty_buffer(cell: Any, max_delay: int, input_shape: tuple[int, ...], dtype: Any) -> DelayState:
    """The resting ring buffer of an NNX or Linen delay cell for one step's input shape.

    ``dtype`` defaults to the cell's ``dtype``, else ``float32``.
    """
    shape = tuple(input_shape)
    if not shape or shape[-1] != cell.num_features:
        raise ValueError(
            f"{type(cell).__name__}.initialize_carry: input_shape must end in "
            f"{cell.num_features} features, got {shape}."
        )
    if dtype is None:
        dtype = jnp.float32 if cell.dtype is None else cell.dtype
    return delay_init(max_delay, shape, dtype)


def check_delayed_args(owner: str, max_delay: Any, sigma: Any, kernel: Any) -> None:
    """Reject a bad ``max_delay``, ``sigma`` or ``kernel`` of a delayed dense layer."""
    if isinstance(max_delay, bool) or not isinstance(max_delay, int) or max_delay < 0:
        raise ValueError(f"{owner}: max_delay must be an int >= 0, got {max_delay!r}.")
    if kernel not in ("gaussian", "triangle"):
        raise ValueError(f"{owner}: kernel must be 'gaussian' or 'triangle', got {kernel!r}.")
    if not (is_concrete(sigma) and np.ndim(sigma) == 0 and float(sigma) > 0):
        raise ValueError(f"{owner}: sigma must be a number > 0, got {sigma!r}.")


def delayed_dense_sequence(
    owner: str,
    inputs: jax.Array,
    weight: jax.Array,
    delays: jax.Array,
    bias: jax.Array | None,
    *,
    max_delay: int,
    sigma: Any,
    kernel: Kernel,
    initial_carry: Any,
    return_carry: bool,
    time_major: bool,
) -> Any:
    """The sequence call of the delayed dense layers (NNX and Linen share it).

    Prepends the carried history (the last ``max_delay`` inputs, time first) to the
    sequence, applies :func:`~jaxspike.delays.fractional_delay_dense` and adds the bias.
    """
    xs = layout(owner, inputs, time_major)
    xs = xs if time_major else jnp.swapaxes(xs, 0, 1)  # [T, B, ..., in]
    d = max_delay
    if initial_carry is None:
        history, full = jnp.zeros((d, *xs.shape[1:]), xs.dtype), xs
    else:
        history = jnp.asarray(initial_carry, xs.dtype)
        if history.shape != (d, *xs.shape[1:]):
            raise ValueError(
                f"{owner}: initial_carry must have shape {(d, *xs.shape[1:])} (the last "
                f"max_delay inputs, time first), got {history.shape}."
            )
        full = jnp.concatenate([history, xs], axis=0)
    if xs.shape[0] == 0:  # an empty chunk (e.g. to build a resting carry)
        y = jnp.zeros((0, *xs.shape[1:-1], jnp.shape(weight)[-1]), xs.dtype)
    else:
        y = fractional_delay_dense(
            full, weight, delays, max_delay=d, sigma=sigma, kernel=kernel, time_axis=0
        )
        y = y if initial_carry is None else y[d:]
    if bias is not None:
        y = y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,)).astype(y.dtype)
    if not time_major:
        y = jnp.swapaxes(y, 0, 1)
    if not return_carry:
        return y
    seen = full if initial_carry is not None else jnp.concatenate([history, xs], axis=0)
    return seen[seen.shape[0] - d :], y
