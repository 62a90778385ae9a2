r"""How the NNX and Linen wrappers store neuron parameters (no Flax import).

The wrappers read every family from the one registry, :data:`jaxspike.NEURONS`
(``SPECS`` here is the same dictionary): its declaration
(:mod:`jaxspike.neurons.declare`) gives the fields, their defaults, their valid ranges
and the time constants that may replace decay factors. A learnable parameter is stored
unconstrained and mapped to its valid range when the wrapper builds the functional
``<Model>Params``; nothing is clipped in the forward pass within the representable
range:

* ``"unit"`` (decay factors): stored as the logit :math:`p` (``_logit``), used as
  :math:`\sigma(p)`, strictly inside (0, 1);
* ``"positive"``/``"nonneg"`` (time constants, leaks, rates): stored as :math:`\log`
  (``_log``), used as :math:`e^{p}`;
* a decay given as a time constant (``tau_mem=`` with ``dt=``): fixed, used as
  :math:`e^{-\Delta t/\tau}`; learnable (``learn="tau_mem"``), stored as
  :math:`\log\tau` (``tau_mem_log``) and used as :math:`e^{-\Delta t\, e^{-p}}`;
* a time constant integrated with Euler (``CTLIF(method="euler")``), learnable: stored
  as :math:`p` (``_excess``) with :math:`\tau = \Delta t + \operatorname{softplus}(p)`,
  so :math:`\tau > \Delta t` by construction;
* ``"real"`` (thresholds, resets, adaptation strength): stored and used as is.

Log-parameters are clipped to :math:`[-40, 40]` before the exponential, so a stored
value anywhere in float32 gives a finite value and a finite (possibly zero) gradient.
Fixed parameters are stored as they are used, under their own name, and checked against
the declared range with the same message as ``<Model>Params.create``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike._validate import is_concrete
from jaxspike.neurons.declare import check_value
from jaxspike.neurons.registry import NEURONS
from jaxspike.neurons.reset import step_with_trace
from jaxspike.neurons.spike import ForwardMode
from jaxspike.neurons.surrogates import get_surrogate
from jaxspike.ops.scan import unroll as unroll_fn

#: The registry, under the name the wrappers used (the same dictionary as ``NEURONS``).
SPECS = NEURONS

_LOG_CLIP = 40.0
_SUFFIX = {
    "unit": "_logit",
    "positive": "_log",
    "nonneg": "_log",
    "real": "",
    "tau": "_log",
    "tau_euler": "_excess",
    "tau_fixed": "",
}


def _safe_exp(p: jax.Array) -> jax.Array:
    return jnp.exp(jnp.clip(p, -_LOG_CLIP, _LOG_CLIP))


def _inv_softplus(y: jax.Array) -> jax.Array:
    return y + jnp.log(-jnp.expm1(-y))


class Slot(NamedTuple):
    """How one field of ``<Model>Params`` is stored on a module.

    Attributes:
        field: the ``<Model>Params`` field.
        attr: the stored name (``decay_logit``, ``tau_mem_log``, ``v_th``, ...).
        constraint: how the stored value maps to the field (see the module docstring).
        learnable: trained or fixed.
        source: the argument the value comes from (the field, or a time constant).
        dt: step length of a time-constant slot.
    """

    field: str
    attr: str
    constraint: str
    learnable: bool
    source: str = ""
    dt: float = 1.0


def plan(
    owner: str,
    model: str,
    learn: Sequence[str] | str,
    per_neuron: bool | Sequence[str],
    *,
    taus: Sequence[str] = (),
    dt: float = 1.0,
    euler: bool = False,
) -> tuple[tuple[Slot, ...], frozenset[str]]:
    r"""Decide the stored name of every field and which fields are per neuron.

    Args:
        owner: the wrapper's name, for messages.
        model: registry key.
        learn: parameters (or given time constants) to train.
        per_neuron: ``True`` (every learnable one), or names.
        taus: time constants given instead of their decay fields.
        dt: step length of those time constants.
        euler: the family integrates its ``positive`` time constants with Euler, so a
            learnable one keeps :math:`\tau > \Delta t` by construction.

    Returns:
        The slots (in field order) and the per-neuron fields.

    Raises:
        ValueError: for an unknown name in ``learn`` or ``per_neuron``.
    """
    decl = NEURONS[model]
    kinds = dict(decl.constraints)
    tau_of = {field: tau for tau, field in decl.taus if tau in taus}
    names = {tau_of.get(f, f): f for f in kinds}  # argument name -> field
    learn = (learn,) if isinstance(learn, str) else tuple(learn)
    if isinstance(per_neuron, bool):
        per_names = frozenset(learn) if per_neuron else frozenset()
    else:
        per_names = frozenset((per_neuron,) if isinstance(per_neuron, str) else per_neuron)
    for arg, given in (("learn", learn), ("per_neuron", per_names)):
        unknown = sorted(set(given) - set(names))
        if unknown:
            hint = ""
            taus_known = [t for t, _ in decl.taus]
            if set(unknown) & set(taus_known):
                hint = " (to learn a time constant, give it: e.g. tau_mem=10.0, dt=1.0)"
            raise ValueError(
                f"{owner}: {arg} names unknown parameter(s) {unknown}; the parameters are "
                f"{list(names)}{hint}."
            )
    slots = []
    for name, field in names.items():
        trained = name in learn
        if name != field:
            kind = "tau" if trained else "tau_fixed"
        elif trained:
            kind = "tau_euler" if (euler and kinds[field] == "positive") else kinds[field]
        else:
            kind = "real"
        slots.append(Slot(field, name + _SUFFIX[kind], kind, trained, name, float(dt)))
    per = frozenset(names[n] for n in per_names)
    return tuple(slots), per


def _range_of(slot: Slot, kinds: Mapping[str, str]) -> str:
    if slot.constraint in ("tau", "tau_fixed"):
        return "positive"
    return kinds[slot.field]


def initial_value(
    owner: str,
    slot: Slot,
    value: Any,
    *,
    num_features: int,
    per_neuron: bool,
    param_dtype: Any,
    key: jax.Array | None,
    kinds: Mapping[str, str] | None = None,
) -> jax.Array:
    """The stored (unconstrained when learnable) initial value of one parameter.

    ``value`` is a number, an array of shape ``()`` or ``(num_features,)``, or an
    initializer ``init(key, shape, dtype)`` (Flax's convention; it needs ``rngs``).
    A concrete value is checked against the declared range (``kinds``), fixed or not.

    Raises:
        ValueError: for a wrong shape or a value outside the parameter's valid range.
    """
    name = slot.source or slot.field
    if callable(value):
        if key is None:
            raise ValueError(
                f"{owner}: {name} is an initializer, which needs a random key; "
                "pass rngs=nnx.Rngs(0)."
            )
        value = value(key, (num_features,), param_dtype)
    elif kinds is not None:
        check_value(owner, name, value, _range_of(slot, kinds))
    value = jnp.asarray(value, param_dtype)
    if value.shape not in ((), (num_features,)):
        raise ValueError(
            f"{owner}: {name} must be a scalar (shared) or have shape "
            f"({num_features},) (one per neuron), got shape {value.shape}."
        )
    if per_neuron:
        value = jnp.broadcast_to(value, (num_features,))
    if slot.learnable and is_concrete(value):
        v = np.asarray(value, np.float64)
        ok = {
            "unit": (v > 0) & (v < 1),
            "positive": v > 0,
            "nonneg": v > 0,
            "tau": v > 0,
            "tau_euler": v > slot.dt,
            "real": np.isfinite(v),
        }
        if not ok[slot.constraint].all():
            need = {
                "unit": "in (0, 1) (its logit is stored)",
                "positive": "> 0 (its log is stored)",
                "nonneg": "> 0 (its log is stored)",
                "tau": "> 0 (its log is stored)",
                "tau_euler": f"> dt = {slot.dt} (Euler integration needs tau > dt)",
                "real": "finite",
            }
            hint = "fix it instead (drop it from learn) or change its value"
            if slot.constraint == "unit":
                hint = (
                    "a decay of exactly 0 or 1 cannot be learned through a logit; use a value "
                    "such as 0.999, or give the time constant (tau_mem=..., learn='tau_mem')"
                )
            raise ValueError(
                f"{owner}: a learnable {name} must be {need[slot.constraint]}, got {value}; {hint}."
            )
    return to_stored(slot, value)


def to_stored(slot: Slot, value: jax.Array) -> jax.Array:
    """The stored form of a used value (the inverse of :func:`from_stored`)."""
    c = slot.constraint
    if c == "unit":
        return jnp.log(value) - jnp.log1p(-value)
    if c in ("positive", "nonneg", "tau"):
        return jnp.log(value)
    if c == "tau_euler":
        return _inv_softplus(value - slot.dt)
    return value


def from_stored(slot: Slot, p: jax.Array) -> jax.Array:
    """The value a field takes from its stored form (see the module docstring)."""
    c = slot.constraint
    if c == "unit":
        return jax.nn.sigmoid(p)
    if c in ("positive", "nonneg"):
        return _safe_exp(p)
    if c == "tau":
        return jnp.exp(-slot.dt * _safe_exp(-p))
    if c == "tau_fixed":
        return jnp.exp(-jnp.asarray(slot.dt, p.dtype) / p)
    if c == "tau_euler":
        return slot.dt + jax.nn.softplus(p)
    return p


def build_params(model: str, slots: Sequence[Slot], stored: Sequence[jax.Array]) -> Any:
    """Map stored values to the functional ``<Model>Params``: the only logic of a wrapper."""
    values = {s.field: from_stored(s, v) for s, v in zip(slots, stored, strict=True)}
    return NEURONS[model].params_cls(**values)


def real_input(owner: str, x: Any, dtype: Any, what: str = "inputs") -> jax.Array:
    """``x`` as an array (cast to ``dtype`` when set); complex input raises ``TypeError``.

    A cast to a real dtype would silently drop the imaginary part.
    """
    if jnp.iscomplexobj(x):
        raise TypeError(
            f"{owner}: {what} have the complex dtype {jnp.result_type(x)}; spiking layers take "
            "real inputs: pass jnp.real(x) or jnp.abs(x), or stack the real and imaginary "
            "parts as features."
        )
    return jnp.asarray(x) if dtype is None else jnp.asarray(x, dtype)


def check_features(owner: str, x: jax.Array, num_features: int, what: str) -> None:
    """Raise ``ValueError`` unless the last axis of ``x`` holds ``num_features``."""
    if jnp.ndim(x) < 1 or jnp.shape(x)[-1] != num_features:
        raise ValueError(
            f"{owner}: {what} must end in the feature axis of size {num_features}, got shape "
            f"{jnp.shape(x)}. If time or channels come last, move them (jnp.moveaxis)."
        )


def layout(owner: str, inputs: Any, time_major: bool) -> jax.Array:
    """``inputs`` as an array after checking ``time_major`` and the sequence rank (>= 3)."""
    if not isinstance(time_major, bool):
        raise TypeError(f"{owner}: time_major must be a bool, got {time_major!r}.")
    x = jnp.asarray(inputs)
    if x.ndim < 3:
        expected = "[T, B, ..., F]" if time_major else "[B, T, ..., F]"
        raise ValueError(
            f"{owner}: inputs must be a sequence {expected} with at least 3 axes, got shape "
            f"{x.shape}; add a batch axis with x[None] or use the cell for one step."
        )
    return x


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
    seq_lengths: Any = None,
    reverse: bool = False,
    keep_order: bool = False,
    return_trace: bool = False,
    forward_mode: bool = False,
) -> Any:
    """Scan ``cell.step_fn()`` over a sequence: the body of every NNX and Linen layer.

    Checks the layout, moves time to axis 0, builds the resting carry with
    ``resting_carry(step_input_shape)`` when none is given (casting its floating leaves
    to the input dtype; integer leaves such as ring-buffer positions keep theirs), runs
    :func:`jaxspike.unroll` and restores the layout.

    ``seq_lengths`` (``[B]`` ints) freezes the state of sample ``b`` after its first
    ``seq_lengths[b]`` steps and zeroes its outputs there; ``reverse`` runs each sequence
    backwards (its valid part only, padding stays at the end, as
    :func:`flax.nnx.nn.recurrent.flip_sequences`); ``keep_order`` flips the outputs back.
    ``return_trace`` adds a :class:`Trace` of every step; ``forward_mode`` wraps the
    cell's surrogate in :class:`jaxspike.ForwardMode`.

    Returns:
        ``ys``, ``(final, ys)`` with ``return_carry``; with ``return_trace`` the trace is
        appended: ``(ys, trace)`` or ``(final, ys, trace)``.
    """
    for name, flag in (
        ("time_major", time_major),
        ("reverse", reverse),
        ("keep_order", keep_order),
        ("return_trace", return_trace),
        ("forward_mode", forward_mode),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"{owner}: {name} must be a bool, got {flag!r}.")
    x = cell.prepare(layout(owner, inputs, time_major))
    xs = x if time_major else jnp.swapaxes(x, 0, 1)
    lengths = _check_lengths(owner, seq_lengths, xs.shape[:2])
    if reverse:
        xs = flip_time(xs, lengths)
    if initial_carry is None:
        initial_carry = jax.tree.map(
            lambda a: a.astype(xs.dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a,
            resting_carry(xs.shape[1:]),
        )
    step = cell_step(owner, cell, forward_mode=forward_mode, pre_reset=return_trace)
    body = _masked_body(step, lengths, return_trace)
    scan_in = xs if lengths is None else (xs, jnp.arange(xs.shape[0]))
    final, out = unroll_fn(body, initial_carry, scan_in, unroll=unroll, checkpoint=checkpoint)[:2]
    ys, trace = (out[0], Trace(out[2], out[1])) if return_trace else (out, None)
    if reverse and keep_order:
        ys, trace = jax.tree.map(lambda a: flip_time(a, lengths), (ys, trace))
    if not time_major:
        ys, trace = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), (ys, trace))
    result = (final, ys) if return_carry else (ys,)
    if return_trace:
        result = (*result, trace)
    return result if len(result) > 1 else result[0]


class Trace(NamedTuple):
    """The per-step record of one layer (``return_trace=True``), in the outputs' layout.

    Attributes:
        state: the carry after every step (after the reset), stacked over time: the
            neuron's ``<Model>State`` (``state.v`` the membrane, ``state.i`` the synaptic
            current of :class:`~jaxspike.CubaLIFState`, ``state.a`` the adaptation of
            :class:`~jaxspike.ALIFState`, ...), or :class:`RecurrentState`.
        v_pre: the membrane before the reset at every step (for a model without a
            reset, such as the leaky integrator, its output, the membrane).
    """

    state: Any
    v_pre: Any


def _check_lengths(owner: str, seq_lengths: Any, time_batch: tuple[int, ...]) -> Any:
    if seq_lengths is None:
        return None
    lengths = jnp.asarray(seq_lengths)
    if not jnp.issubdtype(lengths.dtype, jnp.integer) or lengths.shape != time_batch[1:]:
        raise ValueError(
            f"{owner}: seq_lengths must be integers of shape ({time_batch[1]},) (one length "
            f"per sample), got {lengths.dtype} of shape {lengths.shape}."
        )
    if is_concrete(lengths):
        n = np.asarray(lengths)
        if n.size and (n.min() < 0 or n.max() > time_batch[0]):
            raise ValueError(
                f"{owner}: seq_lengths must lie in [0, {time_batch[0]}] (the number of "
                f"steps), got {n.tolist()}."
            )
    return lengths


def flip_time(a: jax.Array, lengths: Any) -> jax.Array:
    """Reverse ``a[T, B, ...]`` in time; with ``lengths`` only each sample's first steps.

    The padding stays at the end (the rule of :func:`flax.nnx.nn.recurrent.flip_sequences`).
    """
    if lengths is None:
        return jnp.flip(a, 0)
    t = a.shape[0]
    idx = (jnp.arange(t - 1, -1, -1)[:, None] + lengths[None, :]) % t
    idx = idx.reshape(idx.shape + (1,) * (a.ndim - 2))
    return jnp.take_along_axis(a, jnp.broadcast_to(idx, a.shape), axis=0)


def _masked_body(step: Callable[..., Any], lengths: Any, trace: bool) -> Callable[..., Any]:
    """The scan body: the step, frozen past each sample's length, recording the trace."""

    def body(carry: Any, inp: Any) -> tuple[Any, Any]:
        x, t = inp if lengths is not None else (inp, None)
        new, out = step(carry, x)
        y, pre = out if trace else (out, None)
        if lengths is not None:
            valid = t < lengths

            def keep(n: jax.Array, o: Any = None) -> jax.Array:
                mask = valid.reshape(valid.shape + (1,) * (jnp.ndim(n) - 1))
                return jnp.where(mask, n, jnp.zeros_like(n) if o is None else o)

            new = jax.tree.map(keep, new, carry)
            y, pre = jax.tree.map(keep, (y, pre))
        return new, ((y, pre, new) if trace else y)

    return body


