"""Shape probes shared by ANN-to-SNN conversion and NIR export (no Flax import)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp


def reshape_probe(fn: Callable[[Any], Any], shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The per-sample output shape when ``fn`` only reshapes each sample, else ``None``."""
    probe = jnp.arange(math.prod(shape), dtype=jnp.float32).reshape(shape)
    try:
        out = jnp.asarray(fn(probe))
    except Exception:  # any failure means "not a reshape"
        return None
    if out.shape[:1] != shape[:1] or out.size != probe.size:
        return None
    return tuple(out.shape[1:]) if bool(jnp.array_equal(out.ravel(), probe.ravel())) else None
