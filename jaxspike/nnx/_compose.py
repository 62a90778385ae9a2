"""Composition over time: stateless layers on sequences, and a stateful ``Sequential``.

:class:`TimeDistributed` applies any stateless layer (``nnx.Linear``, ``nnx.Conv``,
pooling, ``nnx.Dropout``, normalization, a plain function) to ``[B, T, ...]`` by folding
time into the batch: one call on ``[B*T, ...]``, no loop over time. :class:`Sequential`
chains such layers with jaxspike's neuron layers and threads each neuron layer's carry,
so a whole spiking network is one module with one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike.nnx._layers import RNN
from jaxspike.ops.scan import unroll as _unroll


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


Placement = Literal["auto", "layerwise", "fused"]
_PLACEMENTS = ("auto", "layerwise", "fused")
_FUSE_MIN_WORK = 100_000  # steps x widest neuron layer; below it the placements tie on CPU


class Sequential(nnx.Module):
    """A spiking network as one module: layers applied in order to ``[B, T, ...]``.

    jaxspike layers (:class:`RNN` and the neuron layers, :class:`TimeDistributed`,
    nested :class:`Sequential`) are used as given; every other layer or function is
    wrapped in :class:`TimeDistributed`. Two placements compute the same function:

    * ``"layerwise"``: each neuron layer scans the whole sequence before the next layer
      runs, and each stateless layer runs once on ``[B*T, ...]`` outside the scans
      (large matmuls; ``[T, B, ...]`` intermediates between layers).
    * ``"fused"``: one :func:`jaxspike.unroll` over time runs every layer at every step
      on ``[B, ...]`` (only one step's activations alive per layer; the backward pass
      keeps the residuals of one scan).

    ``"auto"`` (default) picks ``"fused"`` on CPU when the number of steps times the
    widest neuron layer is at least 100 000, and ``"layerwise"`` otherwise and on other
    backends (GPU, TPU: few large matmuls; not measured yet). On CPU (``docs/benchmarks.md``)
    the two tie at T = 100, H = 256 (W1, W2), while at T = 1000 or H = 4096 the fused scan
    stays within 1.0-1.1x a hand-written one-scan JAX reference and the layerwise one
    takes 1.25-2.6x its time and 2.5x its memory. ``"auto"`` stays
    layerwise when a stateless layer holds state other than ``nnx.Param`` (dropout
    random streams, batch statistics), which cannot be updated inside the scan and whose
    batch statistics would change meaning, and when a layer is event-driven
    (``SpikeLinear(event_capacity=K)``: its row gathers pay off on the whole sequence,
    and ran 3-7x slower step by step at W3/W4 sizes). Stateless layers must treat the samples of a
    batch independently (as :class:`TimeDistributed` already assumes).

    Args:
        *layers: the layers, first to last.
        time_major: inputs and outputs ``[T, B, ...]`` (passed to every neuron layer).
        placement: ``"auto"``, ``"layerwise"`` or ``"fused"`` (see above).
        unroll: steps unrolled per iteration of the fused scan.
        checkpoint: recomputation in the backward pass of the fused scan (see
            :func:`jaxspike.unroll`): ``True`` per step, an int ``k`` per chunk of ``k``
            steps (``k`` dividing ``T``, ``k ~ sqrt(T)`` keeps memory ~ ``sqrt(T)``).
            The layerwise placement uses each neuron layer's own ``unroll`` and
            ``checkpoint`` instead.

    Example:
        >>> import functools, jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxspike.nnx import LI, LIF
        >>> rngs = nnx.Rngs(0)
        >>> model = Sequential(
        ...     nnx.Conv(1, 4, (3, 3), rngs=rngs), LIF(4),
        ...     functools.partial(nnx.avg_pool, window_shape=(2, 2), strides=(2, 2)),
        ...     lambda x: x.reshape(x.shape[0], -1), nnx.Linear(64, 10, rngs=rngs), LI(10))
        >>> x = jnp.ones((2, 5, 8, 8, 1))
        >>> model(x).shape
        (2, 5, 10)
        >>> bool(jnp.allclose(model(x, placement="fused"), model(x, placement="layerwise")))
        True
    """

    def __init__(
        self,
        *layers: Callable[..., Any],
        time_major: bool = False,
        placement: Placement = "auto",
        unroll: int | bool = 1,
        checkpoint: bool | int = False,
    ):
        _check_placement(type(self).__name__, placement)
        own = (RNN, TimeDistributed, Sequential)
        self.layers = nnx.List(
            [layer if isinstance(layer, own) else TimeDistributed(layer) for layer in layers]
        )
        self.time_major = time_major
        self.placement = placement
        self.unroll = unroll
        self.checkpoint = checkpoint

    def resolve_placement(
        self, placement: Placement | None = None, *, num_steps: int | None = None
    ) -> str:
        """The placement a call on ``num_steps`` steps uses: ``"layerwise"`` or ``"fused"``.

        ``"auto"`` gives ``"fused"`` on CPU when ``num_steps`` times the widest neuron
        layer is at least ``100_000`` (``num_steps=None``: assume it is), else
        ``"layerwise"`` (see the class).
        """
        chosen: str = self.placement if placement is None else placement
        _check_placement(type(self).__name__, chosen)
        if chosen != "auto":
            return chosen
        if jax.default_backend() != "cpu" or _stateful_layers(self) or _event_layers(self):
            return "layerwise"
        if num_steps is not None and num_steps * _width(self) < _FUSE_MIN_WORK:
            return "layerwise"
        return "fused"

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: tuple[Any, ...] | None = None,
        return_carry: bool = False,
        placement: Placement | None = None,
    ) -> Any:
        """Run every layer over the whole sequence.

        Args:
            inputs: ``[B, T, ...]`` (``[T, B, ...]`` with ``time_major``).
            initial_carry: one entry per layer (``None`` for resting state or for a
                stateless layer), e.g. the carries returned by a previous call.
            return_carry: also return the final carries.
            placement: override the attribute of the same name for this call.

        Returns:
            The last layer's outputs, or ``(carries, outputs)`` where ``carries`` holds
            one entry per layer (``None`` for stateless ones).
        """
        owner = type(self).__name__
        n = len(self.layers)
        if initial_carry is None:
            initial_carry = (None,) * n
        if len(initial_carry) != n:
            raise ValueError(
                f"{owner}: initial_carry needs one entry per layer ({n}), got {len(initial_carry)}."
            )
        steps = jnp.shape(inputs)[0 if self.time_major else 1] if jnp.ndim(inputs) > 1 else 0
        if self.resolve_placement(placement, num_steps=steps) == "fused":
            carries, x = self._fused(inputs, tuple(initial_carry))
            return (carries, x) if return_carry else x
        x, carries = inputs, []
        for layer, carry in zip(self.layers, initial_carry, strict=True):
            if isinstance(layer, RNN):
                carry, x = layer(
                    x, initial_carry=carry, return_carry=True, time_major=self.time_major
                )
            elif isinstance(layer, Sequential):
                # a nested Sequential keeps its own layout: swap time and batch if needed
                swap = layer.time_major != self.time_major
                x = jnp.swapaxes(x, 0, 1) if swap else x
                carry, x = layer(x, initial_carry=carry, return_carry=True)
                x = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), x) if swap else x
            else:
                x = layer(x)
            carries.append(carry)
        return (tuple(carries), x) if return_carry else x

    def _fused(self, inputs: jax.Array, initial_carry: tuple[Any, ...]) -> tuple[Any, Any]:
        owner = type(self).__name__
        bad = _stateful_layers(self)
        if bad:
            raise TypeError(
                f"{owner}: placement='fused' runs the stateless layers inside the time scan, "
                f"where {bad[0]} cannot run step by step (it has no step cell or holds "
                f"non-parameter state); use "
                f"placement='layerwise'."
            )
        x = jnp.asarray(inputs)
        if x.ndim < 3:
            raise ValueError(
                f"{owner}: inputs must be a sequence with batch and time axes and features, "
                f"got shape {x.shape}."
            )
        xs = x if self.time_major else jnp.swapaxes(x, 0, 1)
        step, carry, _ = _step_of(self, jax.ShapeDtypeStruct(xs.shape[1:], xs.dtype), initial_carry)
        final, ys = _unroll(step, carry, xs, unroll=self.unroll, checkpoint=self.checkpoint)[:2]
        if not self.time_major:
            ys = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), ys)
        return final, ys


def _check_placement(owner: str, placement: Any) -> None:
    if placement not in _PLACEMENTS:
        raise ValueError(f"{owner}: placement must be one of {_PLACEMENTS}, got {placement!r}.")


def _stateful_layers(model: Sequential) -> list[str]:
    """Layers (recursively) that cannot run one step at a time inside the fused scan.

    Stateless layers holding state other than ``nnx.Param`` (dropout random streams,
    batch statistics), and sequence layers without a step cell (e.g. delay lines).
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, Sequential):
            found += _stateful_layers(layer)
        elif isinstance(layer, RNN):
            if not hasattr(layer, "cell"):
                found.append(type(layer).__name__)
        elif (
            isinstance(layer, TimeDistributed)
            and isinstance(layer.layer, nnx.Module)
            and jax.tree.leaves(nnx.state(layer.layer, nnx.Not(nnx.Param)))
        ):
            found.append(type(layer.layer).__name__)
    return found


