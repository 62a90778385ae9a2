"""Flax Linen cells and layers: the mirror of :mod:`jaxspike.nnx` for Linen users.

A cell (``LIFCell``) is a :class:`flax.linen.RNNCellBase` and works inside
:class:`flax.linen.RNN`. A layer (``LIF``) is the same module with a sequence call: it
creates its parameters before the scan and runs :func:`jaxspike.unroll` (no lifted
``nn.scan``). Learnable parameters live in the ``"params"`` collection under their
stored names (``decay_logit``, ``tau_mem_log``, ...); fixed ones are constants.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import linen as nn
from flax.errors import ScopeCollectionNotFound

from jaxspike._layer import spec as _specs
from jaxspike._layer.spec import RecurrentState
from jaxspike._layer.spec import Trace as Trace
from jaxspike._validate import check_dt

_RECURRENT_INIT = nn.initializers.orthogonal()


def _check_feature_axes(owner: str, num_feature_axes: Any) -> None:
    if not isinstance(num_feature_axes, int) or num_feature_axes < 1:
        raise ValueError(
            f"{owner}: num_feature_axes must be an int >= 1, got {num_feature_axes!r}."
        )


class NeuronCell(nn.RNNCellBase):
    """Shared implementation of the Linen cells (use :class:`LIFCell`, ...).

    Parameters are declared in ``setup``, so a bound cell reads its current values
    everywhere, :meth:`initialize_carry` included (the Izhikevich resting state depends
    on ``b`` and ``c``).

    Attributes:
        num_features: number of neurons on the last axis.
        learn: names of the parameters to train (in ``"params"``); others are fixed.
        per_neuron: ``True`` gives every learnable parameter one value per neuron; a
            sequence of names chooses them one by one.
        num_feature_axes: trailing axes that are neurons, for :class:`flax.linen.RNN`:
            ``1`` for ``(B, T, F)`` inputs, ``3`` for ``(B, T, H, W, C)`` inputs after a
            convolution (``nn.RNN`` finds the time axis from it). The parameters stay on
            the last axis; the step does not depend on this value.
        dtype: computation dtype (``None``: the input's).
        param_dtype: dtype of the parameters.

    A parameter value is a number (shared), an array of shape ``(num_features,)`` or an
    initializer ``init(key, shape, dtype)`` drawn from the ``"params"`` random stream. A
    fixed parameter drawn from an initializer is stored in the ``"fixed"`` collection
    (the Linen twin of :class:`jaxspike.nnx.Fixed`); other fixed values are constants.
    """

    num_features: int
    learn: tuple[str, ...] | str = ()
    per_neuron: bool | tuple[str, ...] = False
    num_feature_axes: int = 1  # type: ignore[assignment]
    dtype: Any = None
    param_dtype: Any = jnp.float32

    model: ClassVar[str]
    option_names: ClassVar[tuple[str, ...]] = ()

    @nn.nowrap
    def _plan(self, learn: Any) -> tuple[Any, frozenset[str], dict[str, Any]]:
        """Slots, per-neuron fields and initial values (by argument name)."""
        owner = type(self).__name__
        decl = _specs.SPECS[self.model]
        taus = {t: getattr(self, t) for t, _ in decl.taus if getattr(self, t) is not None}
        for tau, field in decl.taus:
            if (
                tau in taus
                and getattr(self, field) != type(self).__dataclass_fields__[field].default
            ):
                raise ValueError(
                    f"{owner}: give {tau} or {field}, not both "
                    f"(got {tau}={taus[tau]!r} and {field}={getattr(self, field)!r})."
                )
        euler = getattr(self, "method", None) == "euler"
        if taus:
            check_dt(owner, self.dt)
        dt = self.dt if (euler or taus) else 1.0
        slots, per = _specs.plan(
            owner, self.model, learn, self.per_neuron, taus=tuple(taus), dt=dt, euler=euler
        )
        values = {f: getattr(self, f) for f in decl.params_cls._fields}  # type: ignore[attr-defined]
        return slots, per, {**values, **taus}

    def setup(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.num_features, int) or self.num_features < 1:
            raise ValueError(
                f"{owner}: num_features must be an int >= 1, got {self.num_features!r}."
            )
        _check_feature_axes(owner, self.num_feature_axes)
        slots, per, values = self._plan(self.learn)
        kinds = dict(_specs.SPECS[self.model].constraints)
        stored = []
        for slot in slots:
            value = values[slot.source]
            init = functools.partial(
                _specs.initial_value,
                owner,
                slot,
                value,
                num_features=self.num_features,
                per_neuron=slot.field in per,
                param_dtype=self.param_dtype,
                kinds=kinds,
            )
            if slot.learnable:
                stored.append(self.param(slot.attr, lambda key, init=init: init(key=key)))
            elif callable(value):
                draw = functools.partial(lambda init: init(key=self.make_rng("params")), init)
                try:
                    stored.append(self.variable("fixed", slot.attr, draw).value)
                except ScopeCollectionNotFound:
                    raise ValueError(
                        f"{owner}: the fixed parameter {slot.field} is drawn from an "
                        "initializer and lives in the 'fixed' collection, which flax.linen.RNN "
                        "does not pass into its scan by default; use "
                        "nn.RNN(cell, variable_broadcast=('params', 'fixed')), or "
                        "jaxspike.linen.RNN(cell), or give a number or an array instead."
                    ) from None
            else:
                stored.append(init(key=None))
        self.slots = slots
        self.stored = tuple(stored)

    def neuron_params(self) -> Any:
        """The functional ``<Model>Params`` for the current parameter values."""
        return _specs.build_params(self.model, self.slots, self.stored)

    def step_fn(self) -> Any:
        """``functools.partial(<model>_step, self.neuron_params(), **options)``."""
        options = {k: getattr(self, k) for k in self.option_names}
        return functools.partial(_specs.SPECS[self.model].step, self.neuron_params(), **options)

    def prepare(self, x: Any, what: str = "inputs") -> jax.Array:
        """Cast ``x`` to ``dtype`` (when set) and check its feature axis."""
        x = _specs.real_input(type(self).__name__, x, self.dtype, what)
        _specs.check_features(type(self).__name__, x, self.num_features, what)
        return x

    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        """One step: ``(carry, inputs[..., num_features]) -> (carry, outputs)``."""
        return self.step_fn()(carry, self.prepare(inputs))

    @nn.nowrap
    def initialize_carry(self, rng: Any, input_shape: tuple[int, ...]) -> Any:
        """Resting ``<Model>State`` of shape ``input_shape``; ``rng`` is unused.

        A bound cell (inside ``apply`` or :class:`flax.linen.RNN`) uses its current,
        possibly learned, parameters; an unbound one uses the initial values.
        """
        del rng
        owner = type(self).__name__
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.num_features:
            raise ValueError(
                f"{owner}.initialize_carry: input_shape must end in "
                f"{self.num_features} features, got {shape}."
            )
        if self.scope is not None:
            params = self.neuron_params()
        else:
            slots, _, given = self._plan(())
            values = []
            for s in slots:
                value = given[s.source]
                if callable(value) and s.field in _specs.SPECS[self.model].init_fields:
                    raise ValueError(
                        f"{owner}.initialize_carry: {s.field} is an initializer, so the "
                        "resting state is only known once the cell is bound; call it inside "
                        "apply (or nn.RNN) or pass initial_carry."
                    )
                values.append(jnp.asarray(0.5 if callable(value) else value))
            params = _specs.build_params(self.model, slots, values)
        dtype = jnp.float32 if self.dtype is None else self.dtype
        return _specs.SPECS[self.model].init(params, shape, dtype)


class RecurrentCell(nn.RNNCellBase):
    r"""Give a cell dense recurrent weights: its input is :math:`x_t + s_{t-1} W`.

    The mirror of :class:`jaxspike.nnx.RecurrentCell`; works inside :class:`RNN` and
    :class:`flax.linen.RNN`.

    Attributes:
        cell: any jaxspike Linen cell (e.g. :class:`LIFCell`).
        self_connections: ``False`` removes the diagonal of :math:`W` (no neuron feeds
            itself); the stored ``kernel`` keeps its shape.
        kernel_init: initializer of the ``(F, F)`` kernel (``"params"`` stream).
        param_dtype: dtype of the kernel.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = RecurrentCell(LIFCell(4), self_connections=False)
        >>> x = jnp.ones((2, 4))
        >>> carry = cell.initialize_carry(None, x.shape)
        >>> variables = cell.init(jax.random.key(0), carry, x)
        >>> variables["params"]["kernel"].shape
        (4, 4)
    """

    cell: NeuronCell
    self_connections: bool = True
    kernel_init: Any = _RECURRENT_INIT
    param_dtype: Any = jnp.float32

    @property
    def num_features(self) -> int:
        """The wrapped cell's ``num_features``."""
        return self.cell.num_features

    @property
    def num_feature_axes(self) -> int:  # type: ignore[override]
        """The wrapped cell's ``num_feature_axes``."""
        return self.cell.num_feature_axes

    def setup(self) -> None:
        n = self.cell.num_features
        self.kernel = self.param("kernel", self.kernel_init, (n, n), self.param_dtype)

    def prepare(self, x: Any, what: str = "inputs") -> jax.Array:
        """The wrapped cell's input check."""
        return self.cell.prepare(x, what)

    def step_fn(self, *, forward_mode: bool = False) -> Any:
        """The cell's step fed with ``x + out @ W`` (``W`` read once).

        ``forward_mode`` goes to the inner cell's step, as in
        :meth:`jaxspike.nnx.RecurrentCell.step_fn`.
        """
        owner = type(self).__name__
        inner = _specs.cell_step(owner, self.cell, forward_mode=forward_mode)
        return _specs.recurrent_step(inner, self.kernel, self.self_connections)

    def __call__(self, carry: Any, inputs: jax.Array) -> tuple[Any, jax.Array]:
        """One step: ``(carry, inputs[..., F]) -> (carry, spikes)``."""
        return self.step_fn()(carry, self.prepare(inputs))

    @nn.nowrap
    def initialize_carry(self, rng: Any, input_shape: tuple[int, ...]) -> RecurrentState:
        """The cell's resting state and no previous output."""
        neuron = self.cell.initialize_carry(rng, input_shape)
        return RecurrentState(neuron, jnp.zeros_like(jax.tree.leaves(neuron)[0]))


def sequence_call(
    module: Any,
    cell: Any,
    inputs: jax.Array,
    *,
    initial_carry: Any,
    return_carry: bool | None,
    time_major: bool | None,
    seq_lengths: Any = None,
    reverse: bool | None = None,
    keep_order: bool | None = None,
    return_trace: bool = False,
    forward_mode: bool | None = None,
) -> Any:
    """Scan ``cell.step_fn()`` over ``inputs`` with the layout options of ``module``.

    A ``None`` option takes the module's attribute of the same name (``False`` for a
    module without it).
    """

    def attr(name: str, value: Any) -> Any:
        return getattr(module, name, False) if value is None else value

    return _specs.run_sequence(
        type(module).__name__,
        cell,
        inputs,
        functools.partial(cell.initialize_carry, None),
        time_major=attr("time_major", time_major),
        return_carry=attr("return_carry", return_carry),
        initial_carry=initial_carry,
        unroll=module.unroll,
        checkpoint=module.checkpoint,
        seq_lengths=seq_lengths,
        reverse=attr("reverse", reverse),
        keep_order=attr("keep_order", keep_order),
        return_trace=return_trace,
        forward_mode=attr("forward_mode", forward_mode),
    )


def _layer_call(
    self: Any,
    inputs: jax.Array,
    *,
    initial_carry: Any = None,
    seq_lengths: Any = None,
    return_carry: bool | None = None,
    time_major: bool | None = None,
    reverse: bool | None = None,
    keep_order: bool | None = None,
    return_trace: bool = False,
    forward_mode: bool | None = None,
) -> Any:
    """Run the neuron over time (the call surface of :class:`flax.linen.RNN`).

    Args:
        self: the layer.
        inputs: ``[B, T, ..., F]`` (or ``[T, B, ..., F]`` with ``time_major``).
        initial_carry: the carry before the first step (default: resting).
        seq_lengths: ``[B]`` valid steps per sample; later steps keep the state frozen
            and output 0 (see :meth:`jaxspike.nnx.RNN.__call__`).
        return_carry: override the attribute of the same name.
        time_major: override the attribute of the same name.
        reverse: run each sequence backwards (its valid steps only).
        keep_order: with ``reverse``, flip the outputs back to the input order.
        return_trace: also return a :class:`~jaxspike.linen.Trace` of every step.
        forward_mode: wrap the surrogate in :class:`jaxspike.ForwardMode` (for
            :func:`jax.jvp`); default ``False``.

    Returns:
        The outputs (same layout as ``inputs``), or ``(final_carry, outputs)``;
        ``return_trace`` appends the trace.
    """
    return sequence_call(
        self,
        self,
        inputs,
        initial_carry=initial_carry,
        return_carry=return_carry,
        time_major=time_major,
        seq_lengths=seq_lengths,
        reverse=reverse,
        keep_order=keep_order,
        return_trace=return_trace,
        forward_mode=forward_mode,
    )


class RNN(nn.Module):
    """Scan a jaxspike Linen cell over a sequence with :func:`jaxspike.unroll`.

    The mirror of :class:`jaxspike.nnx.RNN`: the call surface of :class:`flax.linen.RNN`
    (``time_major``, ``initial_carry``, ``return_carry``, ``seq_lengths``, ``reverse``,
    ``keep_order``), but the parameters are read once before a plain
    :func:`jax.lax.scan` (no lifted ``nn.scan``).

    Attributes:
        cell: a jaxspike Linen cell (:class:`LIFCell`, :class:`RecurrentCell`, ...).
        time_major: ``False``: ``[B, T, ..., F]``; ``True``: ``[T, B, ..., F]``.
        return_carry: also return the final carry.
        reverse: run each sequence backwards (its valid steps only).
        keep_order: with ``reverse``, flip the outputs back to the input order.
        unroll: steps unrolled per scan iteration.
        checkpoint: recompute steps in the backward pass (see :func:`jaxspike.unroll`).
        forward_mode: wrap the surrogate in :class:`jaxspike.ForwardMode` (for
            :func:`jax.jvp`); default ``False`` (the ``custom_vjp`` spike).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = RNN(LIFCell(3, decay=0.5))
        >>> x = jnp.full((2, 4, 3), 0.75)
        >>> layer.apply(layer.init(jax.random.key(0), x), x)[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
        >>> y, trace = layer.apply({}, x, return_trace=True)
        >>> trace.v_pre[0, :, 0].tolist()
        [0.75, 1.125, 0.8125, 1.15625]
    """

    cell: Any
    time_major: bool = False
    return_carry: bool = False
    reverse: bool = False
    keep_order: bool = False
    unroll: int | bool = 1
    checkpoint: bool | int = False
    forward_mode: bool = False

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: Any = None,
        seq_lengths: Any = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
        return_trace: bool = False,
        forward_mode: bool | None = None,
    ) -> Any:
        """Run the cell over time; see :class:`jaxspike.nnx.RNN` for the arguments."""
        return sequence_call(
            self,
            self.cell,
            inputs,
            initial_carry=initial_carry,
            return_carry=return_carry,
            time_major=time_major,
            seq_lengths=seq_lengths,
            reverse=reverse,
            keep_order=keep_order,
            return_trace=return_trace,
            forward_mode=forward_mode,
        )


