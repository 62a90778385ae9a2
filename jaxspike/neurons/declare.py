r"""The declaration of a neuron family, and what is derived from it.

A family file writes its ``<Model>Params`` and ``<Model>State`` NamedTuples (field names
and defaults), its ``<model>_init`` and ``<model>_step``, and one :class:`NeuronModel`
that adds what the NamedTuples cannot say: the valid range of every parameter (which
also fixes how a learnable one is stored) and the time constants that map to decay
factors. Everything else is derived from that one declaration:

* ``<Model>Params.create`` (validation, :func:`params_create`) and
  ``<Model>Params.from_tau`` (:func:`params_from_tau`);
* the registry entry (:data:`jaxspike.NEURONS`, :func:`register`) and
  :func:`jaxspike.create_neuron`;
* the NNX and Linen cells and layers, with the same validation of fixed parameters.

Ranges (``kind``) and the reparameterization of a learnable parameter:

========== ======================= ==================================================
kind       valid values            learnable: stored :math:`p`, used value
========== ======================= ==================================================
``unit``   :math:`[0, 1]`          logit: :math:`\sigma(p)`, strictly in (0, 1)
``positive`` :math:`> 0`           log: :math:`e^{p}` (``_log``)
``nonneg`` :math:`\ge 0`           log: :math:`e^{p}` (``_log``)
``real``   not NaN                 as is
========== ======================= ==================================================

A time constant :math:`\tau` (``taus``) maps to its decay factor exactly:
:math:`\beta = e^{-\Delta t/\tau}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax.numpy as jnp

from jaxspike._validate import check_dt, check_in_range, check_not_nan, check_positive

KINDS: tuple[str, ...] = ("unit", "positive", "nonneg", "real")


class NeuronModel(NamedTuple):
    """The declaration of a neuron family (one per family file).

    Attributes:
        params_cls: ``<Model>Params`` (NamedTuple: field names and defaults).
        init: ``<model>_init(params, shape, dtype)``.
        step: ``<model>_step(params, state, x, *, options) -> (state, output)``.
        spiking: whether the output is spikes (False: the membrane, e.g. LI).
        name: registry key (``"lif"``).
        state_cls: ``<Model>State``.
        kinds: valid range of every parameter field, in field order (see the table).
        taus: time constants that may replace a decay field: ``{"tau_mem": "decay"}``.
        init_fields: fields the resting state depends on (Izhikevich: ``b``, ``c``).
    """

    params_cls: type
    init: Callable[..., Any]
    step: Callable[..., Any]
    spiking: bool = True
    name: str = ""
    state_cls: type | None = None
    kinds: tuple[tuple[str, str], ...] = ()
    taus: tuple[tuple[str, str], ...] = ()
    init_fields: tuple[str, ...] = ()

    @property
    def constraints(self) -> tuple[tuple[str, str], ...]:
        """``(field, kind)`` pairs (the name the wrappers used before)."""
        return self.kinds


_BY_PARAMS: dict[type, NeuronModel] = {}


def declare(
    name: str,
    params_cls: type,
    state_cls: type,
    init: Callable[..., Any],
    step: Callable[..., Any],
    kinds: Mapping[str, str],
    *,
    taus: Mapping[str, str] | None = None,
    spiking: bool = True,
    init_fields: tuple[str, ...] = (),
) -> NeuronModel:
    """Declare a neuron family: check the declaration and return its :class:`NeuronModel`.

    Raises:
        ValueError: when ``kinds`` does not name every field of ``params_cls`` exactly
            once, a kind is unknown, or a time constant maps to a field not of kind
            ``"unit"``.
    """
    fields = tuple(params_cls._fields)  # type: ignore[attr-defined]
    if set(kinds) != set(fields):
        raise ValueError(
            f"declare({name!r}): kinds must name every field of {params_cls.__name__} "
            f"{list(fields)} once, got {sorted(kinds)}."
        )
    for field, kind in kinds.items():
        if kind not in KINDS:
            raise ValueError(
                f"declare({name!r}): kind of {field} must be one of {KINDS}, got {kind!r}."
            )
    for tau, field in (taus or {}).items():
        if kinds.get(field) != "unit":
            raise ValueError(
                f"declare({name!r}): time constant {tau} must map to a decay field of kind "
                f"'unit', got {field!r}."
            )
    model = NeuronModel(
        params_cls,
        init,
        step,
        spiking,
        name,
        state_cls,
        tuple((f, kinds[f]) for f in fields),
        tuple((taus or {}).items()),
        tuple(init_fields),
    )
    _BY_PARAMS[params_cls] = model
    return model


def check_value(owner: str, field: str, value: Any, kind: str) -> None:
    """Raise ``ValueError`` (naming ``owner``, ``field``, the range and the value)."""
    if kind == "unit":
        check_in_range(owner, field, value, 0.0, 1.0)
    elif kind == "positive":
        check_not_nan(owner, field, value)
        check_positive(owner, field, value)
    elif kind == "nonneg":
        check_not_nan(owner, field, value)
        check_positive(owner, field, value, allow_zero=True)
    else:
        check_not_nan(owner, field, value)


def decay_from_tau(owner: str, tau_name: str, tau: Any, dt: Any, dtype: Any = None) -> Any:
    r"""The exact decay :math:`e^{-\Delta t/\tau}` of a validated time constant."""
    check_not_nan(owner, tau_name, tau)
    check_positive(owner, tau_name, tau)
    check_dt(owner, dt)
    return jnp.exp(-jnp.asarray(dt, dtype) / jnp.asarray(tau, dtype))


def _model_of(cls: type) -> NeuronModel:
    try:
        return _BY_PARAMS[cls]
    except KeyError:
        raise TypeError(
            f"{cls.__name__} has no neuron declaration; call jaxspike.neurons.declare(...)."
        ) from None


def params_create(cls: Any, *args: Any, dtype: Any = jnp.float32, **kwargs: Any) -> Any:
    """Validated constructor derived from the declaration: arrays of ``dtype``.

    Positional and keyword arguments are the fields of the class, in order, with the
    class defaults. Each is checked against its declared range.

    Raises:
        ValueError: a value outside its range or NaN (naming the field, the range and
            the value).
        TypeError: an unknown or repeated field.
    """
    model = _model_of(cls)
    owner = cls.__name__
    fields = cls._fields
    if len(args) > len(fields):
        raise TypeError(f"{owner}.create takes at most {len(fields)} fields, got {len(args)}.")
    values = dict(cls._field_defaults)
    values.update(zip(fields, args, strict=False))
    for k, v in kwargs.items():
        if k not in fields:
            raise TypeError(f"{owner}.create: unknown field {k!r}; the fields are {list(fields)}.")
        if k in fields[: len(args)]:
            raise TypeError(f"{owner}.create: {k} given twice.")
        values[k] = v
    for field, kind in model.kinds:
        check_value(owner, field, values[field], kind)
    return cls(*(jnp.asarray(values[f], dtype) for f in fields))


def params_from_tau(
    cls: Any, *args: Any, dt: Any = 1.0, dtype: Any = jnp.float32, **kwargs: Any
) -> Any:
    r"""Parameters from time constants: :math:`\beta = e^{-\Delta t/\tau}` for each.

    Positional arguments are the declared time constants in order (e.g. ``tau_syn``,
    ``tau_mem``); keywords are time constants or other fields. Time constants share the
    unit of ``dt`` and must be > 0.
    """
    model = _model_of(cls)
    owner = f"{cls.__name__}.from_tau"
    taus = dict(model.taus)
    names = list(taus)
    if len(args) > len(names):
        raise TypeError(f"{owner}: takes the time constants {names} positionally, got {args}.")
    given = dict(zip(names, args, strict=False))
    for k in list(kwargs):
        if k in taus:
            given[k] = kwargs.pop(k)
    missing = [n for n in names if n not in given]
    if missing:
        raise TypeError(f"{owner}: missing time constant(s) {missing}.")
    for tau, field in taus.items():
        if field in kwargs:
            raise TypeError(f"{owner}: give {tau} or {field}, not both.")
        kwargs[field] = decay_from_tau(owner, tau, given[tau], dt, dtype)
    return params_create(cls, dtype=dtype, **kwargs)
