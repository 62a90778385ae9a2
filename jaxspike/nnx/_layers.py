"""Flax NNX layers: a cell scanned over a whole sequence with :func:`jaxspike.unroll`.

:class:`RNN` copies the call surface of :class:`flax.nnx.RNN` (``time_major=False`` by
default, ``initial_carry=``, ``return_carry``, ``unroll``) but scans with the core's
:func:`jaxspike.unroll` after reading every parameter once, so it behaves the same in
NNX graph and tree modes. ``LIF(64)`` is ``RNN(LIFCell(64))`` with the cell's keywords.
Inputs are ``[B, T, *neurons, F]`` (``[T, B, ...]`` with ``time_major=True``): dense
``(B, T, F)`` and convolutional ``(B, T, H, W, C)`` sequences alike.
"""

from __future__ import annotations

import contextvars
import inspect
import types
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike._layer import spec as _specs
from jaxspike._layer.spec import RecurrentState
from jaxspike._layer.spec import Trace as Trace
from jaxspike.nnx import _cells
from jaxspike.nnx._cells import SpikingCell, StepFn

_RECURRENT_INIT = nnx.initializers.orthogonal()


class RecurrentCell(SpikingCell):
    r"""Give a cell dense recurrent weights: its input is :math:`x_t + s_{t-1} W`.

    Args:
        cell: any jaxspike NNX cell (e.g. :class:`LIFCell`).
        self_connections: ``False`` removes the diagonal of :math:`W` (no neuron feeds
            itself); the stored ``kernel`` keeps its shape.
        kernel_init: initializer of the ``(F, F)`` kernel.
        param_dtype: dtype of the kernel.
        rngs: random keys for the kernel (``rngs.params()``).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxspike.nnx import LIFCell
        >>> cell = RecurrentCell(LIFCell(4), self_connections=False, rngs=nnx.Rngs(0))
        >>> carry, s = cell(cell.initialize_carry((2, 4)), jnp.ones((2, 4)))
        >>> s.shape, carry.out.shape
        ((2, 4), (2, 4))
    """

    def __init__(
        self,
        cell: SpikingCell,
        *,
        self_connections: bool = True,
        kernel_init: Any = _RECURRENT_INIT,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.cell = cell
        self.num_features = cell.num_features
        self._num_feature_axes = cell.num_feature_axes
        self.dtype = cell.dtype
        self.self_connections = self_connections
        n = cell.num_features
        self.kernel = nnx.Param(kernel_init(rngs.params(), (n, n), param_dtype))

    def step_fn(self, *, forward_mode: bool = False) -> StepFn:
        """The cell's step fed with ``x + out @ W`` (``W`` read once).

        ``forward_mode`` is passed to the inner cell's step (see :meth:`RNN.__call__`).
        """
        owner = type(self).__name__
        inner = _specs.cell_step(owner, self.cell, forward_mode=forward_mode)
        return _specs.recurrent_step(inner, self.kernel[...], self.self_connections)

    def initialize_carry(
        self, input_shape: tuple[int, ...], rngs: Any = None, carry_init: Any = None
    ) -> RecurrentState:
        """The cell's resting state and no previous output."""
        neuron = self.cell.initialize_carry(input_shape, rngs, carry_init)
        return RecurrentState(neuron, jnp.zeros_like(jax.tree.leaves(neuron)[0]))


class RNN(nnx.Module):
    """Scan a jaxspike cell over a sequence (the call surface of :class:`flax.nnx.RNN`).

    Args:
        cell: a jaxspike NNX cell.
        time_major: ``False`` (default): inputs are ``[B, T, ..., F]``; ``True``:
            ``[T, B, ..., F]``. Outputs use the same layout.
        return_carry: also return the final carry.
        reverse: run each sequence backwards in time (with ``seq_lengths``, only its
            valid steps; the padding stays at the end, as in :class:`flax.nnx.RNN`).
        keep_order: with ``reverse``, flip the outputs back to the input order.
        unroll: steps unrolled per scan iteration (:func:`jax.lax.scan`).
        checkpoint: recompute steps in the backward pass (see :func:`jaxspike.unroll`).
        forward_mode: wrap the cell's surrogate in :class:`jaxspike.ForwardMode` so the
            layer supports :func:`jax.jvp` and :func:`jax.jacfwd` (a ``custom_jvp``
            spike; reverse-mode gradients are the same). Default ``False``: the
            ``custom_vjp`` spike, which reverse mode (``jax.grad``) needs no more than.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxspike.nnx import LIFCell
        >>> layer = RNN(LIFCell(3, decay=0.5))
        >>> layer(jnp.full((2, 4, 3), 0.75))[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]

        The membrane, before and after each reset (``return_trace=True``):

        >>> y, trace = layer(jnp.full((1, 4, 3), 0.75), return_trace=True)
        >>> trace.v_pre[0, :, 0].tolist(), trace.state.v[0, :, 0].tolist()
        ([0.75, 1.125, 0.8125, 1.15625], [0.75, 0.125, 0.8125, 0.15625])
    """

    def __init__(
        self,
        cell: SpikingCell,
        *,
        time_major: bool = False,
        return_carry: bool = False,
        reverse: bool = False,
        keep_order: bool = False,
        unroll: int | bool = 1,
        checkpoint: bool | int = False,
        forward_mode: bool = False,
    ):
        self.cell = cell
        self.time_major = time_major
        self.return_carry = return_carry
        self.reverse = reverse
        self.keep_order = keep_order
        self.unroll = unroll
        self.checkpoint = checkpoint
        self.forward_mode = forward_mode

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None) -> Any:
        """The cell's resting carry for one step's input shape ``(B, ..., F)``."""
        return self.cell.initialize_carry(input_shape, rngs)

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        seq_lengths: jax.Array | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
        return_trace: bool = False,
        forward_mode: bool | None = None,
    ) -> Any:
        """Run the cell over time.

        Args:
            inputs: ``[B, T, ..., F]`` (or ``[T, B, ..., F]`` with ``time_major``).
            initial_carry: the carry before the first step (default: resting).
            seq_lengths: ``[B]`` integers: sample ``b`` has ``seq_lengths[b]`` valid
                steps; after them its state stays frozen and its outputs are 0 (no
                spikes), so the final carry is the one after its last valid step.
            return_carry: override the attribute of the same name.
            time_major: override the attribute of the same name.
            reverse: override the attribute of the same name.
            keep_order: override the attribute of the same name.
            return_trace: also return a :class:`~jaxspike.nnx.Trace` of every step
                (the state after each step and the membrane before each reset, in the
                outputs' layout). The default return is unchanged when ``False``.
            forward_mode: override the attribute of the same name.

        Returns:
            The outputs (same layout as ``inputs``), or ``(final_carry, outputs)`` with
            ``return_carry``; ``return_trace`` appends the trace: ``(outputs, trace)``
            or ``(final_carry, outputs, trace)``.

        Raises:
            ValueError: when ``inputs`` has fewer than 3 axes or its last axis is not the
                cell's ``num_features``, or ``seq_lengths`` is not ``[B]`` integers.
        """

        def run(carry: Any, with_carry: bool) -> Any:
            return _specs.run_sequence(
                type(self).__name__,
                self.cell,
                inputs,
                self.cell.initialize_carry,
                time_major=self.time_major if time_major is None else time_major,
                return_carry=with_carry,
                initial_carry=carry,
                unroll=self.unroll,
                checkpoint=self.checkpoint,
                seq_lengths=seq_lengths,
                reverse=_attr(self, "reverse", reverse),
                keep_order=_attr(self, "keep_order", keep_order),
                return_trace=return_trace,
                forward_mode=_attr(self, "forward_mode", forward_mode),
            )

        with_carry = self.return_carry if return_carry is None else return_carry
        return carried_call(self, run, initial_carry, with_carry)


