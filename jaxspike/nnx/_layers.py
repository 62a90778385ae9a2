"""Flax NNX layers: a cell scanned over a whole sequence with :func:`jaxspike.unroll`.

:class:`RNN` copies the call surface of :class:`flax.nnx.RNN` (``time_major=False`` by
default, ``initial_carry=``, ``return_carry``, ``unroll``) but scans with the core's
:func:`jaxspike.unroll` after reading every parameter once, so it behaves the same in
NNX graph and tree modes. ``LIF(64)`` is ``RNN(LIFCell(64))`` with the cell's keywords.
Inputs are ``[B, T, *neurons, F]`` (``[T, B, ...]`` with ``time_major=True``): dense
``(B, T, F)`` and convolutional ``(B, T, H, W, C)`` sequences alike.
"""

from __future__ import annotations

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


class _NeuronLayer(RNN):
    """An :class:`RNN` whose cell is built from the layer's own arguments."""

    cell_type: type[_cells.NeuronCell]

    def __init__(
        self,
        num_features: int,
        *,
        time_major: bool = False,
        return_carry: bool = False,
        unroll: int | bool = 1,
        checkpoint: bool | int = False,
        **kwargs: Any,
    ):
        super().__init__(
            self.cell_type(num_features, **kwargs),
            time_major=time_major,
            return_carry=return_carry,
            unroll=unroll,
            checkpoint=checkpoint,
        )


class IF(_NeuronLayer):
    """Integrate-and-fire layer: :class:`IFCell` scanned over time (see :class:`RNN`).

    Keyword arguments other than those of :class:`RNN` go to :class:`IFCell`.
    """

    cell_type = _cells.IFCell


class LIF(_NeuronLayer):
    """LIF layer: :class:`LIFCell` scanned over time (see :class:`RNN`).

    Keyword arguments other than those of :class:`RNN` go to :class:`LIFCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> layer = LIF(3, decay=0.5, learn="decay")
        >>> layer(jnp.full((1, 4, 3), 0.75))[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """

    cell_type = _cells.LIFCell


class CTLIF(_NeuronLayer):
    """Continuous-time LIF layer: :class:`CTLIFCell` scanned over time (see :class:`RNN`).

    Keyword arguments other than those of :class:`RNN` go to :class:`CTLIFCell`.
    """

    cell_type = _cells.CTLIFCell


class CubaLIF(_NeuronLayer):
    """Current-based LIF layer: :class:`CubaLIFCell` scanned over time (see :class:`RNN`).

    Keyword arguments other than those of :class:`RNN` go to :class:`CubaLIFCell`.
    """

    cell_type = _cells.CubaLIFCell


class ALIF(_NeuronLayer):
    """Adaptive LIF layer: :class:`ALIFCell` scanned over time (see :class:`RNN`).

    Keyword arguments other than those of :class:`RNN` go to :class:`ALIFCell`.
    """

    cell_type = _cells.ALIFCell


class LI(_NeuronLayer):
    """Leaky-integrator readout layer: :class:`LICell` over time; outputs the membrane.

    Keyword arguments other than those of :class:`RNN` go to :class:`LICell`.
    """

    cell_type = _cells.LICell


class Izhikevich(_NeuronLayer):
    """Izhikevich layer: :class:`IzhikevichCell` scanned over time (see :class:`RNN`).

    Keyword arguments other than those of :class:`RNN` go to :class:`IzhikevichCell`.
    """

    cell_type = _cells.IzhikevichCell