def cell_step(
    owner: str, cell: Any, *, forward_mode: bool = False, pre_reset: bool = False
) -> Callable[..., Any]:
    """``cell.step_fn()``, switched to forward mode and/or returning the pre-reset membrane.

    A cell whose ``step_fn`` takes the keyword ``forward_mode`` (a wrapper such as
    :class:`RecurrentCell`) is asked directly; otherwise its step must be
    ``functools.partial(<model>_step, params, **options)`` of a jaxspike neuron for
    forward mode. With ``pre_reset`` the step returns ``(carry, (y, v_pre))``, read with
    :func:`jaxspike.neurons.step_with_trace` (the output itself for a model without a
    reset, such as the leaky integrator).

    Raises:
        TypeError: ``forward_mode=True`` for a cell whose step is not a jaxspike neuron step.
    """
    fn = cell.step_fn
    if "forward_mode" in inspect.signature(fn).parameters:
        step = fn(forward_mode=forward_mode)
    else:
        step = adapt_step(owner, fn(), forward_mode=forward_mode)
    if not pre_reset:
        return step
    traced = step_with_trace(step)

    def with_pre(carry: Any, x: Any) -> tuple[Any, Any]:
        carry, trace = traced(carry, x)
        return carry, (trace.spikes, trace.v_pre)

    return with_pre


