r"""The one loop over time: :func:`unroll` scans a step over the leading axis.

Every simulation in jaxspike goes through :func:`unroll` (or its batch-major twin
:func:`unroll_batch_major`), which calls :func:`jax.lax.scan` on a function
``step(state, x_t) -> (state, y_t)``. For a neuron, bind the parameters and options
first: ``functools.partial(lif_step, params, reset="zero")``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar, overload

import jax
import jax.numpy as jnp
from jax import lax

from jaxspike._validate import is_concrete
from jaxspike.ops._eager import cached_unroll

__all__ = [
    "StepFn",
    "unroll",
    "unroll_batch_major",
]

S = TypeVar("S")
#: A scan body: ``step(carry, x_t) -> (carry, y_t)``.
StepFn = Callable[[Any, Any], tuple[Any, Any]]


def _time_length(fn: str, xs: Any, axis: int) -> int:
    leaves = jax.tree.leaves(xs)
    if not leaves:
        raise ValueError(f"{fn}: xs must contain at least one array.")
    lengths = set()
    for leaf in leaves:
        if jnp.ndim(leaf) <= axis:
            raise ValueError(
                f"{fn}: every input needs a time axis at position {axis}, got an array "
                f"of shape {jnp.shape(leaf)}."
            )
        lengths.add(jnp.shape(leaf)[axis])
    if len(lengths) != 1:
        raise ValueError(f"{fn}: inputs disagree on the number of time steps: {lengths}.")
    return lengths.pop()


@overload
def unroll(
    step: StepFn,
    state: S,
    xs: Any,
    *,
    return_states: Literal[False] = False,
    unroll: int | bool = 1,
    checkpoint: bool | int = False,
) -> tuple[S, Any]: ...


@overload
def unroll(
    step: StepFn,
    state: S,
    xs: Any,
    *,
    return_states: Literal[True],
    unroll: int | bool = 1,
    checkpoint: bool | int = False,
) -> tuple[S, Any, S]: ...


@overload
def unroll(
    step: StepFn,
    state: Any,
    xs: Any,
    *,
    return_states: bool,
    unroll: int | bool = 1,
    checkpoint: bool | int = False,
) -> tuple[Any, ...]: ...


def unroll(
    step: StepFn,
    state: S,
    xs: Any,
    *,
    return_states: bool = False,
    unroll: int | bool = 1,
    checkpoint: bool | int = False,
) -> tuple[S, Any] | tuple[S, Any, S]:
    r"""Run ``step`` over the leading (time) axis of ``xs`` with :func:`jax.lax.scan`.

    .. math:: (\text{state}_t, y_t) = \text{step}(\text{state}_{t-1}, x_t),
       \quad t = 0, \dots, T-1.

    Args:
        step: ``step(state, x_t) -> (state, y_t)``, e.g.
            ``functools.partial(lif_step, params)``.
        state: the initial state (any pytree).
        xs: inputs with time on axis 0, shape ``[T, ...]`` (any pytree of such arrays).
        return_states: also return the state after every step, stacked over time
            (e.g. the membrane trace ``states.v`` of shape ``[T, ...]``).
        unroll: passed to :func:`jax.lax.scan`.
        checkpoint: ``False`` stores the residuals of every step for the backward
            pass. ``True`` wraps the step in :func:`jax.checkpoint`, so only the carried
            state is kept per step and the rest is recomputed. An integer ``k > 1``
            checkpoints chunks of ``k`` steps: memory for the backward pass falls to
            about ``T/k + k`` states instead of ``T`` step residuals (``k ~ sqrt(T)``).

    Returns:
        ``(final_state, ys)`` with ``ys`` stacked over time (``[T, ...]``), or
        ``(final_state, ys, states)`` when ``return_states``.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> p = js.LIFParams(decay=0.5, v_th=1.0, v_reset=0.0)
        >>> final, s = js.unroll(functools.partial(js.lif_step, p),
        ...                      js.lif_init(p, ()), jnp.full((4,), 0.75))
        >>> s.tolist()
        [0.0, 1.0, 0.0, 1.0]
    """
    fn = "unroll"
    n_steps = _time_length(fn, xs, 0)
    if not isinstance(checkpoint, bool) and (not isinstance(checkpoint, int) or checkpoint < 1):
        raise ValueError(f"{fn}: checkpoint must be a bool or an int >= 1, got {checkpoint!r}.")
    if is_concrete((state, xs)) and n_steps:
        # Un-jitted call: check the step eagerly on the first input (concrete values,
        # so every validation runs), then scan through one jit per step signature
        # instead of compiling a new scan for every new step object.
        step(state, jax.tree.map(lambda a: a[0], xs))
        options = dict(return_states=return_states, unroll=unroll, checkpoint=checkpoint)
        return cached_unroll(_unroll_traced, step, state, xs, **options)
    return _unroll_traced(
        step, state, xs, return_states=return_states, unroll=unroll, checkpoint=checkpoint
    )


def _unroll_traced(
    step: StepFn,
    state: Any,
    xs: Any,
    *,
    return_states: bool,
    unroll: int | bool,
    checkpoint: bool | int,
) -> Any:
    fn = "unroll"
    n_steps = _time_length(fn, xs, 0)

    body: StepFn = step
    if return_states:

        def with_states(carry: Any, x: Any) -> tuple[Any, Any]:
            new, y = step(carry, x)
            return new, (y, new)

        body = with_states

    if isinstance(checkpoint, bool) or n_steps == 0:  # T = 0: nothing to chunk
        if checkpoint is True:
            body = jax.checkpoint(body)
        final, out = lax.scan(body, state, xs, unroll=unroll)
    else:
        final, out = _chunked_scan(body, state, xs, n_steps, int(checkpoint), unroll)
    if return_states:
        ys, states = out
        return final, ys, states
    return final, out


def _chunked_scan(
    body: StepFn, state: Any, xs: Any, n_steps: int, k: int, unroll: int | bool
) -> tuple[Any, Any]:
    """Scan chunks of ``k`` steps, each recomputed in the backward pass.

    Only the carry at each chunk boundary is stored; the inputs are read in place (a
    reshape when ``k`` divides ``T``, a dynamic slice otherwise), never copied.
    """
    n_chunks, rest = divmod(n_steps, k)

    def run(carry: Any, x_part: Any) -> tuple[Any, Any]:
        return lax.scan(body, carry, x_part, unroll=unroll)

    outs = []
    if n_chunks and rest == 0:
        head = jax.tree.map(lambda a: a.reshape((n_chunks, k, *a.shape[1:])), xs)
        state, out = lax.scan(jax.checkpoint(run), state, head)
        outs.append(out)
    elif n_chunks:

        @jax.checkpoint
        def sliced(carry: Any, begin: jax.Array) -> tuple[Any, Any]:
            part = jax.tree.map(lambda a: lax.dynamic_slice_in_dim(a, begin, k, 0), xs)
            return run(carry, part)

        state, out = lax.scan(sliced, state, jnp.arange(n_chunks) * k)
        outs.append(out)
    outs = [jax.tree.map(lambda a: a.reshape((n_chunks * k, *a.shape[2:])), o) for o in outs]
    if rest:
        tail = jax.tree.map(lambda a: a[n_chunks * k :], xs)
        state, out_tail = jax.checkpoint(run)(state, tail)
        outs.append(out_tail)
    if len(outs) == 1:
        return state, outs[0]
    return state, jax.tree.map(lambda a, b: jnp.concatenate([a, b], axis=0), *outs)


def unroll_batch_major(
    step: StepFn,
    state: S,
    xs: Any,
    **kwargs: Any,
) -> tuple[S, Any] | tuple[S, Any, S]:
    """:func:`unroll` for batch-major inputs ``[B, T, ...]``; outputs are ``[B, T, ...]``.

    The state keeps its own layout (it has no time axis). Keyword arguments are those
    of :func:`unroll`.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> p = js.IFParams(v_th=1.0)
        >>> _, s = js.unroll_batch_major(functools.partial(js.if_step, p),
        ...                              js.if_init(p, (2,)), jnp.full((2, 3), 0.5))
        >>> s.tolist()
        [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """
    _time_length("unroll_batch_major", xs, 1)
    swap = lambda a: jnp.swapaxes(a, 0, 1)
    result = unroll(step, state, jax.tree.map(swap, xs), **kwargs)
    final, ys = result[0], jax.tree.map(swap, result[1])
    if len(result) == 3:
        # A state leaf without a batch axis (a scalar, e.g. a step counter) is
        # recorded as [T]; it stays time-major.
        keep = lambda a: swap(a) if a.ndim >= 2 else a
        return final, ys, jax.tree.map(keep, result[2])
    return final, ys
