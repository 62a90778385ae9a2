"""Input validation shared by every public function (trace-time checks only)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import core as jax_core


def is_concrete(value: Any) -> bool:
    """Return True when ``value`` holds no tracer, so its numbers can be inspected."""
    return not any(isinstance(leaf, jax_core.Tracer) for leaf in jax.tree.leaves(value))


def check_choice(fn: str, name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{fn}: {name} must be one of {choices}, got {value!r}.")


def check_positive(fn: str, name: str, value: Any, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` if a concrete ``value`` is NaN or not positive."""
    if not is_concrete(value):
        return
    arr = np.asarray(value, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{fn}: {name} must not be NaN, got {value!r}.")
    bad = (arr < 0).any() if allow_zero else (arr <= 0).any()
    if bad:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{fn}: {name} must be {bound}, got {value!r}.")


def check_in_range(
    fn: str, name: str, value: Any, low: float, high: float, *, closed_low: bool = True
) -> None:
    """Raise ``ValueError`` if a concrete ``value`` is NaN or outside the interval."""
    if not is_concrete(value):
        return
    arr = np.asarray(value, dtype=np.float64)
    if np.isnan(arr).any():
        raise ValueError(f"{fn}: {name} must not be NaN, got {value!r}.")
    lo_ok = (arr >= low).all() if closed_low else (arr > low).all()
    if not (lo_ok and (arr <= high).all()):
        left = "[" if closed_low else "("
        raise ValueError(f"{fn}: {name} must lie in {left}{low}, {high}], got {value!r}.")


def check_not_nan(fn: str, name: str, value: Any) -> None:
    """Raise ``ValueError`` if a concrete ``value`` contains NaN."""
    if is_concrete(value) and np.isnan(np.asarray(value, dtype=np.float64)).any():
        raise ValueError(f"{fn}: {name} must not be NaN, got {value!r}.")


def check_dt(fn: str, dt: Any) -> None:
    """``dt`` must be a concrete finite number > 0 or a traced scalar."""
    if is_concrete(dt):
        if np.ndim(dt) != 0:
            raise ValueError(f"{fn}: dt must be a scalar, got shape {np.shape(dt)}.")
        value = float(dt)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{fn}: dt must be > 0 and finite, got {dt!r}.")


def check_input(fn: str, x: Any, like: jax.Array, name: str = "x") -> jax.Array:
    """Return ``x`` as an array after checking its dtype and shape against ``like``."""
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{fn}: {name} must have a floating dtype, got {x.dtype}; "
            f"cast it with {name}.astype(jnp.float32)."
        )
    if x.shape != like.shape:
        raise ValueError(
            f"{fn}: {name} has shape {x.shape} but the state has shape {like.shape}; "
            "initialize the state with the input's shape."
        )
    if jnp.result_type(x, like) != like.dtype:
        raise TypeError(
            f"{fn}: {name} has dtype {x.dtype} but the state has dtype {like.dtype}, so the "
            f"step would change the state's dtype; initialize the state with dtype={x.dtype} "
            f"or cast {name}.astype({like.dtype})."
        )
    return x


def broadcast_param(fn: str, name: str, p: Any, like: jax.Array) -> jax.Array:
    """Broadcast a parameter to the state's shape and dtype, refusing to grow the state.

    A parameter may be a scalar (shared by all neurons) or any shape that
    broadcasts to the state's shape (per neuron, e.g. ``(N,)`` for a ``(B, N)``
    state). Broadcasting that would change the state's shape is an error.
    """
    p = jnp.asarray(p)
    try:
        out_shape = jnp.broadcast_shapes(p.shape, like.shape)
    except ValueError:
        out_shape = None
    if out_shape != like.shape:
        raise ValueError(
            f"{fn}: parameter {name} has shape {p.shape}, which does not broadcast to "
            f"the state shape {like.shape}; give a scalar or a shape that broadcasts."
        )
    return jnp.broadcast_to(p.astype(like.dtype), like.shape)