def _event_layers(model: Sequential) -> bool:
    """Whether a layer (recursively) is event-driven (``SpikeLinear(event_capacity=K)``).

    Its row gathers pay off on the whole ``[T*B, K]`` sequence, not on one step.
    """
    for layer in model.layers:
        if isinstance(layer, Sequential) and _event_layers(layer):
            return True
        if isinstance(layer, TimeDistributed) and (
            getattr(layer.layer, "event_capacity", None) is not None
        ):
            return True
    return False


def _width(model: Sequential) -> int:
    """The widest neuron layer (``num_features`` of its cell), recursively."""
    widths = [0]
    for layer in model.layers:
        if isinstance(layer, Sequential):
            widths.append(_width(layer))
        elif isinstance(layer, RNN) and hasattr(layer, "cell"):
            widths.append(int(getattr(layer.cell, "num_features", 0) or 0))
    return max(widths)


def _step_of(
    model: Sequential, shape: jax.ShapeDtypeStruct, initial_carry: tuple[Any, ...]
) -> tuple[Callable[..., Any], tuple[Any, ...], jax.ShapeDtypeStruct]:
    """One time step of every layer of ``model``: ``(step, resting carry, output shape)``.

    ``step(carries, x_t) -> (carries, y_t)`` on one step ``x_t[B, ...]``; nested
    :class:`Sequential` layers become nested steps with nested carries.
    """
    fns: list[Callable[..., Any]] = []
    carries: list[Any] = []
    for layer, carry in zip(model.layers, initial_carry, strict=True):
        if isinstance(layer, RNN):
            cell = layer.cell
            shape = jax.ShapeDtypeStruct(shape.shape, cell.dtype or shape.dtype)
            if carry is None:
                carry = cell.initialize_carry(shape.shape)
                carry = jax.tree.map(lambda a, d=shape.dtype: a.astype(d), carry)
            fns.append(_cell_fn(cell))
        elif isinstance(layer, Sequential):
            n = len(layer.layers)
            inner = (None,) * n if carry is None else tuple(carry)
            if len(inner) != n:
                raise ValueError(
                    f"{type(layer).__name__}: initial_carry needs one entry per layer ({n}), "
                    f"got {len(inner)}."
                )
            f, carry, shape = _step_of(layer, shape, inner)
            fns.append(f)
        else:
            f = layer.layer if isinstance(layer, TimeDistributed) else layer
            shape = jax.eval_shape(f, shape)
            fns.append(_stateless_fn(f))
        carries.append(carry)

    def step(state: tuple[Any, ...], x_t: jax.Array) -> tuple[tuple[Any, ...], jax.Array]:
        new = []
        for f, c in zip(fns, state, strict=True):
            c, x_t = f(c, x_t)
            new.append(c)
        return tuple(new), x_t

    return step, tuple(carries), shape


def _cell_fn(cell: Any) -> Callable[[Any, jax.Array], tuple[Any, jax.Array]]:
    inner = cell.step_fn()

    def f(carry: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        return inner(carry, cell.prepare(x))

    return f


def _stateless_fn(layer: Callable[..., Any]) -> Callable[[Any, jax.Array], tuple[Any, jax.Array]]:
    def f(carry: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        return carry, layer(x)

    return f


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
        [(1, 2), (1, 2), (1, 2)]
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