def adapt_step(owner: str, step: Callable[..., Any], *, forward_mode: bool) -> Callable[..., Any]:
    """Wrap the surrogate of a neuron step in :class:`jaxspike.ForwardMode`."""
    if not forward_mode:
        return step
    core = {spec.step for spec in SPECS.values()}
    if not (isinstance(step, functools.partial) and step.func in core):
        raise TypeError(
            f"{owner}: forward_mode=True needs a cell whose step is a jaxspike neuron "
            f"step (functools.partial(<model>_step, params, **options)), got {step!r}; "
            "give the cell a jaxspike.ForwardMode(...) surrogate instead."
        )
    signature = inspect.signature(step.func).parameters
    if "surrogate" not in signature:
        return step  # no spike (the leaky integrator): nothing to switch
    kw = dict(step.keywords)
    surrogate = get_surrogate(kw.get("surrogate", signature["surrogate"].default))
    if not isinstance(surrogate, ForwardMode):
        kw["surrogate"] = ForwardMode(surrogate)
    return functools.partial(step.func, *step.args, **kw)


def recurrent_step(
    inner: Callable[..., Any], w: jax.Array, self_connections: bool
) -> Callable[..., Any]:
    """The step of a recurrent cell: ``inner`` fed with ``x + out @ W``."""
    if not self_connections:
        w = w * (1 - jnp.eye(w.shape[0], dtype=w.dtype))

    def step(carry: RecurrentState, x: jax.Array) -> tuple[RecurrentState, Any]:
        neuron, out = inner(carry.neuron, x + carry.out @ w.astype(x.dtype))
        return RecurrentState(neuron, out), out

    return step


class RecurrentState(NamedTuple):
    """Carry of :class:`RecurrentCell`: the neuron state and the last output."""

    neuron: Any
    out: jax.Array
