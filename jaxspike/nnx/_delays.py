r"""Flax NNX delay modules: fixed integer delays and a dense layer with learnable delays.

:class:`DelayCell` delays every neuron by its own whole number of steps with the ring
buffer of :func:`jaxspike.delays.delay_step`: the buffer is the carry, so memory is
``(max_delay + 1) x`` one step's input, whatever the sequence length, and the cell works
inside :class:`flax.nnx.RNN`. :class:`Delay` scans it over a sequence. Its delays are
:class:`~jaxspike.nnx.Fixed` (never trained); this is NIR's ``Delay`` node when the
delays are whole steps (:func:`jaxspike.delays.delay_steps`).

:class:`DelayedLinear` is a dense layer whose every synapse has a learnable real delay
(Hammouamri et al. 2023), computed over a whole sequence by
:func:`jaxspike.delays.fractional_delay_dense`. Train it with a wide kernel, narrow
``sigma`` as training goes on, then :meth:`DelayedLinear.round_delays` for inference.
Both layers take ``nnx.RNN``'s call surface and drop into :class:`~jaxspike.nnx.Sequential`.

References:
    I. Hammouamri, I. Khalfaoui-Hassani, T. Masquelier. Learning delays in spiking
    neural networks using dilated convolutions with learnable spacings. ICLR 2024,
    arXiv:2306.17670.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike._layer.delays import (
    check_delayed_args,
    delayed_dense_sequence,
    empty_buffer,
    integer_delays,
    layout,
)
from jaxspike.delays import DelayState, Kernel, delay_step
from jaxspike.nnx._cells import Fixed, SpikingCell, StepFn
from jaxspike.nnx._layers import RNN


class DelayCell(SpikingCell):
    r"""Delay each neuron by a fixed whole number of steps: :math:`y_t = x_{t-d}`.

    The carry is a :class:`~jaxspike.delays.DelayState` ring buffer of the last
    ``max_delay + 1`` inputs (:func:`jaxspike.delays.delay_step`; zero before the start).

    Args:
        num_features: number of neurons on the last axis.
        delays: whole steps, one number or one per neuron ``(num_features,)``; stored as
            :class:`~jaxspike.nnx.Fixed` ``int32``.
        max_delay: size of the buffer minus one (default: the largest delay). Larger
            values let you assign longer delays later without changing the carry shape.
        num_feature_axes: trailing input axes that are neurons, for
            :class:`flax.nnx.RNN` (3 for ``(B, T, H, W, C)``); delays stay on the last.
        dtype: dtype of the buffer (``None``: the input's; ``float32`` for
            :meth:`initialize_carry`).

    Example:
        >>> import jax.numpy as jnp
        >>> cell = DelayCell(2, [0, 1])
        >>> carry = cell.initialize_carry((2,))
        >>> carry, y = cell(carry, jnp.asarray([1.0, 1.0]))
        >>> y.tolist()
        [1.0, 0.0]
        >>> carry, y = cell(carry, jnp.asarray([0.0, 0.0]))
        >>> y.tolist()
        [0.0, 1.0]
    """

    def __init__(
        self,
        num_features: int,
        delays: Any,
        *,
        max_delay: int | None = None,
        num_feature_axes: int = 1,
        dtype: Any = None,
    ):
        owner = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"{owner}: num_features must be an int >= 1, got {num_features!r}.")
        if not isinstance(num_feature_axes, int) or num_feature_axes < 1:
            raise ValueError(
                f"{owner}: num_feature_axes must be an int >= 1, got {num_feature_axes!r}."
            )
        value, max_delay = integer_delays(owner, delays, num_features, max_delay)
        self.num_features = num_features
        self.max_delay = max_delay
        self.dtype = dtype
        self._num_feature_axes = num_feature_axes
        self.delays = Fixed(value)

    @property
    def num_feature_axes(self) -> int:
        """Trailing axes that are neurons, for :class:`flax.nnx.RNN` (default 1)."""
        return self._num_feature_axes

    def step_fn(self) -> StepFn:
        """``functools.partial(delay_step, delays)`` with the stored delays."""
        return functools.partial(delay_step, self.delays[...])

    def initialize_carry(
        self,
        input_shape: tuple[int, ...],
        rngs: nnx.Rngs | nnx.RngStream | None = None,
        carry_init: Any = None,
        *,
        dtype: Any = None,
    ) -> DelayState:
        """An empty buffer for inputs of shape ``input_shape`` (ending in ``num_features``).

        ``rngs`` and ``carry_init`` are accepted for the RNN-cell contract and unused.
        ``dtype`` overrides the cell's (``float32`` when neither is set).
        """
        del rngs, carry_init
        return empty_buffer(self, self.max_delay, input_shape, dtype)


class Delay(RNN):
    """Fixed whole-step delays over a sequence: :class:`DelayCell` scanned with :class:`RNN`.

    Args:
        num_features: number of neurons on the last axis.
        delays: whole steps, one number or ``(num_features,)``.
        max_delay: see :class:`DelayCell`.
        dtype: dtype of the buffer (``None``: the input's).
        time_major, return_carry, unroll, checkpoint: as :class:`RNN`.

    Example:
        >>> import jax.numpy as jnp
        >>> layer = Delay(2, [1, 3])
        >>> x = jnp.zeros((1, 5, 2)).at[0, 0].set(1.0)   # both neurons spike at t = 0
        >>> layer(x)[0].T.tolist()
        [[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0]]
    """

    cell: DelayCell

    def __init__(
        self,
        num_features: int,
        delays: Any,
        *,
        max_delay: int | None = None,
        dtype: Any = None,
        time_major: bool = False,
        return_carry: bool = False,
        unroll: int | bool = 1,
        checkpoint: bool | int = False,
    ):
        super().__init__(
            DelayCell(num_features, delays, max_delay=max_delay, dtype=dtype),
            time_major=time_major,
            return_carry=return_carry,
            unroll=unroll,
            checkpoint=checkpoint,
        )

    def __call__(  # type: ignore[override]  # no trace/forward-mode arguments: delays do not spike
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
    ) -> Any:
        """Delay ``inputs`` ``[B, T, ..., F]`` (``[T, B, ..., F]`` with ``time_major``).

        The buffer's position counter stays ``int32`` (see :meth:`RNN.__call__` for the
        arguments).
        """
        owner = type(self).__name__
        major = self.time_major if time_major is None else time_major
        x = self.cell.prepare(layout(owner, inputs, major))
        if initial_carry is None:
            step_shape = x.shape[1:] if major else (x.shape[0], *x.shape[2:])
            initial_carry = self.cell.initialize_carry(step_shape, dtype=x.dtype)
        return super().__call__(
            x, initial_carry=initial_carry, return_carry=return_carry, time_major=major
        )


_KERNEL_INIT = nnx.initializers.lecun_normal()
_BIAS_INIT = nnx.initializers.zeros_init()


class DelayedLinear(RNN):
    r"""A dense layer with one learnable real delay per synapse, over whole sequences.

    :math:`I_{j,t} = \sum_i \sum_{\tau=0}^{D} W_{ij}\, k_{ij}(\tau)\, x_{i,t-\tau} + b_j`,
    where :math:`k_{ij}` is the normalised kernel of
    :func:`jaxspike.delays.delay_kernel` centred on the delay :math:`d_{ij}` (steps); the
    sum is :func:`jaxspike.delays.fractional_delay_dense`. Both ``kernel`` (the weights
    :math:`W`) and ``delays`` are :class:`flax.nnx.Param`; ``sigma`` is
    :class:`~jaxspike.nnx.Fixed`, so it can be narrowed during training without
    recompiling (``layer.sigma[...] = 0.5``).

    The carry, for calls in chunks, is the history of the last ``max_delay`` inputs,
    ``[max_delay, *batch, in_features]`` (time first, zeros at the start): chunks fed
    one after another with the returned carry give the same outputs as one call.

    Args:
        in_features: inputs per step.
        out_features: outputs per step.
        max_delay: the largest delay ``D`` in steps (the kernel spans lags ``0..D``).
        sigma: kernel width in steps (> 0).
        kernel: ``"gaussian"`` or ``"triangle"`` (see :mod:`jaxspike.delays`).
        use_bias: add a learnable bias :math:`b` (not delayed).
        kernel_init: initializer of the ``(in_features, out_features)`` weights.
        delay_init: initializer of the delays (default: uniform in ``[0, max_delay]``).
        bias_init: initializer of the bias.
        time_major: ``False``: ``[B, T, ..., in]``; ``True``: ``[T, B, ..., in]``.
        return_carry: also return the final carry.
        dtype: computation dtype (``None``: the input's).
        param_dtype: dtype of the parameters.
        rngs: random keys (``rngs.params()``).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> layer = DelayedLinear(1, 2, max_delay=3, kernel="triangle", use_bias=False,
        ...                       rngs=nnx.Rngs(0))
        >>> layer.kernel[...] = jnp.ones((1, 2))
        >>> layer.delays[...] = jnp.array([[0.0, 2.5]])
        >>> x = jnp.zeros((1, 5, 1)).at[0, 0, 0].set(1.0)
        >>> layer(x)[0].T.tolist()
        [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 0.0]]
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        max_delay: int,
        sigma: float = 1.0,
        kernel: Kernel = "gaussian",
        use_bias: bool = True,
        kernel_init: Any = _KERNEL_INIT,
        delay_init: Any = None,
        bias_init: Any = _BIAS_INIT,
        time_major: bool = False,
        return_carry: bool = False,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        owner = type(self).__name__
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{owner}: {name} must be an int >= 1, got {value!r}.")
        check_delayed_args(owner, max_delay, sigma, kernel)
        self.in_features = in_features
        self.out_features = out_features
        self.num_features = in_features
        self.max_delay = max_delay
        self.kernel_type: Kernel = kernel
        self.use_bias = use_bias
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.time_major = time_major
        self.return_carry = return_carry
        shape = (in_features, out_features)
        self.kernel = nnx.Param(kernel_init(rngs.params(), shape, param_dtype))
        if delay_init is None:
            delay_init = nnx.initializers.uniform(scale=float(max_delay))
        self.delays = nnx.Param(delay_init(rngs.params(), shape, param_dtype))
        self.bias = (
            nnx.Param(bias_init(rngs.params(), (out_features,), param_dtype)) if use_bias else None
        )
        self.sigma = Fixed(jnp.asarray(sigma, param_dtype))

    def initialize_carry(self, input_shape: tuple[int, ...], rngs: Any = None) -> jax.Array:
        """Zero history ``[max_delay, *input_shape]`` for one step's input ``(B, ..., in)``."""
        del rngs
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__}.initialize_carry: input_shape must end in "
                f"{self.in_features} features, got {shape}."
            )
        dtype = jnp.float32 if self.dtype is None else self.dtype
        return jnp.zeros((self.max_delay, *shape), dtype)

    def prepare(self, x: Any, what: str = "inputs") -> jax.Array:
        """Cast ``x`` to ``dtype`` (when set) and check its feature axis."""
        x = jnp.asarray(x) if self.dtype is None else jnp.asarray(x, self.dtype)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__}: {what} must end in the feature axis of size "
                f"{self.in_features}, got shape {x.shape}."
            )
        return x

    def __call__(  # type: ignore[override]  # no trace/forward-mode arguments: delays do not spike
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
    ) -> Any:
        """Input currents ``[B, T, ..., out]`` for ``inputs`` ``[B, T, ..., in]``.

        Args:
            inputs: ``[B, T, ..., in]`` (or ``[T, B, ..., in]`` with ``time_major``).
            initial_carry: the last ``max_delay`` inputs before this call, as returned
                by an earlier call (default: zeros).
            return_carry: override the attribute of the same name.
            time_major: override the attribute of the same name.

        Returns:
            The currents (same layout as ``inputs``), or ``(final_carry, currents)``.
        """
        return delayed_dense_sequence(
            type(self).__name__,
            self.prepare(inputs),
            self.kernel[...],
            self.delays[...],
            None if self.bias is None else self.bias[...],
            max_delay=self.max_delay,
            sigma=self.sigma[...],
            kernel=self.kernel_type,
            initial_carry=initial_carry,
            return_carry=self.return_carry if return_carry is None else return_carry,
            time_major=self.time_major if time_major is None else time_major,
        )

    def integer_delays(self) -> jax.Array:
        """The delays rounded to whole steps in ``[0, max_delay]`` (``int32``)."""
        d = jnp.clip(self.delays[...], 0, self.max_delay)
        return jnp.round(d).astype(jnp.int32)

    def round_delays(self) -> None:
        r"""Round the delays to whole steps, in place, for inference.

        The delays become :meth:`integer_delays` and the kernel the triangle with
        ``sigma = 1``, which at whole steps is exactly the integer delay: afterwards the
        layer computes :math:`I_{j,t} = \sum_i W_{ij}\, x_{i,t-d_{ij}} + b_j` (as
        Hammouamri et al. do after training).
        """
        self.delays[...] = self.integer_delays().astype(self.delays[...].dtype)
        self.kernel_type = "triangle"
        self.sigma[...] = jnp.ones_like(self.sigma[...])