# ----------------------------------------------------------------------------- cells


def cell_class(model: str, name: str | None = None, doc: str | None = None) -> type[NeuronCell]:
    """Generate the Linen cell of a registered family from its declaration.

    Its attributes are ``num_features``, every ``Params`` field, every declared time
    constant (``None``: use the decay field) and ``dt`` (when the family has time
    constants and no ``dt`` step option), every step option, then :class:`NeuronCell`'s;
    with the defaults of the declaration and the step. A step option named like a field
    (IF's ``v_min``) is left to the field.

    Example:
        >>> "tau_mem" in cell_class("lif").__dataclass_fields__
        True
    """
    decl = _specs.SPECS[model]
    fields = dict(decl.params_cls._field_defaults)  # type: ignore[attr-defined]
    options = {
        p.name: p.default
        for p in inspect.signature(decl.step).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in fields
    }
    taus = {t: None for t, _ in decl.taus}
    own_dt = bool(taus) and "dt" not in options
    attrs: dict[str, Any] = {**fields, **taus, **({"dt": 1.0} if own_dt else {}), **options}
    cls_name = name or f"{model.title().replace('_', '')}Cell"
    body: dict[str, Any] = {
        "__annotations__": {k: Any for k in attrs},
        **attrs,
        "model": model,
        "option_names": tuple(options),
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": cls_name,
    }
    return types.new_class(cls_name, (NeuronCell,), exec_body=lambda ns: ns.update(body))


