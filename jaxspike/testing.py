r"""Contract checks for your own surrogates and neuron steps.

jaxspike's test suite runs every built-in surrogate and neuron through these checks;
run them on your own to know they behave like the built-in ones.

* :func:`check_surrogate`: the spike's surrogate gradient, the surrogate itself and
  the derivative of its documented primitive agree pointwise,
  :math:`\partial_x \operatorname{spike}(x) = g(x) = S'(x)`, and equal instances never
  retrace a jitted function.
* :func:`check_step`: a step ``step(params, state, x) -> (state, y)`` gives the same
  results eagerly, under :func:`jax.jit`, under :func:`jax.vmap` and inside
  :func:`~jaxspike.unroll`; keeps the state's shapes and dtypes; does not retrace for
  new parameter values; and has finite gradients with respect to its input and every
  parameter.

Both raise :class:`AssertionError` with a message saying which property failed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike.neurons.spike import spike
from jaxspike.neurons.surrogates import Surrogate
from jaxspike.ops.scan import unroll

__all__ = ["check_step", "check_surrogate"]

#: Default grid for :func:`check_surrogate`: 0 and points in [-3, 3] that miss the
#: usual kinks (multiples of 0.05) of piecewise surrogates.
DEFAULT_GRID: tuple[float, ...] = (0.0, *np.round(np.linspace(-3.0, 3.0, 61) + 0.0123, 4))


def _fail(what: str, detail: str = "") -> AssertionError:
    return AssertionError(f"{what}{': ' + detail if detail else ''}")


def _allclose(name: str, actual: Any, desired: Any, rtol: float, atol: float) -> None:
    try:
        np.testing.assert_allclose(
            np.asarray(actual, np.float64), np.asarray(desired, np.float64), rtol=rtol, atol=atol
        )
    except AssertionError as err:
        raise _fail(name, str(err)) from None


def _count_traces(fn: Callable[..., Any], **jit_kwargs: Any) -> tuple[Callable[..., Any], list]:
    traces: list[int] = []

    def counted(*args: Any) -> Any:
        traces.append(1)
        return fn(*args)

    return jax.jit(counted, **jit_kwargs), traces


def check_surrogate(
    surrogate: Surrogate,
    xs: Sequence[float] | jax.Array | None = None,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    r"""Assert that a surrogate is consistent with its primitive and never retraces.

    Checks, pointwise on ``xs``:

    .. math:: \frac{\partial}{\partial x}\operatorname{spike}(x, g) = g(x)
       = \frac{\mathrm d}{\mathrm dx} S(x),

    where :math:`g` is ``surrogate.__call__`` and :math:`S` is ``surrogate.smooth``;
    that :func:`~jaxspike.spike` is the Heaviside :math:`\mathbb 1[x \ge 0]` forward;
    that the surrogate is a frozen dataclass and a JAX pytree; and that a jitted
    function called with an equal (but distinct) instance, as an argument or as a
    static argument, is traced only once.

    Args:
        surrogate: a :class:`~jaxspike.Surrogate` instance (e.g. one defined with
            :func:`~jaxspike.surrogate_class`).
        xs: points to check (float32). Leave out points where ``g`` or ``S'`` has a
            kink, since autodiff picks one side there. Defaults to
            :data:`DEFAULT_GRID`, 0 plus 61 points in [-3, 3].
        rtol: relative tolerance of the comparisons.
        atol: absolute tolerance of the comparisons.

    Raises:
        AssertionError: naming the property that failed.
        TypeError: if ``surrogate`` is not a :class:`~jaxspike.Surrogate`.

    Example:
        >>> from jaxspike import ATan
        >>> check_surrogate(ATan(alpha=2.0))
    """
    if not isinstance(surrogate, Surrogate):
        raise TypeError(
            f"check_surrogate: surrogate must be a jaxspike Surrogate, got "
            f"{type(surrogate).__name__}."
        )
    name = type(surrogate).__name__
    if not dataclasses.is_dataclass(surrogate):
        raise _fail(f"{name} is not a dataclass", "decorate it with @jaxspike.surrogate_class")
    x = jnp.asarray(DEFAULT_GRID if xs is None else xs, jnp.float32).reshape(-1)

    forward = spike(x, surrogate)
    _allclose(f"{name}: spike forward is not H(x) = 1[x >= 0]", forward, x >= 0, 0.0, 0.0)
    g = jnp.asarray(surrogate(x))
    if g.shape != x.shape:
        raise _fail(f"{name}: surrogate(x) has shape {g.shape}, expected {x.shape}")
    d_spike = jax.vmap(jax.grad(lambda xi: spike(xi, surrogate)))(x)
    d_smooth = jax.vmap(jax.grad(lambda xi: jnp.asarray(surrogate.smooth(xi)).sum()))(x)
    _allclose(f"{name}: grad(spike) != surrogate(x)", d_spike, g, rtol, atol)
    _allclose(f"{name}: grad(surrogate.smooth) != surrogate(x)", d_smooth, g, rtol, atol)

    leaves, treedef = jax.tree.flatten(surrogate)
    twin = jax.tree.unflatten(treedef, leaves)
    if twin is surrogate or twin != surrogate or hash(twin) != hash(surrogate):
        raise _fail(f"{name}: a rebuilt equal instance does not compare or hash equal")
    params = dataclasses.fields(surrogate)  # type: ignore[arg-type]
    if params and not type(surrogate).__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise _fail(f"{name} is not frozen", "use @jaxspike.surrogate_class")

    as_arg, traces = _count_traces(lambda xi, s: jax.grad(lambda v: spike(v, s).sum())(xi))
    _allclose(f"{name}: jitted grad(spike) differs", as_arg(x, surrogate), g, rtol, atol)
    as_arg(x, twin)
    if len(traces) != 1:
        raise _fail(f"{name}: an equal instance passed as an argument retraced ({len(traces)})")
    as_static, traces = _count_traces(
        lambda xi, s: jax.grad(lambda v: spike(v, s).sum())(xi), static_argnums=1
    )
    as_static(x, surrogate)
    as_static(x, twin)
    if len(traces) != 1:
        raise _fail(f"{name}: an equal instance passed as a static argument retraced")


def _loop(step: Callable[..., Any], params: Any, state: Any, xs: Any) -> tuple[Any, Any, Any]:
    ys, states = [], []
    for t in range(jax.tree.leaves(xs)[0].shape[0]):
        state, y = step(params, state, jax.tree.map(lambda a, t=t: a[t], xs))
        ys.append(y)
        states.append(state)
    stack = lambda *a: jnp.stack(a)
    return state, jax.tree.map(stack, *ys), jax.tree.map(stack, *states)


def _tree_allclose(name: str, a: Any, b: Any, rtol: float, atol: float) -> None:
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    if str(ta) != str(tb):
        raise _fail(f"{name}: tree structures differ", f"{ta} vs {tb}")
    for u, v in zip(la, lb, strict=True):
        if jnp.shape(u) != jnp.shape(v):
            raise _fail(f"{name}: shapes differ", f"{jnp.shape(u)} vs {jnp.shape(v)}")
        _allclose(name, u, v, rtol, atol)


def _perturb(leaf: Any) -> Any:
    arr = jnp.asarray(leaf)
    if jnp.issubdtype(arr.dtype, jnp.floating):
        return arr * (1 + 1e-3) + 1e-3
    return arr


def check_step(
    step: Callable[..., Any],
    params: Any,
    state: Any,
    xs: Any,
    *,
    batch: int = 2,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    check_grads: bool = True,
    nonzero_grads: bool = False,
) -> None:
    """Assert the step-function contract of jaxspike on ``step``.

    ``step(params, state, x) -> (state, y)`` is a neuron step with its options bound,
    e.g. ``functools.partial(jaxspike.lif_step, reset="zero")``. Over the inputs ``xs``
    (time on axis 0) this checks that:

    1. a Python loop of ``step`` keeps every state leaf's shape and dtype;
    2. the loop gives the same outputs and states under :func:`jax.jit` (per step);
    3. :func:`~jaxspike.unroll` (with and without ``return_states``) equals the loop;
    4. :func:`jax.vmap` over a new leading axis of ``batch`` copies of the state and
       of ``xs`` (each copy scaled differently) equals a loop over those copies;
    5. a jitted run is traced once for new parameter values of the same shapes;
    6. (``check_grads``) the gradient of a scalar loss of the outputs and the final
       state with respect to ``xs`` and every floating ``params`` leaf is finite, and
       (``nonzero_grads``) not identically zero.

    Args:
        step: ``step(params, state, x) -> (state, y)``.
        params: the parameters (a pytree, e.g. a ``NamedTuple`` of arrays).
        state: the initial state.
        xs: inputs stacked over time, ``[T, ...]`` (a pytree of arrays).
        batch: copies used for the vmap check.
        rtol: relative tolerance of the comparisons.
        atol: absolute tolerance of the comparisons.
        check_grads: check the gradients are finite.
        nonzero_grads: also require every gradient leaf to be non-zero somewhere;
            choose inputs that make the neuron spike.

    Raises:
        AssertionError: naming the property that failed.

    Example:
        >>> import functools, jax.numpy as jnp
        >>> from jaxspike import LIFParams, lif_init, lif_step
        >>> p = LIFParams.create(decay=0.9, v_th=1.0)
        >>> check_step(functools.partial(lif_step, reset="zero"), p,
        ...            lif_init(p, (3,)), jnp.linspace(0.0, 1.5, 12).reshape(4, 3))
    """
    final, ys, states = _loop(step, params, state, xs)
    for before, after in zip(jax.tree.leaves(state), jax.tree.leaves(final), strict=True):
        was = (jnp.shape(before), jnp.result_type(before))
        now = (jnp.shape(after), jnp.result_type(after))
        if was != now:
            raise _fail("step changed a state leaf's (shape, dtype)", f"{was} -> {now}")

    jitted = jax.jit(step)
    _, j_ys, j_states = _loop(jitted, params, state, xs)
    _tree_allclose("jit != eager (outputs)", j_ys, ys, rtol, atol)
    _tree_allclose("jit != eager (states)", j_states, states, rtol, atol)

    bound = functools.partial(step, params)
    u_final, u_ys = unroll(bound, state, xs)
    _tree_allclose("unroll != loop (outputs)", u_ys, ys, rtol, atol)
    _tree_allclose("unroll != loop (final state)", u_final, final, rtol, atol)
    _, r_ys, r_states = unroll(bound, state, xs, return_states=True)
    _tree_allclose("unroll(return_states=True) != loop (outputs)", r_ys, ys, rtol, atol)
    _tree_allclose("unroll(return_states=True) != loop (states)", r_states, states, rtol, atol)

    scales = [1.0 + 0.25 * k for k in range(batch)]
    b_state = jax.tree.map(lambda a: jnp.stack([a] * batch), state)
    b_xs = jax.tree.map(lambda a: jnp.stack([a * c for c in scales]), xs)
    run = lambda s, x: unroll(bound, s, x)
    v_final, v_ys = jax.vmap(run)(b_state, b_xs)
    for k in range(batch):
        one = jax.tree.map(lambda a, k=k: a[k], (b_state, b_xs))
        l_final, l_ys, _ = _loop(step, params, *one)
        pick = lambda tree, k=k: jax.tree.map(lambda a: a[k], tree)
        _tree_allclose("vmap != loop (outputs)", pick(v_ys), l_ys, rtol, atol)
        _tree_allclose("vmap != loop (final state)", pick(v_final), l_final, rtol, atol)

    traced, traces = _count_traces(lambda p, s, x: unroll(functools.partial(step, p), s, x))
    traced(params, state, xs)
    traced(jax.tree.map(_perturb, params), state, xs)
    if len(traces) != 1:
        raise _fail("new parameter values retraced a jitted run", f"{len(traces)} traces")

    if not check_grads:
        return

    def loss(p: Any, x: Any) -> jax.Array:
        last, out = unroll(functools.partial(step, p), state, x)
        total = jnp.zeros((), jnp.float32)
        total += sum(jnp.sum(jnp.asarray(a, jnp.float32)) for a in jax.tree.leaves(out))
        return total + sum(
            0.1 * jnp.sum(jnp.asarray(a, jnp.float32))
            for a in jax.tree.leaves(last)
            if jnp.issubdtype(jnp.result_type(a), jnp.floating)
        )

    float_params = jax.tree.map(
        lambda a: jnp.asarray(a) if jnp.issubdtype(jnp.result_type(a), jnp.floating) else a,
        params,
    )
    g_params, g_xs = jax.grad(loss, argnums=(0, 1))(float_params, xs)
    named = [
        (f"params{jax.tree_util.keystr(path)}", leaf)
        for path, leaf in jax.tree_util.tree_leaves_with_path(g_params)
    ] + [
        (f"xs{jax.tree_util.keystr(path)}", leaf)
        for path, leaf in jax.tree_util.tree_leaves_with_path(g_xs)
    ]
    for path, leaf in named:
        arr = np.asarray(leaf, np.float64)
        if not np.isfinite(arr).all():
            raise _fail(f"gradient {path} is not finite", str(arr))
        if nonzero_grads and not np.any(arr != 0):
            raise _fail(f"gradient {path} is zero", "choose inputs that make the neuron spike")
