r"""Spike-and-reset: the one rule shared by every spiking neuron.

Every spiking step in jaxspike runs the same phases in the same order. The family
supplies only the first one (its *integrate* phase, written in its own file); the rest is
:func:`spike_and_reset`, with the same keyword options on every family's step:

1. **pending reset** (``reset_at="next_step"`` only, snnTorch's ``reset_delay=True``):
   with ``reset="zero"`` the stored membrane of a neuron that fired at :math:`t-1` is set
   to :math:`v_{reset}` *before* integrating (snnTorch ``Leaky._base_zero``);
2. **integrate**: the pre-reset membrane :math:`\tilde v_t` from the stored membrane
   :math:`v_{t-1}` and the input :math:`x_t` (model-specific). With
   ``reset_at="next_step"`` and ``reset="subtract"`` the threshold is then removed once
   for a spike at :math:`t-1`, undecayed (snnTorch ``Leaky._base_sub``):
   :math:`\tilde v_t = \beta v_{t-1} + x_t - v_{th} s_{t-1}` for the LIF;
3. **floor** (``v_min``, sinabs' ``min_v_mem``): :math:`\tilde v_t \leftarrow
   \max(\tilde v_t, v_{min})`;
4. **refractory** (``refractory = n > 0``): a neuron that fired in one of the last
   :math:`n` steps keeps its previous membrane and cannot fire;
5. **spike**: :math:`s_t = H(\tilde v_t - v_{th})` with ``threshold=">="`` (:math:`H(0)=1`,
   the default) or :math:`s_t = 1[\tilde v_t > v_{th}]` with ``threshold=">"`` (NIR,
   snnTorch, Norse, Spyx). With ``multi_spike=True`` (sinabs' ``MultiSpike``) the spike
   is the count :math:`\lfloor \tilde v_t / v_{th} \rfloor` where the neuron fires and
   0 elsewhere; its surrogate gradient is that of the single spike
   :math:`H(\tilde v_t - v_{th})` (the count is piecewise constant and adds none);
6. **reset** (``reset_at="same_step"``, the default), with :math:`r_t = \mathrm{sg}(s_t)`
   when ``detach_reset`` (the default) and :math:`r_t = s_t` otherwise:

   * ``"subtract"``: :math:`v_t = \tilde v_t - r_t\,v_{th}` (``count`` thresholds with
     ``multi_spike``);
   * ``"zero"``: :math:`v_t = \tilde v_t + 1[s_t > 0]\,(v_{reset} - \tilde v_t)` (to
     ``v_reset``, 0 by default);
   * ``"none"``: :math:`v_t = \tilde v_t`;

   then the floor again: :math:`v_t \leftarrow \max(v_t, v_{min})`. With
   ``reset_at="next_step"`` the stored membrane is the pre-reset :math:`\tilde v_t` and
   the reset happens in phases 1–2 of the next step.

A spike therefore leaves the neuron in the same step by default (no one-step lag per
layer). Every spiking state carries ``ref`` (the refractory counter) and ``s`` (the
spikes of the previous step, read by ``reset_at="next_step"``).

**The membrane before the reset** is always available through :func:`step_with_trace`:
``step_with_trace(step)`` turns any step (a family's ``*_step``, a
``functools.partial`` of one, a layer cell's ``step_fn()``, or a user-defined step that
calls :func:`spike_and_reset`) into one returning ``(state, Trace(spikes, v_pre, state))``,
where ``v_pre`` is :math:`\tilde v_t` (after the floor and the refractory hold) and
``state`` the new state (post-reset membrane, synaptic current, adaptation, ...), so a
scan records every per-step quantity. The step itself always returns
``(state, spikes)``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from jaxspike._validate import check_choice
from jaxspike.neurons.spike import spike
from jaxspike.neurons.surrogates import Surrogate, get_surrogate

Reset = Literal["subtract", "zero", "none"]
Threshold = Literal[">=", ">"]
ResetAt = Literal["same_step", "next_step"]
RESETS: tuple[str, ...] = ("subtract", "zero", "none")
THRESHOLDS: tuple[str, ...] = (">=", ">")
RESET_AT: tuple[str, ...] = ("same_step", "next_step")


class Trace(NamedTuple):
    """What :func:`step_with_trace` returns per step besides the state.

    Attributes:
        spikes: the step's output (the spikes; the membrane for a non-spiking model).
        v_pre: membrane before the reset (after integration, floor and refractory hold).
        state: the new state (post-reset membrane and every other state variable).
    """

    spikes: jax.Array
    v_pre: jax.Array
    state: Any


class SpikeOptions(NamedTuple):
    """The validated keyword options of the rule (every spiking step takes them)."""

    reset: str
    detach_reset: bool
    surrogate: Surrogate
    threshold: str
    multi_spike: bool
    v_min: float | None
    reset_at: str
    refractory: int


def check_options(
    fn: str,
    reset: str,
    surrogate: Surrogate | str,
    *,
    detach_reset: bool = True,
    threshold: str = ">=",
    multi_spike: bool = False,
    v_min: float | None = None,
    reset_at: str = "same_step",
    refractory: int = 0,
) -> SpikeOptions:
    """Validate the shared static options and resolve the surrogate.

    Raises:
        ValueError: for an unknown ``reset``, ``threshold`` or ``reset_at``, a negative
            or non-integer ``refractory`` or a NaN ``v_min``.
        TypeError: for a non-bool ``multi_spike``/``detach_reset`` or a bad surrogate.
    """
    check_choice(fn, "reset", reset, RESETS)
    check_choice(fn, "threshold", threshold, THRESHOLDS)
    check_choice(fn, "reset_at", reset_at, RESET_AT)
    for name, flag in (("multi_spike", multi_spike), ("detach_reset", detach_reset)):
        if not isinstance(flag, bool):
            raise TypeError(f"{fn}: {name} must be a bool, got {flag!r}.")
    if isinstance(refractory, bool) or not isinstance(refractory, int) or refractory < 0:
        raise ValueError(f"{fn}: refractory must be an int >= 0 (steps), got {refractory!r}.")
    if v_min is not None and (
        isinstance(v_min, bool) or not isinstance(v_min, (int, float)) or v_min != v_min
    ):
        raise ValueError(f"{fn}: v_min must be a number or None, got {v_min!r}.")
    try:
        sur = get_surrogate(surrogate)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{fn}: {err}") from None
    return SpikeOptions(
        reset, detach_reset, sur, threshold, multi_spike, v_min, reset_at, refractory
    )


def spike_count(
    v: jax.Array,
    v_th: jax.Array,
    surrogate: Surrogate,
    *,
    threshold: Threshold = ">=",
    multi_spike: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """Spikes of the pre-reset membrane ``v``: ``(indicator, output)``.

    ``indicator`` is 1 where the neuron fires (``v >= v_th``, or ``v > v_th`` with
    ``threshold=">"``) with the surrogate gradient of :func:`jaxspike.spike`; ``output``
    equals it, or with ``multi_spike`` the count ``floor(v / v_th)`` where it fires, with
    the same gradient.
    """
    s = spike(v - v_th, surrogate)
    if threshold == ">":
        s = s - lax.stop_gradient(s - (v > v_th).astype(s.dtype))
    if not multi_spike:
        return s, s
    count = jnp.where(s > 0, jnp.floor(v / v_th), 0.0).astype(s.dtype)
    return s, s + lax.stop_gradient(count - s)


def fire(
    v: jax.Array,
    v_th: jax.Array,
    v_reset: jax.Array,
    *,
    reset: Reset,
    surrogate: Surrogate,
    detach_reset: bool,
    subtract: jax.Array | None = None,
    active: jax.Array | None = None,
    threshold: Threshold = ">=",
    multi_spike: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """Spike on the pre-reset membrane ``v`` and apply the reset in the same step.

    Args:
        v: pre-reset membrane.
        v_th: threshold (same shape as ``v``).
        v_reset: value for ``reset="zero"``.
        reset: ``"subtract"``, ``"zero"`` or ``"none"``.
        surrogate: surrogate gradient of the spike.
        detach_reset: stop the gradient through the reset term.
        subtract: amount removed per spike by ``"subtract"`` (default ``v_th``).
        active: optional mask (1 where the neuron may fire, 0 while refractory).
        threshold: ``">="`` or ``">"`` (strict).
        multi_spike: emit ``floor(v / v_th)`` spikes (see the module docstring).

    Returns:
        ``(v_post, spikes)``.
    """
    ind, s = spike_count(v, v_th, surrogate, threshold=threshold, multi_spike=multi_spike)
    if active is not None:
        ind, s = ind * active, s * active
    v, _ = _apply_reset(
        v, ind, s, v_th if subtract is None else subtract, v_reset, reset, detach_reset
    )
    return v, s


def _apply_reset(
    v: jax.Array,
    ind: jax.Array,
    s: jax.Array,
    amount: jax.Array,
    v_reset: jax.Array,
    reset: str,
    detach_reset: bool,
) -> tuple[jax.Array, jax.Array]:
    """Phase 6: ``(v_post, reset signal)`` for spike indicator ``ind`` and output ``s``."""
    r_ind = lax.stop_gradient(ind) if detach_reset else ind
    if reset == "subtract":
        r = lax.stop_gradient(s) if detach_reset else s
        return v - r * amount, r_ind
    if reset == "zero":
        return v + r_ind * (v_reset - v), r_ind
    return v, jnp.zeros_like(v)


def refractory_gate(
    ref: jax.Array, v_new: jax.Array, v_old: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Hold the membrane of refractory neurons.

    Returns the integrated membrane where ``ref <= 0`` and the old one elsewhere, and
    the mask ``active = 1[ref <= 0]`` to pass to :func:`fire`.
    """
    active = (ref <= 0).astype(v_new.dtype)
    return jnp.where(ref <= 0, v_new, v_old), active