STREAMING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "jaxspike_streaming", default=False
)
"""Set by :class:`Streaming` around its calls: streamed layers use their stored carry."""


class NeuronState(nnx.Variable):
    """Neuron state kept between calls by :class:`Streaming` (not trained, not random).

    Select it with ``nnx.state(model, NeuronState)``; leave it out of an optimizer with
    ``wrt=nnx.Param`` (the default filter of :class:`flax.nnx.Optimizer` users).
    """


def carried_call(
    layer: Any, run: Callable[[Any, bool], Any], initial_carry: Any, return_carry: bool
) -> Any:
    """Call ``run(initial_carry, return_carry)``, carrying the state of a streamed layer.

    The streaming protocol of jaxspike's sequence layers (:class:`RNN` and
    :class:`Sequential`): :class:`Streaming` gives a layer a ``stream_state`` list of
    :class:`NeuronState` variables. While it has one, a call made through
    :class:`Streaming` (which sets :data:`STREAMING`) without ``initial_carry`` starts
    from the stored carry and stores its final carry (the first call, on zero steps,
    records the resting carry). Called directly, the layer runs from rest as usual.
    ``run`` returns ``(final, ...)`` when asked for the carry.
    """
    slot = getattr(layer, "stream_state", None)
    if slot is None or not STREAMING.get():
        return run(initial_carry, return_carry)
    treedef = getattr(layer, "stream_treedef", None)
    if initial_carry is None and treedef is not None:
        initial_carry = jax.tree.unflatten(treedef, [v[...] for v in slot])
    out = run(initial_carry, True)
    leaves, new_def = jax.tree.flatten(out[0])
    if treedef is None:
        layer.stream_state = nnx.List([NeuronState(leaf) for leaf in leaves])
        layer.stream_treedef = new_def
    else:
        if new_def != treedef:
            raise ValueError(
                f"{type(layer).__name__}: the streamed carry changed structure from "
                f"{treedef} to {new_def}; call Streaming.reset(...) for new input shapes."
            )
        for var, leaf in zip(slot, leaves, strict=True):
            var[...] = leaf
    if return_carry:
        return out
    return out[1:] if len(out) > 2 else out[1]


