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
import inspect
import types
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from jaxspike._layer import spec as _specs
from jaxspike._validate import check_dt

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
        x = _specs.real_input(type(self).__name__, x, self.dtype, what)
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
    r"""A cell for one neuron family of :data:`jaxspike.NEURONS` (shared implementation).

    Use the named classes (:class:`LIFCell`, ... or :func:`cell_class` for a family you
    registered); their arguments are documented here once.

    Args:
        num_features: number of neurons on the last axis.
        model: key of the neuron family.
        params: initial value of every ``<Model>Params`` field: a number (shared), an
            array of shape ``(num_features,)`` (per neuron) or an initializer
            ``init(key, shape, dtype)`` (per neuron, drawn from ``rngs.params()``).
            Concrete values are checked against the family's declared ranges.
        options: keyword options of ``<model>_step`` (``reset``, ``surrogate``, ...).
        taus: time constants given instead of their decay fields (``{"tau_mem": 10.0}``);
            the decay is :math:`e^{-\Delta t/\tau}` exactly.
        tau_dt: the step length :math:`\Delta t` of those time constants.
        learn: names of the parameters (or given time constants) to train
            (``nnx.Param``); the others are :class:`Fixed`.
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
        taus: dict[str, Any] | None = None,
        tau_dt: float = 1.0,
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
        decl = _specs.SPECS[model]
        taus = dict(taus or {})
        euler = options.get("method") == "euler"
        dt = options["dt"] if euler else tau_dt
        if taus:
            check_dt(owner, tau_dt)
        self.num_features = num_features
        self._num_feature_axes = num_feature_axes
        self.model = model
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.options = tuple(options.items())
        slots, per = _specs.plan(
            owner, model, learn, per_neuron, taus=tuple(taus), dt=dt, euler=euler
        )
        self.slots = slots
        kinds = dict(decl.constraints)
        values = {**params, **taus}
        for slot in slots:
            value = values[slot.source]
            key = rngs.params() if (rngs is not None and callable(value)) else None
            stored = _specs.initial_value(
                owner,
                slot,
                value,
                num_features=num_features,
                per_neuron=slot.field in per,
                param_dtype=param_dtype,
                key=key,
                kinds=kinds,
            )
            setattr(self, slot.attr, nnx.Param(stored) if slot.learnable else Fixed(stored))

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


_COMMON = (
    ("learn", (), "Sequence[str] | str"),
    ("per_neuron", False, "bool | Sequence[str]"),
    ("num_feature_axes", 1, "int"),
    ("dtype", None, "Any"),
    ("param_dtype", jnp.float32, "Any"),
    ("rngs", None, "nnx.Rngs | None"),
)


def cell_class(model: str, name: str | None = None, doc: str | None = None) -> type[NeuronCell]:
    """Generate the NNX cell of a registered family, with an explicit signature.

    The signature is ``(num_features, *, <every Params field>, <every time constant of
    the declaration> (None), dt (when the family has time constants and no ``dt``
    option), <every step option>, learn, per_neuron, num_feature_axes, dtype,
    param_dtype, rngs)``, with the defaults of the declaration and the step. A step
    option named like a field (IF's ``v_min``) is left to the field.

    Example:
        >>> import inspect
        >>> list(inspect.signature(cell_class("lif")).parameters)[:6]
        ['num_features', 'decay', 'v_th', 'v_reset', 'tau_mem', 'dt']
    """
    decl = _specs.SPECS[model]
    fields = dict(decl.params_cls._field_defaults)  # type: ignore[attr-defined]
    taus = [t for t, _ in decl.taus]
    options = {
        p.name: p.default
        for p in inspect.signature(decl.step).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in fields
    }
    kw = inspect.Parameter.KEYWORD_ONLY
    sig_params = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter(
            "num_features", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="int"
        ),
    ]
    sig_params += [inspect.Parameter(f, kw, default=d, annotation="Any") for f, d in fields.items()]
    sig_params += [inspect.Parameter(t, kw, default=None, annotation="Any") for t in taus]
    own_dt = bool(taus) and "dt" not in options
    if own_dt:
        sig_params.append(inspect.Parameter("dt", kw, default=1.0, annotation="float"))
    sig_params += [inspect.Parameter(o, kw, default=d) for o, d in options.items()]
    sig_params += [inspect.Parameter(n, kw, default=d, annotation=a) for n, d, a in _COMMON]
    signature = inspect.Signature(sig_params)
    cls_name = name or f"{model.title().replace('_', '')}Cell"

    def __init__(self: NeuronCell, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{type(self).__name__}: {err}") from None
        bound.apply_defaults()
        a = bound.arguments
        given = {}
        for tau, field in decl.taus:
            if a[tau] is not None:
                if field in kwargs:
                    raise ValueError(
                        f"{type(self).__name__}: give {tau} or {field}, not both "
                        f"(got {tau}={a[tau]!r} and {field}={a[field]!r})."
                    )
                given[tau] = a[tau]
        NeuronCell.__init__(
            self,
            a["num_features"],
            model,
            {f: a[f] for f in fields},
            {o: a[o] for o in options},
            taus=given,
            tau_dt=a["dt"] if own_dt else 1.0,
            **{n: a[n] for n, _, _ in _COMMON},
        )

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    body = {
        "__init__": __init__,
        "model": model,
        "__signature__": signature.replace(parameters=sig_params[1:]),
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": cls_name,
    }
    return types.new_class(cls_name, (NeuronCell,), exec_body=lambda ns: ns.update(body))


IFCell: Any = cell_class(
    "if",
    "IFCell",
    """Integrate-and-fire cell (:func:`jaxspike.if_step`); arguments as :class:`NeuronCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> cell = IFCell(2, v_th=1.0)
        >>> carry, s = cell(cell.initialize_carry((1, 2)), jnp.asarray([[0.5, 1.5]]))
        >>> s.tolist()
        [[0.0, 1.0]]
    """,
)
LIFCell: Any = cell_class(
    "lif",
    "LIFCell",
    """Multiplicative-decay LIF cell (:func:`jaxspike.lif_step`); see :class:`NeuronCell`.

    ``tau_mem=`` (with ``dt=``) replaces ``decay`` by :math:`e^{-dt/\\tau_{mem}}`;
    ``learn="tau_mem"`` trains it in log-τ.

    Example:
        >>> import jax.numpy as jnp
        >>> cell = LIFCell(3, decay=0.5, learn=("decay",), per_neuron=True)
        >>> carry, s = cell(cell.initialize_carry((3,)), jnp.asarray([0.5, 1.0, 2.0]))
        >>> s.tolist(), cell.decay_logit.shape
        ([0.0, 1.0, 1.0], (3,))
    """,
)
CTLIFCell: Any = cell_class(
    "ctlif",
    "CTLIFCell",
    """Continuous-time LIF cell (:func:`jaxspike.ctlif_step`); see :class:`NeuronCell`.

    A learnable ``tau_mem`` is stored as ``tau_mem_log`` (``method="exact"``) or as
    ``tau_mem_excess`` with :math:`\\tau = dt + \\mathrm{softplus}(p)` (``"euler"``).
    """,
)
CubaLIFCell: Any = cell_class(
    "cuba_lif",
    "CubaLIFCell",
    """Current-based LIF cell (:func:`jaxspike.cuba_lif_step`); see :class:`NeuronCell`.

    ``tau_syn=``/``tau_mem=`` (with ``dt=``) replace ``decay_syn``/``decay_mem``.
    """,
)
ALIFCell: Any = cell_class(
    "alif",
    "ALIFCell",
    """Adaptive LIF cell (:func:`jaxspike.alif_step`); see :class:`NeuronCell`.

    ``tau_mem=``/``tau_adapt=`` (with ``dt=``) replace ``decay``/``decay_adapt``.
    """,
)
LICell: Any = cell_class(
    "li",
    "LICell",
    """Leaky-integrator readout cell (:func:`jaxspike.li_step`); outputs the membrane.

    Arguments as :class:`NeuronCell`; ``tau_mem=`` (with ``dt=``) replaces ``decay``.
    """,
)
IzhikevichCell: Any = cell_class(
    "izhikevich",
    "IzhikevichCell",
    """Izhikevich cell (:func:`jaxspike.izhikevich_step`); see :class:`NeuronCell`.

    Defaults are the regular-spiking preset; ``a`` is stored as ``a_log`` if learned.
    """,
)
AdLIFCell: Any = cell_class(
    "adlif",
    "AdLIFCell",
    """adLIF cell (:func:`jaxspike.neurons.adlif_step`); see :class:`NeuronCell`.""",
)
