"""Composition over time: stateless layers on sequences, and a stateful ``Sequential``.

:class:`TimeDistributed` applies any stateless layer (``nnx.Linear``, ``nnx.Conv``,
pooling, ``nnx.Dropout``, normalization, a plain function) to ``[B, T, ...]`` by folding
time into the batch: one call on ``[B*T, ...]``, no loop over time. :class:`Sequential`
chains such layers with jaxspike's neuron layers and threads each neuron layer's carry,
so a whole spiking network is one module with one call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike._layer import spec as _specs
from jaxspike.nnx._layers import RNN, STREAMING, carried_call
from jaxspike.nnx._layers import NeuronState as NeuronState
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

    ``"auto"`` (default) picks ``"fused"`` on CPU and ``"layerwise"`` on other backends
    (GPU, TPU: few large matmuls; not measured yet). It looks at the layers only, never
    at the number of steps, so a model run chunk by chunk (:class:`Streaming`) runs the
    same program as on the whole sequence. On CPU (``docs/benchmarks.md``) the two tie
    at T = 100, H = 256 (W1, W2), while at T = 1000 or H = 4096 the fused scan stays
    within 1.0-1.1x a hand-written one-scan JAX reference and the layerwise one takes
    1.25-2.6x its time and 2.5x its memory. ``"auto"`` stays
    layerwise when a stateless layer holds state other than ``nnx.Param`` (dropout
    random streams, batch statistics), which cannot be updated inside the scan and whose
    batch statistics would change meaning, and when a layer is event-driven
    (``SpikeLinear(event_capacity=K)``: its row gathers pay off on the whole sequence,
    and ran 3-7x slower step by step at W3/W4 sizes). Stateless layers must treat the
    samples of a batch independently (as :class:`TimeDistributed` already assumes).
    The two placements agree to float rounding (about 1e-6), not bit for bit.

    Args:
        *layers: the layers, first to last.
        time_major: inputs and outputs ``[T, B, ...]`` (passed to every neuron layer).
        placement: ``"auto"``, ``"layerwise"`` or ``"fused"`` (see above).
        unroll: steps unrolled per iteration of the fused scan.
        checkpoint: recomputation in the backward pass of the fused scan (see
            :func:`jaxspike.unroll`): ``True`` per step, an int ``k`` per chunk of ``k``
            steps (any ``k >= 1``; when ``k`` does not divide ``T`` the last chunk is
            shorter; ``k ~ sqrt(T)`` keeps memory ~ ``sqrt(T)``). The layerwise
            placement uses each neuron layer's own ``unroll`` and ``checkpoint`` instead.
        forward_mode: run every neuron layer with its surrogate wrapped in
            :class:`jaxspike.ForwardMode` (for :func:`jax.jvp`, :func:`jax.jacfwd`).

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

        Every neuron layer's per-step state, one entry per layer (``None`` for
        stateless ones):

        >>> y, traces = model(x, return_trace=True)
        >>> traces[1].state.v.shape, traces[0] is None
        ((2, 5, 8, 8, 4), True)
    """

    def __init__(
        self,
        *layers: Callable[..., Any],
        time_major: bool = False,
        placement: Placement = "auto",
        unroll: int | bool = 1,
        checkpoint: bool | int = False,
        forward_mode: bool = False,
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
        self.forward_mode = forward_mode

    def resolve_placement(self, placement: Placement | None = None) -> str:
        """The placement a call uses: ``"layerwise"`` or ``"fused"``.

        ``"auto"`` gives ``"fused"`` on CPU, else ``"layerwise"``, and ``"layerwise"``
        for stateful or event-driven layers (see the class). It depends on the layers
        and the backend only, not on the input, so every chunk length gets the same one.
        """
        chosen: str = self.placement if placement is None else placement
        _check_placement(type(self).__name__, chosen)
        if chosen != "auto":
            return chosen
        if jax.default_backend() != "cpu" or _stateful_layers(self) or _event_layers(self):
            return "layerwise"
        return "fused"

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: tuple[Any, ...] | None = None,
        return_carry: bool = False,
        placement: Placement | None = None,
        return_trace: bool = False,
        forward_mode: bool | None = None,
    ) -> Any:
        """Run every layer over the whole sequence.

        Args:
            inputs: ``[B, T, ...]`` (``[T, B, ...]`` with ``time_major``).
            initial_carry: one entry per layer (``None`` for resting state or for a
                stateless layer), e.g. the carries returned by a previous call.
            return_carry: also return the final carries.
            placement: override the attribute of the same name for this call.
            return_trace: also return one entry per layer: the neuron layers'
                :class:`~jaxspike.nnx.Trace` (per-step state and pre-reset membrane, in
                the outputs' layout), a tuple for a nested :class:`Sequential`, ``None``
                for stateless layers and layers that record no trace.
            forward_mode: override the attribute of the same name for this call.

        Returns:
            The last layer's outputs, or ``(carries, outputs)`` where ``carries`` holds
            one entry per layer (``None`` for stateless ones); ``return_trace`` appends
            the traces: ``(outputs, traces)`` or ``(carries, outputs, traces)``.
        """
        owner = type(self).__name__
        n = len(self.layers)
        if initial_carry is not None and len(initial_carry) != n:
            raise ValueError(
                f"{owner}: initial_carry needs one entry per layer ({n}), got {len(initial_carry)}."
            )
        fwd = self.forward_mode if forward_mode is None else forward_mode
        run_in = self._fused if self.resolve_placement(placement) == "fused" else self._layerwise

        def run(carry: Any, with_carry: bool) -> Any:
            carry = (None,) * n if carry is None else tuple(carry)
            carries, x, traces = run_in(inputs, carry, return_trace, fwd)
            result = (carries, x) if with_carry else (x,)
            if return_trace:
                result = (*result, traces)
            return result if len(result) > 1 else result[0]

        return carried_call(self, run, initial_carry, return_carry)

    def _layerwise(
        self, inputs: Any, initial_carry: tuple[Any, ...], trace: bool, forward_mode: bool
    ) -> tuple[Any, Any, Any]:
        x, carries, traces = inputs, [], []
        for layer, carry in zip(self.layers, initial_carry, strict=True):
            tr = None
            if isinstance(layer, RNN):
                extra: dict[str, Any] = {}
                if _takes(layer, "return_trace"):
                    extra = dict(return_trace=trace, forward_mode=forward_mode)
                out = layer(
                    x, initial_carry=carry, return_carry=True, time_major=self.time_major, **extra
                )
                carry, x = out[:2]
                tr = out[2] if trace and len(out) == 3 else None
            elif isinstance(layer, Sequential):
                # a nested Sequential keeps its own layout: swap time and batch if needed
                swap = layer.time_major != self.time_major
                x = jnp.swapaxes(x, 0, 1) if swap else x
                out = layer(
                    x,
                    initial_carry=carry,
                    return_carry=True,
                    return_trace=trace,
                    forward_mode=forward_mode,
                )
                carry, x = out[:2]
                tr = out[2] if trace else None
                if swap:
                    x, tr = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), (x, tr))
            else:
                x = layer(x)
            carries.append(carry)
            traces.append(tr)
        return tuple(carries), x, tuple(traces)

    def _fused(
        self, inputs: jax.Array, initial_carry: tuple[Any, ...], trace: bool, forward_mode: bool
    ) -> tuple[Any, Any, Any]:
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
        shape = jax.ShapeDtypeStruct(xs.shape[1:], xs.dtype)
        step, carry, _ = _step_of(self, shape, initial_carry, trace, forward_mode)
        final, out = _unroll(step, carry, xs, unroll=self.unroll, checkpoint=self.checkpoint)[:2]
        ys, traces = out if trace else (out, None)
        if not self.time_major:
            ys, traces = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), (ys, traces))
        return final, ys, traces


