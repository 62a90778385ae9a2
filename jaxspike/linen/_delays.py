r"""Flax Linen delay modules: the mirror of :mod:`jaxspike.nnx`'s delays for Linen users.

:class:`DelayCell` (a :class:`flax.linen.RNNCellBase`) delays each neuron by a fixed
whole number of steps with the ring buffer of :func:`jaxspike.delays.delay_step`;
:class:`Delay` scans it over a sequence. The delays are a constant attribute, not a
variable. :class:`DelayedDense` is a dense layer with one learnable real delay per
synapse (Hammouamri et al. 2023; :func:`jaxspike.delays.fractional_delay_dense`): its
``"params"`` are ``kernel`` ``(in, features)``, ``delays`` (same shape) and ``bias``.
For inference, round ``params["delays"]`` with ``jnp.round`` and apply the layer with
``kernel="triangle", sigma=1.0``, which at whole steps is exactly the integer delay.

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
from flax import linen as nn

from jaxspike._layer import spec as _specs
from jaxspike._layer.delays import (
    check_delayed_args,
    delayed_dense_sequence,
    empty_buffer,
    integer_delays,
    layout,
)
from jaxspike.delays import DelayState, Kernel, delay_step
from jaxspike.ops.scan import unroll as _unroll


class DelayCell(nn.RNNCellBase):
    r"""Delay each neuron by a fixed whole number of steps: :math:`y_t = x_{t-d}`.

    Attributes:
        num_features: number of neurons on the last axis.
        delays: whole steps, one number or one per neuron ``(num_features,)``.
        max_delay: size of the ring buffer minus one (default: the largest delay).
        dtype: dtype of the buffer (``None``: ``float32`` for :meth:`initialize_carry`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = DelayCell(2, (0, 1))
        >>> carry = cell.initialize_carry(None, (2,))
        >>> carry, y = cell.apply({}, carry, jnp.ones(2))
        >>> carry, y = cell.apply({}, carry, jnp.zeros(2))
        >>> y.tolist()
        [0.0, 1.0]
    """

    num_features: int
    delays: Any
    max_delay: int | None = None
    dtype: Any = None

    def _checked(self) -> tuple[jax.Array, int]:
        if isinstance(self.num_features, bool) or not isinstance(self.num_features, int):
            raise ValueError(
                f"{type(self).__name__}: num_features must be an int >= 1, got "
                f"{self.num_features!r}."
            )
        return integer_delays(type(self).__name__, self.delays, self.num_features, self.max_delay)

    def step_fn(self) -> Any:
        """``functools.partial(delay_step, delays)``."""
        return functools.partial(delay_step, self._checked()[0])

    def prepare(self, x: Any, what: str = "inputs") -> jax.Array:
        """Cast ``x`` to ``dtype`` (when set) and check its feature axis."""
        x = jnp.asarray(x) if self.dtype is None else jnp.asarray(x, self.dtype)
        _specs.check_features(type(self).__name__, x, self.num_features, what)
        return x

    def __call__(self, carry: DelayState, inputs: jax.Array) -> tuple[DelayState, jax.Array]:
        """One step: ``(carry, inputs[..., num_features]) -> (carry, delayed inputs)``."""
        return self.step_fn()(carry, self.prepare(inputs))

    @nn.nowrap
    def initialize_carry(
        self, rng: Any, input_shape: tuple[int, ...], *, dtype: Any = None
    ) -> DelayState:
        """An empty buffer for inputs of shape ``input_shape``; ``rng`` is unused."""
        del rng
        return empty_buffer(self, self._checked()[1], input_shape, dtype)

    @property
    def num_feature_axes(self) -> int:
        """One feature axis (the last)."""
        return 1


class Delay(DelayCell):
    """Fixed whole-step delays over a sequence: :class:`DelayCell` plus the layout attributes.

    Attributes:
        time_major: ``False``: ``[B, T, ..., F]``; ``True``: ``[T, B, ..., F]``.
        return_carry: also return the final carry (the ring buffer).
        unroll: steps unrolled per scan iteration.
        checkpoint: recompute steps in the backward pass (see :func:`jaxspike.unroll`).

    Example:
        >>> import jax.numpy as jnp
        >>> layer = Delay(2, (1, 3))
        >>> x = jnp.zeros((1, 5, 2)).at[0, 0].set(1.0)
        >>> layer.apply({}, x)[0].T.tolist()
        [[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0]]
    """

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False

    def __call__(  # type: ignore[override]
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
    ) -> Any:
        """Delay ``inputs`` (the call surface of :class:`flax.linen.RNN`)."""
        major = self.time_major if time_major is None else time_major
        return_carry = self.return_carry if return_carry is None else return_carry
        x = self.prepare(layout(type(self).__name__, inputs, major))
        xs = x if major else jnp.swapaxes(x, 0, 1)
        if initial_carry is None:
            initial_carry = self.initialize_carry(None, xs.shape[1:], dtype=xs.dtype)
        final, ys = _unroll(
            self.step_fn(), initial_carry, xs, unroll=self.unroll, checkpoint=self.checkpoint
        )[:2]
        ys = ys if major else jnp.swapaxes(ys, 0, 1)
        return (final, ys) if return_carry else ys


class DelayedDense(nn.Module):
    r"""A dense layer with one learnable real delay per synapse, over whole sequences.

    :math:`I_{j,t} = \sum_i \sum_{\tau=0}^{D} W_{ij}\, k_{ij}(\tau)\, x_{i,t-\tau} + b_j`
    (see :class:`jaxspike.nnx.DelayedLinear`, whose carry and arguments it shares; the
    number of inputs comes from the input, as in :class:`flax.linen.Dense`).

    Attributes:
        features: outputs per step.
        max_delay: the largest delay ``D`` in steps.
        sigma: kernel width in steps (> 0), a constant.
        kernel: ``"gaussian"`` or ``"triangle"``.
        use_bias: add a learnable bias.
        kernel_init, delay_init, bias_init: initializers (delays: uniform in
            ``[0, max_delay]`` by default).
        time_major: ``False``: ``[B, T, ..., in]``; ``True``: ``[T, B, ..., in]``.
        return_carry: also return the final carry (the last ``max_delay`` inputs).
        dtype: computation dtype (``None``: the input's).
        param_dtype: dtype of the parameters.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = DelayedDense(2, max_delay=3, kernel="triangle", use_bias=False)
        >>> x = jnp.zeros((1, 5, 1)).at[0, 0, 0].set(1.0)
        >>> params = {"kernel": jnp.ones((1, 2)), "delays": jnp.array([[0.0, 2.5]])}
        >>> layer.apply({"params": params}, x)[0].T.tolist()
        [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5, 0.0]]
    """

    features: int
    max_delay: int
    sigma: float = 1.0
    kernel: Kernel = "gaussian"
    use_bias: bool = True
    kernel_init: Any = nn.initializers.lecun_normal()
    delay_init: Any = None
    bias_init: Any = nn.initializers.zeros_init()
    time_major: bool = False
    return_carry: bool = False
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
    ) -> Any:
        """Input currents for ``inputs``; see :meth:`jaxspike.nnx.DelayedLinear.__call__`."""
        owner = type(self).__name__
        if isinstance(self.features, bool) or not isinstance(self.features, int):
            raise ValueError(f"{owner}: features must be an int >= 1, got {self.features!r}.")
        if self.features < 1:
            raise ValueError(f"{owner}: features must be an int >= 1, got {self.features!r}.")
        check_delayed_args(owner, self.max_delay, self.sigma, self.kernel)
        x = jnp.asarray(inputs) if self.dtype is None else jnp.asarray(inputs, self.dtype)
        if x.ndim < 1:
            raise ValueError(f"{owner}: inputs must end in a feature axis, got shape {x.shape}.")
        shape = (x.shape[-1], self.features)
        delay_init_fn = self.delay_init
        if delay_init_fn is None:
            delay_init_fn = nn.initializers.uniform(scale=float(self.max_delay))
        weight = self.param("kernel", self.kernel_init, shape, self.param_dtype)
        delays = self.param("delays", delay_init_fn, shape, self.param_dtype)
        bias = None
        if self.use_bias:
            bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype)
        return delayed_dense_sequence(
            owner,
            x,
            weight,
            delays,
            bias,
            max_delay=self.max_delay,
            sigma=self.sigma,
            kernel=self.kernel,
            initial_carry=initial_carry,
            return_carry=self.return_carry if return_carry is None else return_carry,
            time_major=self.time_major if time_major is None else time_major,
        )