def refractory_count(ref: jax.Array, s: jax.Array, refractory: int) -> jax.Array:
    """Next refractory counter: ``refractory`` after a spike, else one less (floor 0)."""
    fired = lax.stop_gradient(s) > 0
    return jnp.where(fired, jnp.asarray(refractory, ref.dtype), jnp.maximum(ref - 1, 0))


class Fired(NamedTuple):
    """Result of :func:`spike_and_reset`.

    Attributes:
        v: membrane to store (post-reset; pre-reset with ``reset_at="next_step"``).
        spikes: the output spikes (counts with ``multi_spike``).
        ref: next refractory counter.
        v_pre: membrane before the reset.
        reset_signal: the reset applied in this step (``sg`` of the spike indicator when
            ``detach_reset``), for families whose other variables jump on a reset
            (Izhikevich's ``u += d``): the spike of this step with ``"same_step"``, of
            the previous step with ``"next_step"``.
    """

    v: jax.Array
    spikes: jax.Array
    ref: jax.Array
    v_pre: jax.Array
    reset_signal: jax.Array


def spike_and_reset(
    integrate: Callable[[jax.Array], jax.Array],
    v: jax.Array,
    ref: jax.Array,
    s_prev: jax.Array,
    v_th: jax.Array,
    v_reset: jax.Array,
    options: SpikeOptions,
    *,
    subtract: jax.Array | None = None,
) -> Fired:
    """Run phases 1–6 of the module docstring around a family's ``integrate``.

    Args:
        integrate: the family's integrate phase, ``v_{t-1} -> v~_t`` (input bound).
        v: stored membrane of the previous step.
        ref: refractory counter (``state.ref``).
        s_prev: spikes of the previous step (``state.s``).
        v_th: threshold this step (same shape as ``v``).
        v_reset: value of ``reset="zero"``.
        options: from :func:`check_options`.
        subtract: amount removed per spike by ``"subtract"`` (default ``v_th``).

    Returns:
        :class:`Fired`; the pre-reset membrane is also handed to an active
        :func:`step_with_trace`.
    """
    o = options
    amount = v_th if subtract is None else subtract
    zero = jnp.zeros_like(v)
    applied = zero
    if o.reset_at == "next_step" and o.reset != "none":
        prev = lax.stop_gradient(s_prev) if o.detach_reset else s_prev
        if o.reset == "zero":
            applied = (lax.stop_gradient(prev) > 0).astype(v.dtype) if o.multi_spike else prev
            v = v + applied * (v_reset - v)
            v_new = integrate(v)
        else:
            applied = prev
            v_new = integrate(v) - prev * amount
            v = v - prev * amount  # what a refractory neuron holds
    else:
        v_new = integrate(v)
    if o.v_min is not None:
        v_new = jnp.maximum(v_new, jnp.asarray(o.v_min, v_new.dtype))
    active = None
    if o.refractory:
        v_new, active = refractory_gate(ref, v_new, v)
    v_pre = v_new
    ind, s = spike_count(
        v_new,
        v_th,
        o.surrogate,
        threshold=o.threshold,  # type: ignore[arg-type]
        multi_spike=o.multi_spike,
    )
    if active is not None:
        ind, s = ind * active, s * active
    if o.reset_at == "same_step":
        v_post, applied = _apply_reset(v_new, ind, s, amount, v_reset, o.reset, o.detach_reset)
        if o.v_min is not None:
            v_post = jnp.maximum(v_post, jnp.asarray(o.v_min, v_post.dtype))
    else:
        v_post = v_new
    new_ref = refractory_count(ref, s, o.refractory) if o.refractory else ref
    _record(v_pre)
    return Fired(v_post, s, new_ref, v_pre, applied)