def _takes(layer: Any, keyword: str) -> bool:
    """Whether ``layer.__call__`` accepts ``keyword`` (layers that override it may not)."""
    return keyword in inspect.signature(layer.__call__).parameters


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


def _step_of(
    model: Sequential,
    shape: jax.ShapeDtypeStruct,
    initial_carry: tuple[Any, ...],
    trace: bool = False,
    forward_mode: bool = False,
) -> tuple[Callable[..., Any], tuple[Any, ...], jax.ShapeDtypeStruct]:
    """One time step of every layer of ``model``: ``(step, resting carry, output shape)``.

    ``step(carries, x_t) -> (carries, y_t)`` on one step ``x_t[B, ...]``; nested
    :class:`Sequential` layers become nested steps with nested carries. With ``trace``,
    ``y_t`` is ``(y_t, traces_t)``: one :class:`~jaxspike.nnx.Trace` per neuron layer.
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
            fns.append(_cell_fn(type(layer).__name__, cell, trace, forward_mode))
        elif isinstance(layer, Sequential):
            n = len(layer.layers)
            inner = (None,) * n if carry is None else tuple(carry)
            if len(inner) != n:
                raise ValueError(
                    f"{type(layer).__name__}: initial_carry needs one entry per layer ({n}), "
                    f"got {len(inner)}."
                )
            f, carry, shape = _step_of(layer, shape, inner, trace, forward_mode)
            fns.append(f if trace else _no_trace(f))
        else:
            f = layer.layer if isinstance(layer, TimeDistributed) else layer
            shape = jax.eval_shape(f, shape)
            fns.append(_stateless_fn(f))
        carries.append(carry)

    def step(state: tuple[Any, ...], x_t: jax.Array) -> tuple[tuple[Any, ...], Any]:
        new, traces = [], []
        for f, c in zip(fns, state, strict=True):
            c, (x_t, tr) = f(c, x_t)
            new.append(c)
            traces.append(tr)
        return tuple(new), ((x_t, tuple(traces)) if trace else x_t)

    return step, tuple(carries), shape


def _no_trace(f: Callable[..., Any]) -> Callable[..., Any]:
    def g(carry: Any, x: jax.Array) -> tuple[Any, Any]:
        carry, y = f(carry, x)
        return carry, (y, None)

    return g


def _cell_fn(owner: str, cell: Any, trace: bool, forward_mode: bool) -> Callable[..., Any]:
    inner = _specs.cell_step(owner, cell, forward_mode=forward_mode, pre_reset=trace)

    def f(carry: Any, x: jax.Array) -> tuple[Any, Any]:
        new, out = inner(carry, cell.prepare(x))
        if trace:
            return new, (out[0], _specs.Trace(new, out[1]))
        return new, (out, None)

    return f


def _stateless_fn(layer: Callable[..., Any]) -> Callable[[Any, jax.Array], tuple[Any, Any]]:
    def f(carry: Any, x: jax.Array) -> tuple[Any, Any]:
        return carry, (layer(x), None)

    return f


class Streaming(nnx.Module):
    """Online inference: run any module chunk by chunk, keeping its neurons' state.

    Every jaxspike sequence layer in ``model`` (:class:`RNN` and the neuron layers,
    :class:`Sequential`; the outermost ones, found anywhere in the module graph, so a custom
    ``nnx.Module`` that calls them works unchanged) keeps its carry in :class:`NeuronState`
    variables between calls: a call through this wrapper continues from the stored state
    (calling ``model`` directly still starts from rest). Feeding a sequence in pieces (down
    to one step, ``[B, 1, ...]``) gives bit for bit the outputs of one call on the whole
    sequence (same placement: :class:`Sequential`'s ``"auto"`` does not depend on the number
    of steps). :meth:`reset` puts every neuron at rest. Inside :func:`flax.nnx.jit` the
    state is updated in place like any NNX variable; each new chunk length compiles once
    (use one chunk size, see ``docs/guides/streaming.md``).

    Args:
        model: any NNX module whose call runs jaxspike layers on ``[B, T, ...]`` inputs.

    Raises:
        TypeError: when ``model`` contains no jaxspike sequence layer, or one that defines
            its own ``__call__`` outside a :class:`Sequential` (a delay line): put it in
            a :class:`Sequential`.

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
        streamed = streamed_layers(model)
        if not streamed:
            raise TypeError(
                f"Streaming: model ({type(model).__name__}) contains no jaxspike sequence "
                "layer (RNN, LIF, ..., Sequential), so it has no state to carry."
            )
        for path, layer in streamed:
            if isinstance(layer, RNN) and type(layer).__call__ is not RNN.__call__ and path:
                raise TypeError(
                    f"Streaming: {type(layer).__name__} at {'.'.join(map(str, path))} "
                    "defines its own __call__ and cannot carry its state on its own; wrap "
                    "it in jaxspike.nnx.Sequential."
                )
        for _, layer in streamed:
            layer.stream_state = nnx.List([])
            layer.stream_treedef = None

    def reset(
        self,
        *,
        batch_size: int,
        features: tuple[int, ...],
        dtype: Any = jnp.float32,
        time_major: bool = False,
    ) -> None:
        """Put every neuron at rest for inputs ``[batch_size, T, *features]``.

        The resting carries are those ``model`` leaves after a sequence of zero steps,
        so their structure and shapes are those of any later chunk. ``time_major``:
        the model takes ``[T, batch_size, *features]``.
        """
        for _, layer in streamed_layers(self.model):
            layer.stream_state = nnx.List([])
            layer.stream_treedef = None
        lead = (0, batch_size) if time_major else (batch_size, 0)
        token = STREAMING.set(True)
        try:
            self.model(jnp.zeros((*lead, *features), dtype))
        finally:
            STREAMING.reset(token)

    def carry(self) -> Any:
        """The current carry: the model's own if it is a layer, else a dict by layer path.

        The paths are those of :func:`streamed_layers` (tuples of attribute names).
        """
        carries = {}
        streamed = streamed_layers(self.model)
        for path, layer in streamed:
            if layer.stream_treedef is None:
                raise ValueError(
                    "Streaming: the state is not initialized; call "
                    "reset(batch_size=..., features=...) first."
                )
            carries[path] = jax.tree.unflatten(
                layer.stream_treedef, [v[...] for v in layer.stream_state]
            )
        return carries.get((), carries)

    def __call__(self, inputs: jax.Array) -> Any:
        """Run one chunk ``[B, T, ...]`` from the stored state and store the new state."""
        self.carry()  # raises before the first reset
        token = STREAMING.set(True)
        try:
            return self.model(inputs)
        finally:
            STREAMING.reset(token)


def streamed_layers(model: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """The outermost jaxspike sequence layers of ``model``, as ``(path, layer)`` pairs.

    These are the layers :class:`Streaming` gives a stored carry: :class:`RNN` (and the
    neuron layers) and :class:`Sequential`, not those inside another one.
    """
    found: list[tuple[tuple[Any, ...], Any]] = []
    for path, node in nnx.iter_graph(model):
        if isinstance(node, (RNN, Sequential)):
            found.append((tuple(path), node))
    found.sort(key=lambda item: len(item[0]))
    outer: list[tuple[tuple[Any, ...], Any]] = []
    for path, node in found:
        if not any(path[: len(p)] == p for p, _ in outer):
            outer.append((path, node))
    return outer