def layer_class(cell_cls: type[NeuronCell], name: str, doc: str | None = None) -> type[Any]:
    """Generate the Linen layer of a cell class: its attributes plus the layout ones.

    Attributes added: ``time_major`` (``False``: ``[B, T, ..., F]``), ``return_carry``,
    ``reverse``, ``keep_order``, ``unroll``, ``checkpoint`` (see :func:`jaxspike.unroll`)
    and ``forward_mode`` (see :class:`RNN`).
    """
    layout: dict[str, Any] = {
        "time_major": False,
        "return_carry": False,
        "reverse": False,
        "keep_order": False,
        "unroll": 1,
        "checkpoint": False,
        "forward_mode": False,
    }
    body: dict[str, Any] = {
        "__annotations__": {k: Any for k in layout},
        **layout,
        "__call__": _layer_call,
        "__doc__": doc,
        "__module__": __name__,
        "__qualname__": name,
    }
    return types.new_class(name, (cell_cls,), exec_body=lambda ns: ns.update(body))


IFCell: Any = cell_class("if", "IFCell", "Integrate-and-fire cell (:func:`jaxspike.if_step`).")
LIFCell: Any = cell_class(
    "lif",
    "LIFCell",
    """Multiplicative-decay LIF cell (:func:`jaxspike.lif_step`); see :class:`NeuronCell`.

    ``tau_mem=`` (with ``dt=``) replaces ``decay``; ``learn="tau_mem"`` trains it in log-τ.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = LIFCell(3, decay=0.5, learn="decay")
        >>> x = jnp.asarray([[0.5, 1.0, 2.0]])
        >>> variables = cell.init(jax.random.key(0), cell.initialize_carry(None, (1, 3)), x)
        >>> carry, s = cell.apply(variables, cell.initialize_carry(None, (1, 3)), x)
        >>> s.tolist(), float(variables["params"]["decay_logit"])
        ([[0.0, 1.0, 1.0]], 0.0)
    """,
)
CTLIFCell: Any = cell_class(
    "ctlif", "CTLIFCell", "Continuous-time LIF cell (:func:`jaxspike.ctlif_step`)."
)
CubaLIFCell: Any = cell_class(
    "cuba_lif", "CubaLIFCell", "Current-based LIF cell (:func:`jaxspike.cuba_lif_step`)."
)
ALIFCell: Any = cell_class("alif", "ALIFCell", "Adaptive LIF cell (:func:`jaxspike.alif_step`).")
LICell: Any = cell_class(
    "li",
    "LICell",
    "Leaky-integrator readout cell (:func:`jaxspike.li_step`); outputs the membrane.",
)
IzhikevichCell: Any = cell_class(
    "izhikevich", "IzhikevichCell", "Izhikevich cell (:func:`jaxspike.izhikevich_step`)."
)
AdLIFCell: Any = cell_class(
    "adlif", "AdLIFCell", "adLIF cell (:func:`jaxspike.neurons.adlif_step`)."
)


