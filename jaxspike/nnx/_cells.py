r"""Flax NNX cells: one step of a neuron model, following Flax's RNN-cell contract.

Every cell is an :class:`flax.nnx.RNNCellBase`: ``cell(carry, x) -> (carry, y)`` and
``cell.initialize_carry(input_shape, rngs=None)``, so it drops into
:class:`flax.nnx.RNN` unchanged. The carry is the core's ``<Model>State`` and ``y`` the
spikes (the membrane for :class:`LICell`). The feature axis is last; any leading axes
(batch, or height and width after :class:`flax.nnx.Conv`) are neurons too.

A cell only declares parameters and calls the functional core: its parameters are
mapped to ``<Model>Params`` (see :mod:`jaxspike._layer.spec` for the reparameterization
of learnable ones) and the step is ``functools.partial(<model>_step, params, **options)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike._layer import spec as _specs
from jaxspike.neurons.surrogates import FastSigmoid, Surrogate

StepFn = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


class Fixed(nnx.Variable):
    """A neuron parameter that is not trained (filtered out by ``wrt=nnx.Param``)."""


class SpikingCell(nnx.RNNCellBase):
    """Base of jaxspike's NNX cells: a pure step built from the current parameters.

    Subclasses implement :meth:`step_fn` (read every parameter once and return a pure
    ``step(carry, x) -> (carry, y)``) and :meth:`initialize_carry`; layers scan
    :meth:`step_fn` with :func:`jaxspike.unroll`.
    """

    num_features: int
    dtype: Any
    _num_feature_axes: int = 1

    def step_fn(self) -> StepFn:
        """A pure ``step(carry, x) -> (carry, y)`` with the parameters bound."""
        raise NotImplementedError

    def prepare(self, x: Any, what: str = "inputs") -> jax.Array:
        """Cast ``x`` to ``dtype`` (when set) and check its feature axis."""
        x = jnp.asarray(x) if self.dtype is None else jnp.asarray(x, self.dtype)
        _specs.check_features(type(self).__name__, x, self.num_features, what)
        return x

    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        """One step: ``(carry, inputs[..., num_features]) -> (carry, outputs)``."""
        return self.step_fn()(carry, self.prepare(inputs))

    @property
    def num_feature_axes(self) -> int:
        """Trailing axes that are neurons (set by the constructor; default 1).

        :class:`flax.nnx.RNN` puts time just before them: ``(B, T, F)`` needs 1 and
        ``(B, T, H, W, C)`` needs 3. The step itself works on any shape ending in
        ``num_features``.
        """
        return self._num_feature_axes


class NeuronCell(SpikingCell):
    """A cell for one neuron family of :data:`jaxspike.NEURONS` (shared implementation).

    Use the named subclasses (:class:`LIFCell`, ...); their arguments are documented
    here once.

    Args:
        num_features: number of neurons on the last axis.
        model: key of the neuron family.
        params: initial value of every ``<Model>Params`` field: a number (shared), an
            array of shape ``(num_features,)`` (per neuron) or an initializer
            ``init(key, shape, dtype)`` (per neuron, drawn from ``rngs.params()``).
        options: keyword options of ``<model>_step`` (``reset``, ``surrogate``, ...).
        learn: names of the parameters to train (``nnx.Param``); the others are
            :class:`Fixed`.
        per_neuron: ``True`` gives every learnable parameter one value per neuron; a
            sequence of names chooses them one by one (learnable or not).
        num_feature_axes: trailing axes of the input that are neurons, for
            :class:`flax.nnx.RNN`: ``1`` for ``(B, T, F)``, ``3`` for ``(B, T, H, W, C)``
            after a convolution. jaxspike's own :class:`RNN` does not need it.
        dtype: computation dtype (``None``: the input's). The state follows it.
        param_dtype: dtype of the stored parameters.
        rngs: needed only for initializers.
    """

    def __init__(
        self,
        num_features: int,
        model: str,
        params: dict[str, Any],
        options: dict[str, Any],
        *,
        learn: Sequence[str] | str = (),
        per_neuron: bool | Sequence[str] = False,
        num_feature_axes: int = 1,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs | None = None,
    ):
        owner = type(self).__name__
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"{owner}: num_features must be an int >= 1, got {num_features!r}.")
        if not isinstance(num_feature_axes, int) or num_feature_axes < 1:
            raise ValueError(
                f"{owner}: num_feature_axes must be an int >= 1, got {num_feature_axes!r}."
            )
        self.num_features = num_features
        self._num_feature_axes = num_feature_axes
        self.model = model
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.options = tuple(options.items())
        slots, per = _specs.plan(owner, model, learn, per_neuron)
        self.slots = slots
        for slot in slots:
            key = rngs.params() if (rngs is not None and callable(params[slot.field])) else None
            value = _specs.initial_value(
                owner,
                slot,
                params[slot.field],
                num_features=num_features,
                per_neuron=slot.field in per,
                param_dtype=param_dtype,
                key=key,
            )
            setattr(self, slot.attr, nnx.Param(value) if slot.learnable else Fixed(value))

    def neuron_params(self) -> Any:
        """The functional ``<Model>Params`` for the current parameter values."""
        stored = [getattr(self, s.attr)[...] for s in self.slots]
        return _specs.build_params(self.model, self.slots, stored)

    def step_fn(self) -> StepFn:
        """``functools.partial(<model>_step, self.neuron_params(), **options)``."""
        return functools.partial(
            _specs.SPECS[self.model].step, self.neuron_params(), **dict(self.options)
        )

    def initialize_carry(
        self,
        input_shape: tuple[int, ...],
        rngs: nnx.Rngs | nnx.RngStream | None = None,
        carry_init: Any = None,
    ) -> Any:
        """Resting ``<Model>State`` of shape ``input_shape`` (ending in ``num_features``).

        ``rngs`` and ``carry_init`` are accepted for the RNN-cell contract and unused: a
        neuron starts at rest.
        """
        del rngs, carry_init
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}.initialize_carry: input_shape must end in "
                f"{self.num_features} features, got {shape}."
            )
        dtype = jnp.float32 if self.dtype is None else self.dtype
        return _specs.SPECS[self.model].init(self.neuron_params(), shape, dtype)


class IFCell(NeuronCell):
    """Integrate-and-fire cell (:func:`jaxspike.if_step`); arguments as :class:`NeuronCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> cell = IFCell(2, v_th=1.0)
        >>> carry, s = cell(cell.initialize_carry((1, 2)), jnp.asarray([[0.5, 1.5]]))
        >>> s.tolist()
        [[0.0, 1.0]]
    """

    def __init__(
        self,
        num_features: int,
        *,
        v_th: Any = 1.0,
        v_reset: Any = 0.0,
        leak: Any = 0.0,
        v_min: Any = -math.inf,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: Surrogate | str = FastSigmoid(),
        refractory: int = 0,
        **kwargs: Any,
    ):
        params = dict(v_th=v_th, v_reset=v_reset, leak=leak, v_min=v_min)
        options = dict(
            reset=reset, detach_reset=detach_reset, surrogate=surrogate, refractory=refractory
        )
        super().__init__(num_features, "if", params, options, **kwargs)


class LIFCell(NeuronCell):
    """Multiplicative-decay LIF cell (:func:`jaxspike.lif_step`); see :class:`NeuronCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> cell = LIFCell(3, decay=0.5, learn=("decay",), per_neuron=True)
        >>> carry, s = cell(cell.initialize_carry((3,)), jnp.asarray([0.5, 1.0, 2.0]))
        >>> s.tolist(), cell.decay_logit.shape
        ([0.0, 1.0, 1.0], (3,))
    """

    def __init__(
        self,
        num_features: int,
        *,
        decay: Any = 0.9,
        v_th: Any = 1.0,
        v_reset: Any = 0.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: Surrogate | str = FastSigmoid(),
        refractory: int = 0,
        decay_reset: bool = True,
        **kwargs: Any,
    ):
        params = dict(decay=decay, v_th=v_th, v_reset=v_reset)
        options = dict(
            reset=reset,
            detach_reset=detach_reset,
            surrogate=surrogate,
            refractory=refractory,
            decay_reset=decay_reset,
        )
        super().__init__(num_features, "lif", params, options, **kwargs)


class CTLIFCell(NeuronCell):
    """Continuous-time LIF cell (:func:`jaxspike.ctlif_step`); see :class:`NeuronCell`.

    A learnable ``tau_mem`` is stored as ``tau_mem_log``.
    """

    def __init__(
        self,
        num_features: int,
        *,
        tau_mem: Any = 20.0,
        v_leak: Any = 0.0,
        r: Any = 1.0,
        i_bias: Any = 0.0,
        v_th: Any = 1.0,
        v_reset: Any = 0.0,
        dt: float = 1.0,
        method: str = "exact",
        reset: str = "zero",
        detach_reset: bool = True,
        surrogate: Surrogate | str = FastSigmoid(),
        refractory: int = 0,
        **kwargs: Any,
    ):
        params = dict(tau_mem=tau_mem, v_leak=v_leak, r=r, i_bias=i_bias, v_th=v_th)
        params["v_reset"] = v_reset
        options = dict(
            dt=dt,
            method=method,
            reset=reset,
            detach_reset=detach_reset,
            surrogate=surrogate,
            refractory=refractory,
        )
        super().__init__(num_features, "ctlif", params, options, **kwargs)


class CubaLIFCell(NeuronCell):
    """Current-based LIF cell (:func:`jaxspike.cuba_lif_step`); see :class:`NeuronCell`."""

    def __init__(
        self,
        num_features: int,
        *,
        decay_syn: Any = 0.8,
        decay_mem: Any = 0.9,
        v_th: Any = 1.0,
        v_reset: Any = 0.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: Surrogate | str = FastSigmoid(),
        **kwargs: Any,
    ):
        params = dict(decay_syn=decay_syn, decay_mem=decay_mem, v_th=v_th, v_reset=v_reset)
        options = dict(reset=reset, detach_reset=detach_reset, surrogate=surrogate)
        super().__init__(num_features, "cuba_lif", params, options, **kwargs)


class ALIFCell(NeuronCell):
    """Adaptive LIF cell (:func:`jaxspike.alif_step`); see :class:`NeuronCell`."""

    def __init__(
        self,
        num_features: int,
        *,
        decay: Any = 0.9,
        decay_adapt: Any = 0.99,
        v_th: Any = 1.0,
        adapt: Any = 0.2,
        v_reset: Any = 0.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: Surrogate | str = FastSigmoid(),
        **kwargs: Any,
    ):
        params = dict(decay=decay, decay_adapt=decay_adapt, v_th=v_th, adapt=adapt)
        params["v_reset"] = v_reset
        options = dict(reset=reset, detach_reset=detach_reset, surrogate=surrogate)
        super().__init__(num_features, "alif", params, options, **kwargs)


class LICell(NeuronCell):
    """Leaky-integrator readout cell (:func:`jaxspike.li_step`); outputs the membrane.

    Arguments as :class:`NeuronCell`.
    """

    def __init__(self, num_features: int, *, decay: Any = 0.9, **kwargs: Any):
        super().__init__(num_features, "li", dict(decay=decay), {}, **kwargs)


class IzhikevichCell(NeuronCell):
    """Izhikevich cell (:func:`jaxspike.izhikevich_step`); see :class:`NeuronCell`.

    Defaults are the regular-spiking preset; ``a`` is stored as ``a_log`` if learned.
    """

    def __init__(
        self,
        num_features: int,
        *,
        a: Any = 0.02,
        b: Any = 0.2,
        c: Any = -65.0,
        d: Any = 8.0,
        v_th: Any = 30.0,
        dt: float = 1.0,
        detach_reset: bool = True,
        surrogate: Surrogate | str = FastSigmoid(),
        **kwargs: Any,
    ):
        params = dict(a=a, b=b, c=c, d=d, v_th=v_th)
        options = dict(dt=dt, detach_reset=detach_reset, surrogate=surrogate)
        super().__init__(num_features, "izhikevich", params, options, **kwargs)
