"""NNX fast paths: one scan for a whole network, and spike-aware linear layers.

:class:`Fused` is :class:`~jaxspike.nnx.Sequential` with ``placement="fused"``: every
layer of a feed-forward stack inside *one* time scan (the stateless layers on one step
``[B, ...]`` at a time), instead of each stateless layer once on the whole ``[B*T, ...]``
sequence with only the neuron recurrences scanned (``placement="layerwise"``). Both
compute the same function; which is faster depends on sizes and backend (see
``docs/benchmarks.md``). ``checkpoint`` recomputes chunks of steps in the backward
pass, so memory grows sub-linearly in ``T``.

:class:`SpikeLinear` is ``nnx.Linear`` (same ``kernel`` and ``bias``) for binary spike
inputs, with a bit-packed backward residual, an event-driven forward pass, or a compute
dtype (``bfloat16`` weights and spikes; the output is cast back for float32 membranes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import nnx
from jax import lax

from jaxspike.nnx._compose import Sequential
from jaxspike.ops.fast import event_matmul, packed_linear, spike_indices

_ZEROS = nnx.initializers.zeros_init()
_LECUN = nnx.initializers.lecun_normal()


class SpikeLinear(nnx.Module):
    """A dense layer for spike inputs: ``y = s @ kernel + bias`` with spike-aware options.

    Args:
        in_features: input size ``F``.
        out_features: output size ``H``.
        residual: ``"dense"`` stores the input for the backward pass as a plain matmul
            does; ``"packed"`` stores it as bits (:func:`jaxspike.packed_linear`; only
            for 0/1 inputs).
        event_capacity: if set, the forward pass sums the kernel rows of at most this
            many active inputs per row (:func:`jaxspike.event_matmul`). A call in which a
            row has more spikes, or a value other than 0 and 1, takes the dense product
            instead (``lax.cond``), so no spike is dropped.
        inputs: ``"spikes"``: the layer takes binary spikes ``[..., F]``. ``"indices"``:
            it takes the active input indices ``int [..., event_capacity]`` padded with
            ``F`` (from :func:`jaxspike.data.events.to_indices` in the data loader, or
            :func:`jaxspike.spike_indices`), skipping the compaction; needs
            ``event_capacity``. ``"packed"``: it takes the spikes bit-packed along the
            feature axis, ``uint8 [..., ceil(F / 8)]`` from ``jnp.packbits(s, axis=-1)``,
            and unpacks them where they are used (inside the time scan of
            :class:`Fused`), so the input sequence costs 1 bit per spike in memory.
        compute_dtype: dtype of the matmul (e.g. ``jnp.bfloat16``: spikes are exact in
            it); the output is cast back to the input's dtype.
        use_bias: add a bias.
        kernel_init: initializer of the ``(F, H)`` kernel (``nnx.Linear``'s default).
        bias_init: initializer of the bias.
        param_dtype: dtype of the stored parameters.
        rngs: random keys.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> layer = SpikeLinear(4, 2, residual="packed", rngs=nnx.Rngs(0))
        >>> layer(jnp.ones((3, 4))).shape
        (3, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        residual: Literal["dense", "packed"] = "dense",
        event_capacity: int | None = None,
        inputs: Literal["spikes", "indices", "packed"] = "spikes",
        compute_dtype: Any = None,
        use_bias: bool = True,
        kernel_init: Any = _LECUN,
        bias_init: Any = _ZEROS,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        if residual not in ("dense", "packed"):
            raise ValueError(
                f"SpikeLinear: residual must be 'dense' or 'packed', got {residual!r}."
            )
        if event_capacity is not None and (
            not isinstance(event_capacity, int) or event_capacity < 1
        ):
            raise ValueError(
                f"SpikeLinear: event_capacity must be None or an int >= 1, got {event_capacity!r}."
            )
        if inputs not in ("spikes", "indices", "packed"):
            raise ValueError(
                f"SpikeLinear: inputs must be 'spikes', 'indices' or 'packed', got {inputs!r}."
            )
        if inputs == "indices" and event_capacity is None:
            raise ValueError(
                "SpikeLinear: inputs='indices' needs event_capacity (the index slots per row)."
            )
        self.inputs = inputs
        self.in_features = in_features
        self.out_features = out_features
        self.residual = residual
        self.event_capacity = event_capacity
        self.compute_dtype = compute_dtype
        key = rngs.params()
        self.kernel = nnx.Param(kernel_init(key, (in_features, out_features), param_dtype))
        self.bias = (
            nnx.Param(bias_init(rngs.params(), (out_features,), param_dtype)) if use_bias else None
        )

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """``inputs[..., F] -> outputs[..., H]`` (``[..., K]`` indices, ``[..., F/8]`` bytes)."""
        x = jnp.asarray(inputs)
        w_dtype = self.kernel[...].dtype
        out_dtype = x.dtype
        if self.inputs == "indices":
            if not jnp.issubdtype(x.dtype, jnp.integer):
                raise TypeError(
                    f"SpikeLinear: inputs='indices' takes integer indices, got dtype {x.dtype}."
                )
            if x.ndim < 1 or x.shape[-1] != self.event_capacity:
                raise ValueError(
                    f"SpikeLinear: index inputs must end in event_capacity={self.event_capacity}"
                    f" slots, got shape {x.shape}."
                )
            out_dtype = w_dtype
        elif self.inputs == "packed":
            n_bytes = -(-self.in_features // 8)
            if x.dtype != jnp.uint8 or x.ndim < 1 or x.shape[-1] != n_bytes:
                raise ValueError(
                    f"SpikeLinear: inputs='packed' takes uint8 [..., {n_bytes}] (packbits of "
                    f"{self.in_features} features), got {x.dtype} {x.shape}."
                )
            out_dtype = w_dtype
            x = jnp.unpackbits(x, axis=-1, count=self.in_features).astype(w_dtype)
        elif x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"SpikeLinear: inputs must end in {self.in_features} features, got shape {x.shape}."
            )
        indices = self.inputs == "indices"
        dtype = self.compute_dtype or (w_dtype if indices else jnp.result_type(x.dtype, w_dtype))
        w = self.kernel[...].astype(dtype)
        b = None if self.bias is None else self.bias[...].astype(dtype)
        if indices:
            y = event_matmul(x, w)
        elif self.event_capacity is not None:
            xs, k = x.astype(dtype), self.event_capacity
            fits = jnp.all(jnp.count_nonzero(xs, axis=-1) <= k) & jnp.all((xs == 0) | (xs == 1))
            y = lax.cond(
                fits,
                lambda xs, w: event_matmul(spike_indices(xs, capacity=k), w),
                lambda xs, w: xs @ w,
                xs,
                w,
            )
        elif self.residual == "packed":
            return packed_linear(x.astype(dtype), w, b).astype(out_dtype)
        else:
            y = x.astype(dtype) @ w
        y = y if b is None else y + jnp.broadcast_to(b, y.shape)
        return y.astype(out_dtype)


class Fused(Sequential):
    """A feed-forward spiking network in one time scan: ``Sequential(placement="fused")``.

    Takes the same layers as :class:`~jaxspike.nnx.Sequential` (neuron layers, stateless
    layers acting on one step ``[B, ...]``, nested ``Sequential``) and computes the same
    outputs, but keeps only one ``[B, ...]`` activation per layer alive inside the scan
    instead of whole ``[T, B, ...]`` sequences between layers.

    Args:
        *layers: the layers, first to last.
        time_major: inputs and outputs ``[T, B, ...]`` instead of ``[B, T, ...]``.
        checkpoint: recomputation in the backward pass (see :func:`jaxspike.unroll`):
            ``True`` per step, an int ``k`` per chunk of ``k`` steps (``k ~ sqrt(T)``
            keeps memory ~ ``sqrt(T)``).
        unroll: steps unrolled per scan iteration.
        forward_mode: wrap every neuron's surrogate in :class:`jaxspike.ForwardMode`
            (for :func:`jax.jvp`), as :class:`~jaxspike.nnx.Sequential`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxspike.nnx import LIF
        >>> model = Fused(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), LIF(4), checkpoint=2)
        >>> model(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        *layers: Callable[..., Any],
        time_major: bool = False,
        checkpoint: bool | int = False,
        unroll: int | bool = 1,
        forward_mode: bool = False,
    ):
        super().__init__(
            *layers,
            time_major=time_major,
            placement="fused",
            unroll=unroll,
            checkpoint=checkpoint,
            forward_mode=forward_mode,
        )
