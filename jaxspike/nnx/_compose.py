"""Composition over time: stateless layers on sequences, and a stateful ``Sequential``.

:class:`TimeDistributed` applies any stateless layer (``nnx.Linear``, ``nnx.Conv``,
pooling, ``nnx.Dropout``, normalization, a plain function) to ``[B, T, ...]`` by folding
time into the batch: one call on ``[B*T, ...]``, no loop over time. :class:`Sequential`
chains such layers with jaxspike's neuron layers and threads each neuron layer's carry,
so a whole spiking network is one module with one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike.nnx._layers import RNN


class TimeDistributed(nnx.Module):
    """Apply a stateless layer to every time step of ``[B, T, ...]`` at once.

    The two leading axes (batch and time, in either order) are merged into one before
    the call and split again after it, so the layer sees a batch of ``B*T`` samples.
    Batch statistics (``nnx.BatchNorm``) are therefore taken over batch and time.

    Args:
        layer: any callable on a batch ``[N, ...]``: an NNX module or a function such as
            ``functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2))``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> layer = TimeDistributed(nnx.Linear(3, 5, rngs=nnx.Rngs(0)))
        >>> layer(jnp.ones((2, 7, 3))).shape
        (2, 7, 5)
    """

    def __init__(self, layer: Callable[..., Any]):
        self.layer = layer

    def __call__(self, inputs: jax.Array, **kwargs: Any) -> jax.Array:
        """``inputs[B, T, ...] -> outputs[B, T, ...]``; keywords go to the layer."""
        x = jnp.asarray(inputs)
        if x.ndim < 2:
            raise ValueError(
                f"TimeDistributed: inputs must have batch and time axes [B, T, ...], got "
                f"shape {x.shape}."
            )
        lead = x.shape[:2]
        y = self.layer(x.reshape((lead[0] * lead[1], *x.shape[2:])), **kwargs)
        return jax.tree.map(lambda a: a.reshape((*lead, *a.shape[1:])), y)


class Sequential(nnx.Module):
    """A spiking network as one module: layers applied in order to ``[B, T, ...]``.

    jaxspike layers (:class:`RNN` and the neuron layers, :class:`TimeDistributed`,
    nested :class:`Sequential`) are used as given; every other layer or function is
    wrapped in :class:`TimeDistributed`. Each neuron layer scans the whole sequence
    before the next layer runs, which is exact for feed-forward stacks and lets the
    stateless layers run once on ``[B*T, ...]``.

    Args:
        *layers: the layers, first to last.
        time_major: passed to every neuron layer (``[T, B, ...]`` sequences).

    Example:
        >>> import functools, jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxspike.nnx import LI, LIF
        >>> rngs = nnx.Rngs(0)
        >>> model = Sequential(
        ...     nnx.Conv(1, 4, (3, 3), rngs=rngs), LIF(4),
        ...     functools.partial(nnx.avg_pool, window_shape=(2, 2), strides=(2, 2)),
        ...     lambda x: x.reshape(x.shape[0], -1), nnx.Linear(64, 10, rngs=rngs), LI(10))
        >>> model(jnp.ones((2, 5, 8, 8, 1))).shape
        (2, 5, 10)
    """

    def __init__(self, *layers: Callable[..., Any], time_major: bool = False):
        own = (RNN, TimeDistributed, Sequential)
        self.layers = nnx.List(
            [layer if isinstance(layer, own) else TimeDistributed(layer) for layer in layers]
        )
        self.time_major = time_major

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: tuple[Any, ...] | None = None,
        return_carry: bool = False,
    ) -> Any:
        """Run every layer over the whole sequence.

        Args:
            inputs: ``[B, T, ...]`` (``[T, B, ...]`` with ``time_major``).
            initial_carry: one entry per layer (``None`` for resting state or for a
                stateless layer), e.g. the carries returned by a previous call.
            return_carry: also return the final carries.

        Returns:
            The last layer's outputs, or ``(carries, outputs)`` where ``carries`` holds
            one entry per layer (``None`` for stateless ones).
        """
        n = len(self.layers)
        if initial_carry is None:
            initial_carry = (None,) * n
        if len(initial_carry) != n:
            raise ValueError(
                f"Sequential: initial_carry needs one entry per layer ({n}), got "
                f"{len(initial_carry)}."
            )
        x, carries = inputs, []
        for layer, carry in zip(self.layers, initial_carry, strict=True):
            if isinstance(layer, RNN):
                carry, x = layer(
                    x, initial_carry=carry, return_carry=True, time_major=self.time_major
                )
            elif isinstance(layer, Sequential):
                carry, x = layer(x, initial_carry=carry, return_carry=True)
            else:
                x = layer(x)
            carries.append(carry)
        return (tuple(carries), x) if return_carry else x