# ---------------------------------------------------------------------------- layers

IF: Any = layer_class(
    IFCell, "IF", "Integrate-and-fire layer: :class:`IFCell` plus the layout attributes."
)
LIF: Any = layer_class(
    LIFCell,
    "LIF",
    """LIF layer: :class:`LIFCell`'s attributes plus the layout ones.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = LIF(3, decay=0.5)
        >>> x = jnp.full((1, 4, 3), 0.75)
        >>> layer.apply(layer.init(jax.random.key(0), x), x)[0, :, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """,
)
CTLIF: Any = layer_class(
    CTLIFCell, "CTLIF", "Continuous-time LIF layer: :class:`CTLIFCell` over time."
)
CubaLIF: Any = layer_class(
    CubaLIFCell, "CubaLIF", "Current-based LIF layer: :class:`CubaLIFCell` over time."
)
ALIF: Any = layer_class(ALIFCell, "ALIF", "Adaptive LIF layer: :class:`ALIFCell` over time.")
LI: Any = layer_class(LICell, "LI", "Leaky-integrator readout layer: :class:`LICell` over time.")
Izhikevich: Any = layer_class(IzhikevichCell, "Izhikevich", "Izhikevich layer over time.")
AdLIF: Any = layer_class(AdLIFCell, "AdLIF", "adLIF layer: :class:`AdLIFCell` over time.")


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

    def __call__(self, inputs: jax.Array, **kwargs: Any) -> jax.Array:
        """``inputs[B, T, ...] -> outputs[B, T, ...]``; keywords go to the layer."""
        return _fold_time(self.layer, inputs, **kwargs)


