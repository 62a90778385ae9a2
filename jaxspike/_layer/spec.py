r"""Neuron parameter specifications shared by the NNX and Linen wrappers (no Flax import).

A learnable parameter is stored unconstrained and mapped to its valid range when the
wrapper builds the functional ``<Model>Params``; nothing is clipped in the forward pass:

* ``"unit"`` (decay factors in :math:`(0, 1)`): stored as the logit :math:`p`,
  used as :math:`\sigma(p)`; the stored name ends in ``_logit``.
* ``"positive"`` (time constants, leaks, rates :math:`> 0`): stored as :math:`\log`,
  used as :math:`e^{p}`; the stored name ends in ``_log``.
* ``"real"`` (thresholds, resets, adaptation strength): stored and used as is.

Fixed parameters are stored as they are used, under their own name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike._validate import is_concrete
from jaxspike.neurons.alif import ALIFParams, alif_init, alif_step
from jaxspike.neurons.cuba_lif import CubaLIFParams, cuba_lif_init, cuba_lif_step
from jaxspike.neurons.iaf import IFParams, if_init, if_step
from jaxspike.neurons.izhikevich import IzhikevichParams, izhikevich_init, izhikevich_step
from jaxspike.neurons.li import LIParams, li_init, li_step
from jaxspike.neurons.lif import CTLIFParams, LIFParams, ctlif_step, lif_init, lif_step
from jaxspike.ops.scan import unroll as unroll_fn


class Spec(NamedTuple):
    """A neuron family as the wrappers see it."""

    params_cls: type
    init: Callable[..., Any]
    step: Callable[..., Any]
    constraints: tuple[tuple[str, str], ...]
    init_fields: tuple[str, ...] = ()  # fields the resting state depends on


SPECS: dict[str, Spec] = {
    "if": Spec(
        IFParams,
        if_init,
        if_step,
        (("v_th", "real"), ("v_reset", "real"), ("leak", "positive"), ("v_min", "real")),
    ),
    "lif": Spec(
        LIFParams, lif_init, lif_step, (("decay", "unit"), ("v_th", "real"), ("v_reset", "real"))
    ),
    "ctlif": Spec(
        CTLIFParams,
        lif_init,
        ctlif_step,
        (
            ("tau_mem", "positive"),
            ("v_leak", "real"),
            ("r", "real"),
            ("i_bias", "real"),
            ("v_th", "real"),
            ("v_reset", "real"),
        ),
    ),
    "cuba_lif": Spec(
        CubaLIFParams,
        cuba_lif_init,
        cuba_lif_step,
        (("decay_syn", "unit"), ("decay_mem", "unit"), ("v_th", "real"), ("v_reset", "real")),
    ),
    "alif": Spec(
        ALIFParams,
        alif_init,
        alif_step,
        (
            ("decay", "unit"),
            ("decay_adapt", "unit"),
            ("v_th", "real"),
            ("adapt", "real"),
            ("v_reset", "real"),
        ),
    ),
    "li": Spec(LIParams, li_init, li_step, (("decay", "unit"),)),
    "izhikevich": Spec(
        IzhikevichParams,
        izhikevich_init,
        izhikevich_step,
        (("a", "positive"), ("b", "real"), ("c", "real"), ("d", "real"), ("v_th", "real")),
        ("b", "c"),
    ),
}

_SUFFIX = {"unit": "_logit", "positive": "_log", "real": ""}
_TO_STORED: dict[str, Callable[[jax.Array], jax.Array]] = {
    "unit": lambda p: jnp.log(p) - jnp.log1p(-p),
    "positive": jnp.log,
    "real": lambda p: p,
}
_FROM_STORED: dict[str, Callable[[jax.Array], jax.Array]] = {
    "unit": jax.nn.sigmoid,
    "positive": jnp.exp,
    "real": lambda p: p,
}


class Slot(NamedTuple):
    """How one field of ``<Model>Params`` is stored on a module."""

    field: str
    attr: str
    constraint: str
    learnable: bool


def plan(
    owner: str,
    model: str,
    learn: Sequence[str] | str,
    per_neuron: bool | Sequence[str],
) -> tuple[tuple[Slot, ...], frozenset[str]]:
    """Decide the stored name of every field and which fields are per neuron.

    Raises:
        ValueError: for an unknown field in ``learn`` or ``per_neuron``.
    """
    constraints = dict(SPECS[model].constraints)
    learn = (learn,) if isinstance(learn, str) else tuple(learn)
    if isinstance(per_neuron, bool):
        per = frozenset(learn) if per_neuron else frozenset()
    else:
        per = frozenset((per_neuron,) if isinstance(per_neuron, str) else per_neuron)
    for arg, names in (("learn", learn), ("per_neuron", per)):
        unknown = sorted(set(names) - set(constraints))
        if unknown:
            raise ValueError(
                f"{owner}: {arg} names unknown parameter(s) {unknown}; the parameters are "
                f"{list(constraints)}."
            )
    slots = tuple(
        Slot(f, f + _SUFFIX[c] if f in learn else f, c if f in learn else "real", f in learn)
        for f, c in constraints.items()
    )
    return slots, per


def initial_value(
    owner: str,
    slot: Slot,
    value: Any,
    *,
    num_features: int,
    per_neuron: bool,
    param_dtype: Any,
    key: jax.Array | None,
) -> jax.Array:
    """The stored (unconstrained when learnable) initial value of one parameter.

    ``value`` is a number, an array of shape ``()`` or ``(num_features,)``, or an
    initializer ``init(key, shape, dtype)`` (Flax's convention; it needs ``rngs``).

    Raises:
        ValueError: for a wrong shape or a value outside the parameter's valid range.
    """
    if callable(value):
        if key is None:
            raise ValueError(
                f"{owner}: {slot.field} is an initializer, which needs a random key; "
                "pass rngs=nnx.Rngs(0)."
            )
        value = value(key, (num_features,), param_dtype)
    value = jnp.asarray(value, param_dtype)
    if value.shape not in ((), (num_features,)):
        raise ValueError(
            f"{owner}: {slot.field} must be a scalar (shared) or have shape "
            f"({num_features},) (one per neuron), got shape {value.shape}."
        )
    if per_neuron:
        value = jnp.broadcast_to(value, (num_features,))
    if slot.learnable and is_concrete(value):
        v = np.asarray(value, np.float64)
        ok = {"unit": (v > 0) & (v < 1), "positive": v > 0, "real": np.isfinite(v)}
        if not ok[slot.constraint].all():
            need = {"unit": "in (0, 1)", "positive": "> 0", "real": "finite"}
            raise ValueError(
                f"{owner}: a learnable {slot.field} must be {need[slot.constraint]}, got "
                f"{value}; fix it instead (drop it from learn) or change its value."
            )
    return _TO_STORED[slot.constraint](value)


def build_params(model: str, slots: Sequence[Slot], stored: Sequence[jax.Array]) -> Any:
    """Map stored values to the functional ``<Model>Params``: the only logic of a wrapper."""
    values = {s.field: _FROM_STORED[s.constraint](v) for s, v in zip(slots, stored, strict=True)}
    return SPECS[model].params_cls(**values)


def check_features(owner: str, x: jax.Array, num_features: int, what: str) -> None:
    """Raise ``ValueError`` unless the last axis of ``x`` holds ``num_features``."""
    if jnp.ndim(x) < 1 or jnp.shape(x)[-1] != num_features:
        raise ValueError(
            f"{owner}: {what} must end in the feature axis of size {num_features}, got shape "
            f"{jnp.shape(x)}. If time or channels come last, move them (jnp.moveaxis)."
        )


def run_sequence(
    owner: str,
    cell: Any,
    inputs: Any,
    resting_carry: Callable[[tuple[int, ...]], Any],
    *,
    time_major: Any,
    return_carry: bool,
    initial_carry: Any,
    unroll: int | bool,
    checkpoint: bool | int,
) -> Any:
    """Scan ``cell.step_fn()`` over a sequence: the body of every NNX and Linen layer.

    Checks the layout, moves time to axis 0, builds the resting carry with
    ``resting_carry(step_input_shape)`` when none is given (casting its floating leaves
    to the input dtype; integer leaves such as ring-buffer positions keep theirs), runs
    :func:`jaxspike.unroll` and restores the layout.
    """
    if not isinstance(time_major, bool):
        raise TypeError(f"{owner}: time_major must be a bool, got {time_major!r}.")
    x = jnp.asarray(inputs)
    if x.ndim < 3:
        layout = "[T, B, ..., F]" if time_major else "[B, T, ..., F]"
        raise ValueError(
            f"{owner}: inputs must be a sequence {layout} with at least 3 axes, got shape "
            f"{x.shape}; add a batch axis with x[None] or use the cell for one step."
        )
    x = cell.prepare(x)
    xs = x if time_major else jnp.swapaxes(x, 0, 1)
    if initial_carry is None:
        initial_carry = jax.tree.map(
            lambda a: a.astype(xs.dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a,
            resting_carry(xs.shape[1:]),
        )
    final, ys = unroll_fn(cell.step_fn(), initial_carry, xs, unroll=unroll, checkpoint=checkpoint)[
        :2
    ]
    if not time_major:
        ys = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), ys)
    return (final, ys) if return_carry else ys


class RecurrentState(NamedTuple):
    """Carry of :class:`RecurrentCell`: the neuron state and the last output."""

    neuron: Any
    out: jax.Array