def _attr(layer: Any, name: str, value: Any) -> Any:
    """``value``, or the layer's attribute ``name`` when ``value`` is ``None``.

    Layers that override ``__init__`` without the attribute default to ``False``.
    """
    return getattr(layer, name, False) if value is None else value


_LAYER_ARGS = (
    ("time_major", False),
    ("return_carry", False),
    ("reverse", False),
    ("keep_order", False),
    ("unroll", 1),
    ("checkpoint", False),
    ("forward_mode", False),
)


def layer_class(cell_cls: type[_cells.NeuronCell], name: str, doc: str | None = None) -> type[RNN]:
    """Generate the layer of a cell class: :class:`RNN` over the cell, explicit signature.

    The signature is the cell's followed by :class:`RNN`'s ``time_major``,
    ``return_carry``, ``reverse``, ``keep_order``, ``unroll``, ``checkpoint`` and
    ``forward_mode``; ``cell_type`` names the cell class.

    Example:
        >>> import inspect
        >>> from jaxspike.nnx import ALIF
        >>> "tau_adapt" in inspect.signature(ALIF).parameters
        True
    """
    cell_sig = inspect.signature(cell_cls)
    kw = inspect.Parameter.KEYWORD_ONLY
    params = list(cell_sig.parameters.values())
    params += [inspect.Parameter(n, kw, default=d) for n, d in _LAYER_ARGS]
    signature = inspect.Signature(params)
    layer_names = {n for n, _ in _LAYER_ARGS}

    def __init__(self: RNN, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{type(self).__name__}: {err}") from None
        cell_kw = {k: v for k, v in bound.arguments.items() if k not in layer_names}
        layer_kw = {k: v for k, v in bound.arguments.items() if k in layer_names}
        RNN.__init__(self, cell_cls(**cell_kw), **layer_kw)

    body = {
        "__init__": __init__,
        "__signature__": signature,
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": name,
        "cell_type": cell_cls,
    }
    return types.new_class(name, (RNN,), exec_body=lambda ns: ns.update(body))


IF: Any = layer_class(
    _cells.IFCell,
    "IF",
    """Integrate-and-fire layer: :class:`IFCell` scanned over time (see :class:`RNN`).

    Takes :class:`IFCell`'s arguments and those of :class:`RNN`.
    """,
)
LIF: Any = layer_class(
    _cells.LIFCell,
    "LIF",
    """LIF layer: :class:`LIFCell` scanned over time (see :class:`RNN`).

    Takes :class:`LIFCell`'s arguments (``decay`` or ``tau_mem`` with ``dt``) and those of
    :class:`RNN`.

    Example:
        >>> import jax.numpy as jnp
        >>> layer = LIF(3, decay=0.5, learn="decay")
        >>> layer(jnp.full((1, 4, 3), 0.75))[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
        >>> LIF(3, tau_mem=10.0, dt=1.0, learn="tau_mem").cell.tau_mem_log.shape
        ()
    """,
)
CTLIF: Any = layer_class(
    _cells.CTLIFCell,
    "CTLIF",
    """Continuous-time LIF layer: :class:`CTLIFCell` scanned over time (see :class:`RNN`).""",
)
CubaLIF: Any = layer_class(
    _cells.CubaLIFCell,
    "CubaLIF",
    """Current-based LIF layer: :class:`CubaLIFCell` scanned over time (see :class:`RNN`).""",
)
ALIF: Any = layer_class(
    _cells.ALIFCell,
    "ALIF",
    """Adaptive LIF layer: :class:`ALIFCell` scanned over time (see :class:`RNN`).""",
)
LI: Any = layer_class(
    _cells.LICell,
    "LI",
    """Leaky-integrator readout layer: :class:`LICell` over time; outputs the membrane.""",
)
Izhikevich: Any = layer_class(
    _cells.IzhikevichCell,
    "Izhikevich",
    """Izhikevich layer: :class:`IzhikevichCell` scanned over time (see :class:`RNN`).""",
)
AdLIF: Any = layer_class(
    _cells.AdLIFCell,
    "AdLIF",
    """adLIF layer: :class:`AdLIFCell` scanned over time (see :class:`RNN`).""",
)
