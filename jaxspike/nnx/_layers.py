"""Flax NNX layers: a cell scanned over a whole sequence with :func:`jaxspike.unroll`.

:class:`RNN` copies the call surface of :class:`flax.nnx.RNN` (``time_major=False`` by
default, ``initial_carry=``, ``return_carry``, ``unroll``) but scans with the core's
:func:`jaxspike.unroll` after reading every parameter once, so it behaves the same in
NNX graph and tree modes. ``LIF(64)`` is ``RNN(LIFCell(64))`` with the cell's keywords.
Inputs are ``[B, T, *neurons, F]`` (``[T, B, ...]`` with ``time_major=True``): dense
``(B, T, F)`` and convolutional ``(B, T, H, W, C)`` sequences alike.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike._layer import spec as _specs
from jaxspike._layer.spec import RecurrentState
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

    def step_fn(self) -> StepFn:
        """The cell's step fed with ``x + out @ W`` (``W`` read once)."""
        inner = self.cell.step_fn()
        w = self.kernel[...]
        if not self.self_connections:
            w = w * (1 - jnp.eye(w.shape[0], dtype=w.dtype))

        def step(carry: RecurrentState, x: jax.Array) -> tuple[RecurrentState, jax.Array]:
            neuron, out = inner(carry.neuron, x + carry.out @ w.astype(x.dtype))
            return RecurrentState(neuron, out), out

        return step

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
        unroll: steps unrolled per scan iteration (:func:`jax.lax.scan`).
        checkpoint: recompute steps in the backward pass (see :func:`jaxspike.unroll`).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxspike.nnx import LIFCell
        >>> layer = RNN(LIFCell(3, decay=0.5))
        >>> layer(jnp.full((2, 4, 3), 0.75))[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """

    def __init__(
        self,
        cell: SpikingCell,
        *,
        time_major: bool = False,
        return_carry: bool = False,
        unroll: int | bool = 1,
        checkpoint: bool | int = False,
    ):
        self.cell = cell
        self.time_major = time_major
        self.return_carry = return_carry
        self.unroll = unroll
        self.checkpoint = checkpoint

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None) -> Any:
        """The cell's resting carry for one step's input shape ``(B, ..., F)``."""
        return self.cell.initialize_carry(input_shape, rngs)

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
    ) -> Any:
        """Run the cell over time.

        Args:
            inputs: ``[B, T, ..., F]`` (or ``[T, B, ..., F]`` with ``time_major``).
            initial_carry: the carry before the first step (default: resting).
            return_carry: override the attribute of the same name.
            time_major: override the attribute of the same name.

        Returns:
            The outputs (same layout as ``inputs``), or ``(final_carry, outputs)``.

        Raises:
            ValueError: when ``inputs`` has fewer than 3 axes or its last axis is not the
                cell's ``num_features``.
        """
        return _specs.run_sequence(
            type(self).__name__,
            self.cell,
            inputs,
            self.cell.initialize_carry,
            time_major=self.time_major if time_major is None else time_major,
            return_carry=self.return_carry if return_carry is None else return_carry,
            initial_carry=initial_carry,
            unroll=self.unroll,
            checkpoint=self.checkpoint,
        )


_LAYER_ARGS = (
    ("time_major", False),
    ("return_carry", False),
    ("unroll", 1),
    ("checkpoint", False),
)


def layer_class(cell_cls: type[_cells.NeuronCell], name: str, doc: str | None = None) -> type[RNN]:
    """Generate the layer of a cell class: :class:`RNN` over the cell, explicit signature.

    The signature is the cell's followed by ``time_major``, ``return_carry``, ``unroll``
    and ``checkpoint``; ``cell_type`` names the cell class.

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


IF = layer_class(
    _cells.IFCell,
    "IF",
    """Integrate-and-fire layer: :class:`IFCell` scanned over time (see :class:`RNN`).

    Takes :class:`IFCell`'s arguments and those of :class:`RNN`.
    """,
)
LIF = layer_class(
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
CTLIF = layer_class(
    _cells.CTLIFCell,
    "CTLIF",
    """Continuous-time LIF layer: :class:`CTLIFCell` scanned over time (see :class:`RNN`).""",
)
CubaLIF = layer_class(
    _cells.CubaLIFCell,
    "CubaLIF",
    """Current-based LIF layer: :class:`CubaLIFCell` scanned over time (see :class:`RNN`).""",
)
ALIF = layer_class(
    _cells.ALIFCell,
    "ALIF",
    """Adaptive LIF layer: :class:`ALIFCell` scanned over time (see :class:`RNN`).""",
)
LI = layer_class(
    _cells.LICell,
    "LI",
    """Leaky-integrator readout layer: :class:`LICell` over time; outputs the membrane.""",
)
Izhikevich = layer_class(
    _cells.IzhikevichCell,
    "Izhikevich",
    """Izhikevich layer: :class:`IzhikevichCell` scanned over time (see :class:`RNN`).""",
)
