"""Reliability, category *numerics*: surrogates, dt and long horizons (items 7, 8)."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js

SQRT2PI = math.sqrt(2 * math.pi)


def _ref_grad(s, x):
    """The documented g(x) of each surrogate, in float64 NumPy."""
    x = np.asarray(x, np.float64)
    name = type(s).__name__
    if name == "FastSigmoid":
        return 1 / (1 + s.slope * np.abs(x)) ** 2
    if name == "Sigmoid":
        z = 1 / (1 + np.exp(-np.clip(s.slope * x, -700, 700)))
        return s.slope * z * (1 - z)
    if name == "ATan":
        return (s.alpha / 2) / (1 + (np.pi * s.alpha * x / 2) ** 2)
    if name == "Triangle":
        return s.height * np.maximum(0, 1 - np.abs(x) / s.width)
    if name == "Boxcar":
        return np.where(np.abs(x) < s.width / 2, s.height, 0.0)
    if name == "Gaussian":
        return np.exp(-0.5 * (x / s.sigma) ** 2) / (s.sigma * SQRT2PI)
    if name == "Exponential":
        return s.alpha * np.exp(-s.beta * np.abs(x))
    if name == "StraightThrough":
        return np.ones_like(x)
    raise AssertionError(name)


SURROGATES = [
    js.FastSigmoid(),
    js.FastSigmoid(slope=1e6),
    js.Sigmoid(),
    js.Sigmoid(slope=1e6),
    js.ATan(),
    js.ATan(alpha=1e6),
    js.Triangle(),
    js.Triangle(width=1e-6, height=1e5),
    js.Boxcar(),
    js.Boxcar(width=1e-6, height=1e6),
    js.Gaussian(),
    js.Gaussian(sigma=1e-7),
    js.Exponential(),
    js.Exponential(alpha=1e6, beta=1e6),
    js.StraightThrough(),
]
X = [0.0, 1e-7, -3e-7, 1e-3, -0.05, 0.5, -2.0, 40.0]


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32], ids=str)
@pytest.mark.parametrize("surrogate", SURROGATES, ids=str)
def test_surrogate_gradient_finite_and_equal_to_reference(surrogate, dtype):
    x = jnp.asarray(X, dtype)
    g = jax.grad(lambda x: js.spike(x, surrogate).astype(jnp.float32).sum())(x)
    g = np.asarray(g, np.float64)
    assert np.isfinite(g).all()
    big = float(jnp.finfo(dtype).max)
    ref = np.clip(_ref_grad(surrogate, np.asarray(x, np.float64)), -big, big)
    tol = max(float(jnp.finfo(dtype).eps) * 2, 1e-5)
    np.testing.assert_allclose(
        g,
        np.asarray(jnp.asarray(ref, dtype), np.float64),
        rtol=tol,
        atol=float(jnp.finfo(dtype).tiny),
    )


PARAMS = [
    (js.FastSigmoid, "slope"),
    (js.Sigmoid, "slope"),
    (js.ATan, "alpha"),
    (js.Triangle, "width"),
    (js.Triangle, "height"),
    (js.Boxcar, "width"),
    (js.Boxcar, "height"),
    (js.Gaussian, "sigma"),
    (js.Exponential, "alpha"),
    (js.Exponential, "beta"),
]


@pytest.mark.parametrize("value", [0, 0.0, -1.0, math.inf, math.nan], ids=str)
@pytest.mark.parametrize(("cls", "field"), PARAMS, ids=lambda p: getattr(p, "__name__", p))
def test_surrogate_rejects_degenerate_settings(cls, field, value):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {field} must be a finite number > 0"):
        cls(**{field: value})


def test_surrogate_tree_operations_still_work():
    # zero cotangents and vmapped hyperparameters build surrogates from arrays
    zeros = jax.tree.map(jnp.zeros_like, js.Gaussian())
    assert float(zeros.sigma) == 0.0
    g = jax.vmap(lambda k: jax.grad(lambda x: js.spike(x, js.Sigmoid(slope=k)))(0.0))(
        jnp.asarray([4.0, 8.0])
    )
    assert g.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dt", [math.inf, math.nan, -1.0], ids=str)
def test_steps_reject_infinite_dt(dt):
    p = js.CTLIFParams()
    with pytest.raises(ValueError, match=r"ctlif_step: dt must be > 0"):
        js.ctlif_step(p, js.lif_init(p, (2,)), jnp.ones((2,)), dt=dt)
    pi = js.IzhikevichParams()
    with pytest.raises(ValueError, match=r"izhikevich_step: dt must be > 0"):
        js.izhikevich_step(pi, js.izhikevich_init(pi, (2,)), jnp.ones((2,)), dt=dt)


def _non_detached_grad(surrogate, steps):
    p = js.LIFParams(decay=1.0, v_th=1.0, v_reset=0.0)
    step = functools.partial(js.lif_step, p, detach_reset=False, surrogate=surrogate)
    xs = jnp.asarray(np.random.default_rng(0).uniform(0.0, 0.6, (steps, 4)), jnp.float32)

    def loss(xs):
        return js.unroll(step, js.lif_init(p, (4,)), xs)[1].sum()

    return np.asarray(jax.jit(jax.grad(loss))(xs))


@pytest.mark.parametrize(
    "surrogate", [js.Sigmoid(slope=8.0), js.FastSigmoid(), js.ATan(alpha=4.0)], ids=str
)
def test_long_horizon_bound_holds_when_peak_times_threshold_is_at_most_two(surrogate):
    # Documented bound (docs/reliability.md): with reset="subtract", detach_reset=False
    # and decay 1 the membrane Jacobian per step is 1 - v_th g(v - v_th), in [-1, 1]
    # when g(0) v_th <= 2, so each input's gradient is at most T * g(0).
    steps = 5000
    g = _non_detached_grad(surrogate, steps)
    assert np.isfinite(g).all()
    peak = float(surrogate(jnp.asarray(0.0)))
    assert np.abs(g).max() <= steps * peak


def test_long_horizon_growth_factor_above_the_bound():
    # The cause of the inf in item 7: the default Sigmoid (g(0) = 6.25) makes the
    # per-step factor 1 - 6.25 = -5.25 at threshold, so gradients grow like 5.25^k.
    p = js.LIFParams(decay=1.0, v_th=1.0, v_reset=0.0)

    def v_after(v0):
        state = js.lif_init(p, ())._replace(v=v0)
        new, _ = js.lif_step(p, state, jnp.asarray(0.0), detach_reset=False, surrogate=js.Sigmoid())
        return new.v

    assert float(jax.grad(v_after)(jnp.asarray(1.0))) == pytest.approx(1 - 6.25)
