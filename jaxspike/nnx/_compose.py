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


class NeuronState(nnx.Variable):
    """Neuron state kept between calls by :class:`Streaming` (not trained, not random).

    Select it with ``nnx.state(model, NeuronState)``; leave it out of an optimizer with
    ``wrt=nnx.Param`` (the default filter of :class:`flax.nnx.Optimizer` users).
    """


class Streaming(nnx.Module):
    """Online inference: run a sequence model chunk by chunk, keeping its carry.

    The carry of ``model`` (every neuron layer's state, e.g. membranes and synaptic
    currents) lives in :class:`NeuronState` variables between calls, so feeding a
    sequence in pieces (down to one step, ``[B, 1, ...]``) gives the same outputs as one
    call on the whole sequence. :meth:`reset` puts every neuron at rest. Inside
    :func:`flax.nnx.jit` the state is updated in place like any NNX variable.

    Args:
        model: a module with ``model(x, initial_carry=..., return_carry=True)``:
            :class:`Sequential`, :class:`RNN` or a neuron layer (:class:`LIF`, ...).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxspike.nnx import LIF
        >>> online = Streaming(LIF(2, decay=0.5))
        >>> online.reset(batch_size=1, features=(2,))
        >>> [online(jnp.full((1, 1, 2), 0.75))[0, 0, 0].tolist() for _ in range(4)]
        [0.0, 1.0, 0.0, 1.0]
        >>> [v.shape for v in jax.tree.leaves(nnx.state(online, NeuronState))]
        [(1, 2), (1, 2)]
    """

    def __init__(self, model: nnx.Module):
        self.model = model
        self.state = nnx.List([])
        self.treedef: Any = None

    def reset(self, *, batch_size: int, features: tuple[int, ...], dtype: Any = jnp.float32):
        """Put every neuron at rest for inputs of shape ``[batch_size, T, *features]``.

        The resting carry is what ``model`` returns for a sequence of zero steps, so its
        structure and shapes are those of any later chunk.
        """
        empty = jnp.zeros((batch_size, 0, *features), dtype)
        carry, _ = self.model(empty, return_carry=True)
        leaves, self.treedef = jax.tree.flatten(carry)
        self.state = nnx.List([NeuronState(leaf) for leaf in leaves])

    def carry(self) -> Any:
        """The current carry of ``model`` (a pytree of arrays)."""
        if self.treedef is None:
            raise ValueError(
                "Streaming: the state is not initialized; call "
                "reset(batch_size=..., features=...) first."
            )
        return jax.tree.unflatten(self.treedef, [v[...] for v in self.state])

    def __call__(self, inputs: jax.Array) -> Any:
        """Run one chunk ``[B, T, ...]`` from the stored state and store the new state."""
        carry, y = self.model(inputs, initial_carry=self.carry(), return_carry=True)
        new = jax.tree.leaves(carry)
        for var, leaf in zip(self.state, new, strict=True):
            var[...] = leaf
        return y
