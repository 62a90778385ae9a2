"""Flax Linen cells and layers: the mirror of :mod:`jaxspike.nnx` for Linen users.

A cell (``LIFCell``) is a :class:`flax.linen.RNNCellBase` and works inside
:class:`flax.linen.RNN`. A layer (``LIF``) is the same module with a sequence call: it
creates its parameters before the scan and runs :func:`jaxspike.unroll` (no lifted
``nn.scan``). Learnable parameters live in the ``"params"`` collection under their
stored names (``decay_logit``, ``tau_mem_log``, ...); fixed ones are constants.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxspike._scan import unroll as _unroll
from jaxspike._surrogates import FastSigmoid, Surrogate
from jaxspike.nnx import _specs


class NeuronCell(nn.RNNCellBase):
    """Shared implementation of the Linen cells (use :class:`LIFCell`, ...).

    Attributes:
        num_features: number of neurons on the last axis.
        learn: names of the parameters to train (in ``"params"``); others are fixed.
        per_neuron: ``True`` gives every learnable parameter one value per neuron; a
            sequence of names chooses them one by one.
        dtype: computation dtype (``None``: the input's).
        param_dtype: dtype of the parameters.
    """

    num_features: int
    learn: tuple[str, ...] | str = ()
    per_neuron: bool | tuple[str, ...] = False
    dtype: Any = None
    param_dtype: Any = jnp.float32

    model: ClassVar[str]
    option_names: ClassVar[tuple[str, ...]] = ()

    def _stored(self, slot: _specs.Slot, per: frozenset[str]) -> jax.Array:
        owner = type(self).__name__
        value = getattr(self, slot.field)

        def init(key: jax.Array) -> jax.Array:
            return _specs.initial_value(
                owner,
                slot,
                value,
                num_features=self.num_features,
                per_neuron=slot.field in per,
                param_dtype=self.param_dtype,
                key=key,
            )

        if slot.learnable:
            return self.param(slot.attr, init)
        if callable(value):
            raise ValueError(
                f"{owner}: a fixed {slot.field} cannot be an initializer in Linen; learn it "
                "or pass an array."
            )
        return init(None)  # type: ignore[arg-type]

    def neuron_params(self) -> Any:
        """The functional ``<Model>Params`` for the current parameter values."""
        slots, per = _specs.plan(type(self).__name__, self.model, self.learn, self.per_neuron)
        stored = [self._stored(s, per) for s in slots]
        return _specs.build_params(self.model, slots, stored)

    def step_fn(self) -> Any:
        """``functools.partial(<model>_step, self.neuron_params(), **options)``."""
        options = {k: getattr(self, k) for k in self.option_names}
        return functools.partial(_specs.SPECS[self.model].step, self.neuron_params(), **options)

    def prepare(self, x: Any, what: str = "inputs") -> jax.Array:
        """Cast ``x`` to ``dtype`` (when set) and check its feature axis."""
        x = jnp.asarray(x) if self.dtype is None else jnp.asarray(x, self.dtype)
        _specs.check_features(type(self).__name__, x, self.num_features, what)
        return x

    @nn.compact
    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        """One step: ``(carry, inputs[..., num_features]) -> (carry, outputs)``."""
        return self.step_fn()(carry, self.prepare(inputs))

    @nn.nowrap
    def initialize_carry(self, rng: Any, input_shape: tuple[int, ...]) -> Any:
        """Resting ``<Model>State`` of shape ``input_shape``; ``rng`` is unused."""
        del rng
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}.initialize_carry: input_shape must end in "
                f"{self.num_features} features, got {shape}."
            )
        slots, _ = _specs.plan(type(self).__name__, self.model, (), self.per_neuron)
        initial = [getattr(self, s.field) for s in slots]
        params = _specs.build_params(self.model, slots, initial)
        dtype = jnp.float32 if self.dtype is None else self.dtype
        return _specs.SPECS[self.model].init(params, shape, dtype)

    @property
    def num_feature_axes(self) -> int:
        """One feature axis (the last)."""
        return 1


def sequence_call(
    module: Any,
    step: Any,
    inputs: jax.Array,
    *,
    initial_carry: Any,
    return_carry: bool | None,
    time_major: bool | None,
) -> Any:
    """Scan ``step`` over ``inputs`` with the layout options of ``module``."""
    owner = type(module).__name__
    time_major = module.time_major if time_major is None else time_major
    return_carry = module.return_carry if return_carry is None else return_carry
    if not isinstance(time_major, bool):
        raise TypeError(f"{owner}: time_major must be a bool, got {time_major!r}.")
    x = jnp.asarray(inputs)
    if x.ndim < 3:
        layout = "[T, B, ..., F]" if time_major else "[B, T, ..., F]"
        raise ValueError(
            f"{owner}: inputs must be a sequence {layout} with at least 3 axes, got shape "
            f"{x.shape}; add a batch axis with x[None] or use the cell for one step."
        )
    x = module.prepare(x)
    xs = x if time_major else jnp.swapaxes(x, 0, 1)
    if initial_carry is None:
        initial_carry = module.initialize_carry(None, xs.shape[1:])
        initial_carry = jax.tree.map(lambda a: a.astype(xs.dtype), initial_carry)
    final, ys = _unroll(
        step, initial_carry, xs, unroll=module.unroll, checkpoint=module.checkpoint
    )[:2]
    if not time_major:
        ys = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), ys)
    return (final, ys) if return_carry else ys


@nn.compact
def _layer_call(
    self: Any,
    inputs: jax.Array,
    *,
    initial_carry: Any = None,
    return_carry: bool | None = None,
    time_major: bool | None = None,
) -> Any:
    """Run the neuron over time (the call surface of :class:`flax.linen.RNN`).

    Args:
        self: the layer.
        inputs: ``[B, T, ..., F]`` (or ``[T, B, ..., F]`` with ``time_major``).
        initial_carry: the carry before the first step (default: resting).
        return_carry: override the attribute of the same name.
        time_major: override the attribute of the same name.

    Returns:
        The outputs (same layout as ``inputs``), or ``(final_carry, outputs)``.
    """
    return sequence_call(
        self,
        self.step_fn(),
        inputs,
        initial_carry=initial_carry,
        return_carry=return_carry,
        time_major=time_major,
    )


# ----------------------------------------------------------------------------- cells

_SPIKE_OPTIONS = ("reset", "detach_reset", "surrogate")


class IFCell(NeuronCell):
    """Integrate-and-fire cell (:func:`jaxspike.if_step`); see :class:`NeuronCell`."""

    v_th: Any = 1.0
    v_reset: Any = 0.0
    leak: Any = 0.0
    v_min: Any = -math.inf
    reset: str = "subtract"
    detach_reset: bool = True
    surrogate: Surrogate | str = FastSigmoid()
    refractory: int = 0
    model: ClassVar[str] = "if"
    option_names: ClassVar[tuple[str, ...]] = (*_SPIKE_OPTIONS, "refractory")


class LIFCell(NeuronCell):
    """Multiplicative-decay LIF cell (:func:`jaxspike.lif_step`); see :class:`NeuronCell`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = LIFCell(3, decay=0.5, learn="decay")
        >>> x = jnp.asarray([[0.5, 1.0, 2.0]])
        >>> variables = cell.init(jax.random.key(0), cell.initialize_carry(None, (1, 3)), x)
        >>> carry, s = cell.apply(variables, cell.initialize_carry(None, (1, 3)), x)
        >>> s.tolist(), float(variables["params"]["decay_logit"])
        ([[0.0, 1.0, 1.0]], 0.0)
    """

    decay: Any = 0.9
    v_th: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "subtract"
    detach_reset: bool = True
    surrogate: Surrogate | str = FastSigmoid()
    refractory: int = 0
    decay_reset: bool = True
    model: ClassVar[str] = "lif"
    option_names: ClassVar[tuple[str, ...]] = (*_SPIKE_OPTIONS, "refractory", "decay_reset")


class CTLIFCell(NeuronCell):
    """Continuous-time LIF cell (:func:`jaxspike.ctlif_step`); see :class:`NeuronCell`."""

    tau_mem: Any = 20.0
    v_leak: Any = 0.0
    r: Any = 1.0
    i_bias: Any = 0.0
    v_th: Any = 1.0
    v_reset: Any = 0.0
    dt: float = 1.0
    method: str = "exact"
    reset: str = "zero"
    detach_reset: bool = True
    surrogate: Surrogate | str = FastSigmoid()
    refractory: int = 0
    model: ClassVar[str] = "ctlif"
    option_names: ClassVar[tuple[str, ...]] = ("dt", "method", *_SPIKE_OPTIONS, "refractory")


class CubaLIFCell(NeuronCell):
    """Current-based LIF cell (:func:`jaxspike.cuba_lif_step`); see :class:`NeuronCell`."""

    decay_syn: Any = 0.8
    decay_mem: Any = 0.9
    v_th: Any = 1.0
    v_reset: Any = 0.0
    reset: str = "subtract"
    detach_reset: bool = True
    surrogate: Surrogate | str = FastSigmoid()
    model: ClassVar[str] = "cuba_lif"
    option_names: ClassVar[tuple[str, ...]] = _SPIKE_OPTIONS


class ALIFCell(NeuronCell):
    """Adaptive LIF cell (:func:`jaxspike.alif_step`); see :class:`NeuronCell`."""

    decay: Any = 0.9
    decay_adapt: Any = 0.99
    v_th: Any = 1.0
    adapt: Any = 0.2
    v_reset: Any = 0.0
    reset: str = "subtract"
    detach_reset: bool = True
    surrogate: Surrogate | str = FastSigmoid()
    model: ClassVar[str] = "alif"
    option_names: ClassVar[tuple[str, ...]] = _SPIKE_OPTIONS


class LICell(NeuronCell):
    """Leaky-integrator readout cell (:func:`jaxspike.li_step`); outputs the membrane."""

    decay: Any = 0.9
    model: ClassVar[str] = "li"


class IzhikevichCell(NeuronCell):
    """Izhikevich cell (:func:`jaxspike.izhikevich_step`); see :class:`NeuronCell`."""

    a: Any = 0.02
    b: Any = 0.2
    c: Any = -65.0
    d: Any = 8.0
    v_th: Any = 30.0
    dt: float = 1.0
    detach_reset: bool = True
    surrogate: Surrogate | str = FastSigmoid()
    model: ClassVar[str] = "izhikevich"
    option_names: ClassVar[tuple[str, ...]] = ("dt", "detach_reset", "surrogate")


# ---------------------------------------------------------------------------- layers


class IF(IFCell):
    """Integrate-and-fire layer: :class:`IFCell`'s attributes plus the layout ones.

    Attributes:
        time_major: ``False``: ``[B, T, ..., F]``; ``True``: ``[T, B, ..., F]``.
        return_carry: also return the final carry.
        unroll: steps unrolled per scan iteration.
        checkpoint: recompute steps in the backward pass (see :func:`jaxspike.unroll`).
    """

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class LIF(LIFCell):
    """LIF layer: :class:`LIFCell`'s attributes plus the layout ones of :class:`IF`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = LIF(3, decay=0.5)
        >>> x = jnp.full((1, 4, 3), 0.75)
        >>> layer.apply(layer.init(jax.random.key(0), x), x)[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class CTLIF(CTLIFCell):
    """Continuous-time LIF layer: :class:`CTLIFCell` plus the layout attributes."""

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class CubaLIF(CubaLIFCell):
    """Current-based LIF layer: :class:`CubaLIFCell` plus the layout attributes."""

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class ALIF(ALIFCell):
    """Adaptive LIF layer: :class:`ALIFCell` plus the layout attributes."""

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class LI(LICell):
    """Leaky-integrator readout layer: :class:`LICell` plus the layout attributes."""

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class Izhikevich(IzhikevichCell):
    """Izhikevich layer: :class:`IzhikevichCell` plus the layout attributes."""

    time_major: bool = False
    return_carry: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    __call__ = _layer_call  # type: ignore[assignment]


class TimeDistributed(nn.Module):
    """Apply a stateless layer to ``[B, T, ...]`` by folding time into the batch.

    Attributes:
        layer: a Linen module or function on ``[N, ...]``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import linen as nn
        >>> layer = TimeDistributed(nn.Dense(5))
        >>> x = jnp.ones((2, 7, 3))
        >>> layer.apply(layer.init(jax.random.key(0), x), x).shape
        (2, 7, 5)
    """

    layer: Any

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """``inputs[B, T, ...] -> outputs[B, T, ...]``."""
        x = jnp.asarray(inputs)
        if x.ndim < 2:
            raise ValueError(
                f"TimeDistributed: inputs must have batch and time axes [B, T, ...], got "
                f"shape {x.shape}."
            )
        lead = x.shape[:2]
        y = self.layer(x.reshape((lead[0] * lead[1], *x.shape[2:])))
        return jax.tree.map(lambda a: a.reshape((*lead, *a.shape[1:])), y)