# ------------------------------------------------------------------ step_with_trace

_RECORDER = threading.local()


def _record(v_pre: jax.Array) -> None:
    stack = getattr(_RECORDER, "stack", None)
    if stack:
        stack[-1].append(v_pre)


@contextlib.contextmanager
def _recording() -> Iterator[list[jax.Array]]:
    stack = getattr(_RECORDER, "stack", None)
    if stack is None:
        stack = _RECORDER.stack = []
    found: list[jax.Array] = []
    stack.append(found)
    try:
        yield found
    finally:
        stack.pop()


def step_with_trace(step: Callable[..., tuple[Any, Any]]) -> Callable[..., tuple[Any, Trace]]:
    """The same step, returning ``(state, Trace(spikes, v_pre, state))``.

    ``step`` is any step of the core (``lif_step``, ``functools.partial(lif_step, p)``,
    a Flax cell's ``step_fn()``, a user-defined step calling :func:`spike_and_reset`).
    ``v_pre`` is the membrane before the reset of the (last) spiking neuron in the step;
    a non-spiking step (:func:`jaxspike.li_step`) reports its output. The step's own
    return value never changes; this is the one way to read the pre-reset membrane.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> p = js.LIFParams(decay=0.5, v_th=1.0)
        >>> step = step_with_trace(functools.partial(js.lif_step, p))
        >>> state, tr = step(js.lif_init(p, ()), jnp.asarray(1.5))
        >>> float(tr.spikes), float(tr.v_pre), float(tr.state.v)
        (1.0, 1.5, 0.5)
    """

    @functools.wraps(step)
    def traced(*args: Any, **kwargs: Any) -> tuple[Any, Trace]:
        with _recording() as found:
            state, out = step(*args, **kwargs)
        v_pre = found[-1] if found else out
        return state, Trace(out, v_pre, state)

    return traced


def check_state(fn: str, state: Any, state_cls: type, init: str) -> None:
    """Raise ``TypeError`` unless ``state`` is a ``state_cls`` (the carry of ``fn``)."""
    if not isinstance(state, state_cls):
        got = type(state).__name__
        raise TypeError(
            f"{fn}: state must be a {state_cls.__name__} (build it with {init}), got {got}"
            + (f" {tuple(state._fields)}" if hasattr(state, "_fields") else "")
            + "."
        )