def _fold_time(layer: Callable[..., Any], inputs: jax.Array, **kwargs: Any) -> Any:
    x = jnp.asarray(inputs)
    if x.ndim < 2:
        raise ValueError(
            f"TimeDistributed: inputs must have batch and time axes [B, T, ...], got "
            f"shape {x.shape}."
        )
    lead = x.shape[:2]
    y = layer(x.reshape((lead[0] * lead[1], *x.shape[2:])), **kwargs)
    return jax.tree.map(lambda a: a.reshape((*lead, *a.shape[1:])), y)


class Sequential(nn.Module):
    """A spiking network as one module, threading every neuron layer's carry.

    The mirror of :class:`jaxspike.nnx.Sequential` (layerwise placement). Sequence
    layers, i.e. modules with the call surface of :class:`flax.linen.RNN` (:class:`LIF`,
    ..., :class:`RNN`, ``nn.RNN`` itself: attributes ``time_major`` and
    ``return_carry``), and nested :class:`Sequential` scan the whole sequence; every
    other layer or function is applied with time folded into the batch (as
    :class:`TimeDistributed`). A nested :class:`Sequential` keeps its own
    ``time_major``: the axes are swapped on the way in and out, as in NNX. Unlike
    :class:`flax.linen.Sequential`, carries can be passed in and returned, so a long
    sequence can be run in chunks.

    Attributes:
        layers: the layers, first to last.
        time_major: passed to every neuron layer (``[T, B, ...]`` sequences).
        forward_mode: run every jaxspike neuron layer with its surrogate wrapped in
            :class:`jaxspike.ForwardMode` (for :func:`jax.jvp`).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from flax import linen as nn
        >>> model = Sequential([nn.Dense(8), LIF(8), nn.Dense(2), LI(2)])
        >>> x = jnp.ones((2, 6, 5))
        >>> variables = model.init(jax.random.key(0), x)
        >>> carries, y = model.apply(variables, x[:, :4], return_carry=True)
        >>> rest = model.apply(variables, x[:, 4:], initial_carry=carries)
        >>> bool(jnp.allclose(jnp.concatenate([y, rest], 1), model.apply(variables, x)))
        True
        >>> y, traces = model.apply(variables, x, return_trace=True)
        >>> traces[1].state.v.shape, traces[0] is None
        ((2, 6, 8), True)
    """

    layers: Sequence[Callable[..., Any]]
    time_major: bool = False
    forward_mode: bool = False

    def __call__(
        self,
        inputs: jax.Array,
        *,
        initial_carry: tuple[Any, ...] | None = None,
        return_carry: bool = False,
        return_trace: bool = False,
        forward_mode: bool | None = None,
    ) -> Any:
        """Run every layer over the whole sequence.

        Args:
            inputs: ``[B, T, ...]`` (``[T, B, ...]`` with ``time_major``).
            initial_carry: one entry per layer (``None`` for resting state or for a
                stateless layer), e.g. the carries returned by a previous call.
            return_carry: also return the final carries.
            return_trace: also return one entry per layer: a jaxspike layer's
                :class:`~jaxspike.linen.Trace`, a tuple for a nested :class:`Sequential`,
                ``None`` for other layers (in the outputs' layout).
            forward_mode: override the attribute of the same name.

        Returns:
            The last layer's outputs, or ``(carries, outputs)`` where ``carries`` holds
            one entry per layer (``None`` for stateless ones); ``return_trace`` appends
            the traces.
        """
        n = len(self.layers)
        if initial_carry is None:
            initial_carry = (None,) * n
        if len(initial_carry) != n:
            raise ValueError(
                f"Sequential: initial_carry needs one entry per layer ({n}), got "
                f"{len(initial_carry)}."
            )
        fwd = self.forward_mode if forward_mode is None else forward_mode
        x, carries, traces = inputs, [], []
        for layer, carry in zip(self.layers, initial_carry, strict=True):
            tr = None
            if _is_sequence_layer(layer):
                scan: Any = layer
                extra = {}
                if "return_trace" in inspect.signature(scan.__call__).parameters:
                    extra = dict(return_trace=return_trace, forward_mode=fwd)
                out = scan(
                    x, initial_carry=carry, return_carry=True, time_major=self.time_major, **extra
                )
                carry, x = out[0], out[1]
                tr = out[2] if extra and return_trace else None
            elif isinstance(layer, Sequential):
                swap = layer.time_major != self.time_major
                x = jnp.swapaxes(x, 0, 1) if swap else x
                out = layer(
                    x,
                    initial_carry=carry,
                    return_carry=True,
                    return_trace=return_trace,
                    forward_mode=fwd,
                )
                carry, x = out[0], out[1]
                tr = out[2] if return_trace else None
                if swap:
                    x, tr = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), (x, tr))
            elif isinstance(layer, TimeDistributed):
                x = layer(x)
            else:
                x = _fold_time(layer, x)
            carries.append(carry)
            traces.append(tr)
        result = (tuple(carries), x) if return_carry else (x,)
        if return_trace:
            result = (*result, tuple(traces))
        return result if len(result) > 1 else result[0]


def _is_sequence_layer(layer: Any) -> bool:
    """A module with the call surface of ``nn.RNN`` (jaxspike layers, ``nn.RNN`` itself)."""
    return (
        isinstance(layer, nn.Module)
        and not isinstance(layer, Sequential)
        and hasattr(layer, "time_major")
        and hasattr(layer, "return_carry")
    )
