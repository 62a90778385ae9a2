"""Neuron registry and the config-driven factory :func:`create_neuron`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from jaxspike.neurons.adlif import ADLIF
from jaxspike.neurons.alif import ALIF
from jaxspike.neurons.cuba_lif import CUBA_LIF
from jaxspike.neurons.declare import NeuronModel
from jaxspike.neurons.iaf import IF
from jaxspike.neurons.izhikevich import IZHIKEVICH
from jaxspike.neurons.li import LI
from jaxspike.neurons.lif import CTLIF, LIF

#: Every neuron family, by name: the one registry (functional core, NNX and Linen
#: wrappers, :func:`create_neuron` and the NIR importer all read it).
NEURONS: dict[str, NeuronModel] = {}


def register(model: NeuronModel, *, replace: bool = False) -> NeuronModel:
    """Add a declared family (from :func:`jaxspike.neurons.declare`) to :data:`NEURONS`.

    Raises:
        TypeError: ``model`` is not a :class:`NeuronModel` with a name.
        ValueError: the name is taken (pass ``replace=True`` to re-register).
    """
    if not isinstance(model, NeuronModel) or not model.name:
        raise TypeError(
            f"register: expected a NeuronModel from declare(...), got {type(model).__name__}."
        )
    if model.name in NEURONS and not replace and NEURONS[model.name] is not model:
        raise ValueError(
            f"register: a neuron named {model.name!r} exists; pass replace=True to replace it."
        )
    NEURONS[model.name] = model
    return model


for _model in (IF, LIF, CTLIF, CUBA_LIF, ALIF, ADLIF, LI, IZHIKEVICH):
    register(_model)

_LEAK_MODES = {"multiplicative": "lif", "continuous": "ctlif", "subtractive": "if"}


class Neuron(NamedTuple):
    """A configured neuron: parameters plus ``init(shape, dtype)`` and ``step(state, x)``.

    ``step`` is already bound to the parameters and options, so it is a scan body for
    :func:`~jaxspike.unroll`.
    """

    name: str
    params: Any
    init: Callable[..., Any]
    step: Callable[..., Any]


def create_neuron(name: str, *, leak_mode: str | None = None, **kwargs: Any) -> Neuron:
    """Build a neuron by name from keyword parameters (for config-driven code).

    Args:
        name: one of :data:`NEURONS` (``"if"``, ``"lif"``, ``"ctlif"``, ``"cuba_lif"``,
            ``"alif"``, ``"adlif"``, ``"li"``, ``"izhikevich"``, or a registered one).
        leak_mode: for ``name="lif"`` only: ``"multiplicative"`` (default),
            ``"continuous"`` (a :func:`ctlif_step` neuron) or ``"subtractive"`` (an
            :func:`if_step` neuron with a constant ``leak``).
        **kwargs: fields of the family's ``Params`` (validated by its ``create``) and
            keyword options of its step (``reset``, ``surrogate``, ``dt``, ...).

    Raises:
        ValueError: for an unknown name, leak mode or keyword.

    Example:
        >>> import jax.numpy as jnp
        >>> n = create_neuron("lif", leak_mode="subtractive", v_th=10.0, leak=9.0)
        >>> state, s = n.step(n.init((2,)), jnp.asarray([10.0, 19.0]))
        >>> s.tolist()
        [0.0, 1.0]
    """
    key = name.lower()
    if leak_mode is not None:
        if key != "lif":
            raise ValueError(f"create_neuron: leak_mode applies to 'lif' only, got name={name!r}.")
        if leak_mode not in _LEAK_MODES:
            raise ValueError(
                f"create_neuron: leak_mode must be one of {tuple(_LEAK_MODES)}, got {leak_mode!r}."
            )
        key = _LEAK_MODES[leak_mode]
    if key not in NEURONS:
        raise ValueError(
            f"create_neuron: unknown neuron {name!r}; expected one of {sorted(NEURONS)}."
        )
    model = NEURONS[key]
    fields = set(model.params_cls._fields)  # type: ignore[attr-defined]
    param_kw = {k: v for k, v in kwargs.items() if k in fields}
    options = {k: v for k, v in kwargs.items() if k not in fields}
    params = model.params_cls.create(**param_kw)  # type: ignore[attr-defined]
    step = functools.partial(model.step, params, **options)
    try:
        import inspect

        inspect.signature(model.step).bind(params, None, None, **options)
    except TypeError:
        raise ValueError(
            f"create_neuron: unknown keyword(s) {sorted(options)} for {key!r}; parameters "
            f"are {sorted(fields)}."
        ) from None
    return Neuron(key, params, functools.partial(model.init, params), step)
