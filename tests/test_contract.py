"""One registry of every neuron family, run through the step-function contract.

Each family comes from ``jaxspike.NEURONS`` with parameters and inputs that make it
spike, so that gradients through the spike and the reset are exercised.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike.testing import check_step


class Case(NamedTuple):
    params: Any  # scalar parameters (float32)
    kwargs: dict  # step options
    lo: float  # input range
    hi: float
    per_neuron: dict  # field -> values for 3 neurons


CASES = {
    "if": Case(
        js.IFParams.create(v_th=1.0, v_reset=-0.1, leak=0.05, v_min=-0.3),
        {"reset": "zero"},
        -0.8,
        1.2,
        {"v_th": [0.8, 1.0, 1.3], "leak": [0.0, 0.05, 0.1]},
    ),
    "lif": Case(
        js.LIFParams.create(decay=0.8, v_th=1.0, v_reset=-0.1),
        {"reset": "zero"},
        0.0,
        1.2,
        {"decay": [0.5, 0.8, 0.95], "v_th": [0.7, 1.0, 1.2]},
    ),
    "ctlif": Case(
        js.CTLIFParams.create(tau_mem=5.0, v_leak=0.1, r=1.2, i_bias=0.05, v_th=1.0, v_reset=-0.1),
        {"reset": "zero"},
        0.0,
        3.0,
        {"tau_mem": [2.0, 5.0, 9.0], "r": [0.8, 1.0, 1.5]},
    ),
    "cuba_lif": Case(
        js.CubaLIFParams.create(decay_syn=0.7, decay_mem=0.8, v_th=1.0, v_reset=-0.1),
        {"reset": "zero"},
        0.0,
        0.8,
        {"decay_syn": [0.3, 0.7, 0.9], "v_th": [0.9, 1.0, 1.4]},
    ),
    "alif": Case(
        js.ALIFParams.create(decay=0.8, decay_adapt=0.9, v_th=1.0, adapt=0.5, v_reset=-0.1),
        {"reset": "zero"},
        0.0,
        1.5,
        {"adapt": [0.0, 0.5, 1.5], "decay": [0.6, 0.8, 0.9]},
    ),
    "adlif": Case(
        js.neurons.AdLIFParams.create(decay=0.8, decay_adapt=0.9, a=0.3, b=0.5, v_reset=-0.1),
        {"reset": "zero"},
        0.0,
        4.0,
        {"a": [0.0, 0.3, -0.5], "decay": [0.6, 0.8, 0.9]},
    ),
    "li": Case(js.LIParams.create(decay=0.8), {}, -1.0, 1.0, {"decay": [0.2, 0.5, 0.9]}),
    "izhikevich": Case(
        js.IzhikevichParams.preset("RS"),
        {},
        5.0,
        40.0,
        {"a": [0.02, 0.1, 0.02], "d": [8.0, 2.0, 0.05]},
    ),
}
FAMILIES = sorted(CASES)
SPIKING = [f for f in FAMILIES if js.NEURONS[f].spiking]
WITH_RESET = ["adlif", "alif", "ctlif", "cuba_lif", "if", "lif"]
T = 6


def test_registry_is_complete():
    assert set(CASES) == set(js.NEURONS)
    assert set(SPIKING) == set(js.NEURONS) - {"li"}


def _xs(name, shape, dtype=jnp.float32, t=T, seed=0):
    c = CASES[name]
    x = jax.random.uniform(jax.random.key(seed), (t, *shape), minval=c.lo, maxval=c.hi)
    return x.astype(dtype)


def _step(name, **over):
    return functools.partial(js.NEURONS[name].step, **{**CASES[name].kwargs, **over})


def _init(name, shape, dtype=jnp.float32, params=None):
    return js.NEURONS[name].init(CASES[name].params if params is None else params, shape, dtype)


def _run(name, xs, shape, dtype=jnp.float32, params=None, **over):
    p = CASES[name].params if params is None else params
    p = jax.tree.map(lambda a: jnp.asarray(a), p)
    return js.unroll(
        functools.partial(_step(name, **over), p),
        _init(name, shape, dtype, p),
        xs,
        return_states=True,
    )


@pytest.mark.parametrize("name", FAMILIES)
def test_step_contract(name):
    """jit == eager, unroll == loop, vmap == loop, no retrace, finite non-zero grads."""
    shape = (2, 3)
    xs = _xs(name, shape)
    _, ys, _ = _run(name, xs, shape)
    if js.NEURONS[name].spiking:
        assert 0 < float(ys.sum()) < ys.size, "the case must spike, but not always"
    check_step(
        _step(name),
        CASES[name].params,
        _init(name, shape),
        xs,
        rtol=2e-5,
        atol=1e-5,
        nonzero_grads=True,
    )


@pytest.mark.parametrize("name", FAMILIES)
def test_shapes(name):
    """scalar, (N,), (B,N), (B,H,W,C) states give the elementwise result of a flat run."""
    flat = _xs(name, (24,))
    _, ys_flat, states_flat = _run(name, flat, (24,))
    for shape in [(), (4, 6), (2, 2, 3, 2)]:  # (24,) is the flat run itself
        n = int(np.prod(shape))
        xs = flat[:, :n].reshape((T, *shape))
        final, ys, states = _run(name, xs, shape)
        assert ys.shape == (T, *shape)
        for leaf in jax.tree.leaves(final):
            assert leaf.shape == shape
        np.testing.assert_allclose(ys.reshape(T, n), ys_flat[:, :n], rtol=1e-6, atol=1e-6)
        for a, b in zip(jax.tree.leaves(states), jax.tree.leaves(states_flat), strict=True):
            np.testing.assert_allclose(a.reshape(T, n), b[:, :n], rtol=1e-6, atol=1e-6)


def _check_dtype(name, dtype, grad=True):
    shape = (2, 3)
    xs = _xs(name, shape, dtype)
    final, ys, states = _run(name, xs, shape, dtype)
    assert ys.dtype == dtype
    for leaf in jax.tree.leaves((final, states)):
        assert leaf.dtype == dtype
    assert np.isfinite(np.asarray(ys, np.float32)).all()

    if not grad:
        return ys

    def loss(x):
        _, out, st = _run(name, x, shape, dtype)
        return jnp.sum(out.astype(jnp.float32)) + jnp.sum(st.v.astype(jnp.float32))

    g = jax.grad(loss)(xs)
    assert g.dtype == dtype
    assert np.isfinite(np.asarray(g, np.float32)).all()
    return ys


@pytest.mark.parametrize("name", FAMILIES)
def test_dtype_float32_bfloat16(name):
    _check_dtype(name, jnp.float32, grad=False)  # float32 gradients: test_step_contract
    _check_dtype(name, jnp.bfloat16)


@pytest.mark.parametrize("name", FAMILIES)
def test_dtype_float64(name, x64):
    ys64 = _check_dtype(name, jnp.float64)
    # float64 and float32 runs of the same inputs agree closely (spikes exactly, here).
    shape = (2, 3)
    _, ys32, _ = _run(name, _xs(name, shape, jnp.float32), shape, jnp.float32)
    np.testing.assert_allclose(np.asarray(ys64), np.asarray(ys32, np.float64), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", FAMILIES)
def test_per_neuron_params(name):
    """Params of shape (N,) with state (B, N): column n equals a run with scalars of n."""
    case = CASES[name]
    fields = case.per_neuron
    vec = case.params._replace(**{k: jnp.asarray(v, jnp.float32) for k, v in fields.items()})
    xs = _xs(name, (2, 3))
    _, ys, states = _run(name, xs, (2, 3), params=vec)
    for n in range(3):
        one = case.params._replace(**{k: jnp.asarray(v[n], jnp.float32) for k, v in fields.items()})
        _, ys_n, states_n = _run(name, xs[:, :, n], (2,), params=one)
        np.testing.assert_allclose(ys[:, :, n], ys_n, rtol=1e-6, atol=1e-6)
        for a, b in zip(jax.tree.leaves(states), jax.tree.leaves(states_n), strict=True):
            np.testing.assert_allclose(a[:, :, n], b, rtol=1e-6, atol=1e-6)


def _threshold(name, params, prev_state):
    if name == "alif":
        return params.v_th + params.adapt * prev_state.a
    return params.v_th


def _pre_reset_run(name, reset=None, **over):
    shape = (2, 3)
    xs = _xs(name, shape, seed=1)
    if reset is not None:
        over["reset"] = reset
    state0 = _init(name, shape)
    p = jax.tree.map(jnp.asarray, CASES[name].params)
    step = js.neurons.step_with_trace(functools.partial(_step(name, **over), p))
    _, (s, v_pre, states) = js.unroll(step, state0, xs)
    prev = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b[:-1]]), state0, states)
    return s, v_pre, states, prev


@pytest.mark.parametrize("name", SPIKING)
def test_pre_reset_membrane(name):
    p = CASES[name].params
    s, v_pre, states, prev = _pre_reset_run(name)
    assert 0 < float(s.sum()) < s.size
    np.testing.assert_array_equal(s, (v_pre >= _threshold(name, p, prev)).astype(s.dtype))
    # the default reset of every case here is "to a value": v_reset (c for Izhikevich).
    v_to = p.c if name == "izhikevich" else p.v_reset
    np.testing.assert_allclose(states.v, np.where(s > 0, v_to, v_pre), rtol=1e-6)


@pytest.mark.parametrize("name", WITH_RESET)
def test_reset_modes(name):
    p = CASES[name].params
    s, v_pre, states, prev = _pre_reset_run(name, "none")
    np.testing.assert_array_equal(states.v, v_pre)
    s, v_pre, states, prev = _pre_reset_run(name, "zero")
    np.testing.assert_allclose(states.v, np.where(s > 0, p.v_reset, v_pre), rtol=1e-6)
    s, v_pre, states, prev = _pre_reset_run(name, "subtract")
    assert float(s.sum()) > 0
    theta = _threshold(name, p, prev)
    np.testing.assert_allclose(states.v, v_pre - s * theta, rtol=1e-6, atol=1e-6)
    if name == "lif":  # decay_reset=False is reset_at="next_step": the pre-reset is stored
        s, v_pre, states, prev = _pre_reset_run(name, "subtract", decay_reset=False)
        np.testing.assert_array_equal(states.v, v_pre)


@pytest.mark.parametrize("name", WITH_RESET)
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_detach_reset_gradient(name, reset):
    r"""One step from a state near threshold: d v_post / d x per the reset equation.

    With :math:`\tilde v` the pre-reset membrane, :math:`c = \partial\tilde v/\partial x`,
    :math:`g = g(\tilde v - \theta)`:

    * subtract: detached :math:`c`; attached :math:`c\,(1 - g\,\theta)`;
    * zero: detached :math:`c\,(1 - s)`; attached :math:`c\,(1 - s + g\,(v_r - \tilde v))`.
    """
    p = CASES[name].params
    surrogate = js.FastSigmoid(slope=2.0)
    state = _init(name, (4,))
    state = state._replace(v=jnp.asarray([0.5, 0.9, 1.0, 0.2]))
    x = jnp.asarray([0.3, 0.05, 0.4, 0.1]) * {"ctlif": 10.0, "adlif": 5.0}.get(name, 1.0)
    step = _step(name, reset=reset, surrogate=surrogate)

    def v_post(xx, detach):
        return step(p, state, xx, detach_reset=detach)[0].v

    def v_pre(xx):
        return js.neurons.step_with_trace(step)(p, state, xx)[1].v_pre

    vp = v_pre(x)
    c = jax.grad(lambda xx: v_pre(xx).sum())(x)
    np.testing.assert_array_less(0.0, c)
    theta = _threshold(name, p, state)
    s = (vp >= theta).astype(jnp.float32)
    assert 0 < float(s.sum()) < 4
    g = surrogate(vp - theta)
    d_det = jax.grad(lambda xx: v_post(xx, True).sum())(x)
    d_att = jax.grad(lambda xx: v_post(xx, False).sum())(x)
    if reset == "subtract":
        np.testing.assert_allclose(d_det, c, rtol=1e-6)
        np.testing.assert_allclose(d_att, c * (1 - g * theta), rtol=1e-5, atol=1e-7)
    else:
        np.testing.assert_allclose(d_det, c * (1 - s), rtol=1e-6)
        np.testing.assert_allclose(d_att, c * (1 - s + g * (p.v_reset - vp)), rtol=1e-5, atol=1e-7)
    assert not np.allclose(d_det, d_att)


@pytest.mark.parametrize("name", ["if", "lif", "ctlif"])
@pytest.mark.parametrize("n_ref", [1, 3])
def test_refractory(name, n_ref):
    """Under a drive that fires every free step, each spike is followed by exactly
    ``refractory`` silent steps during which the membrane is held."""
    xs = jnp.full((14, 2), 6.0)
    _, ys, states = _run(name, xs, (2,), refractory=n_ref)
    ys = np.asarray(ys[:, 0])
    expected = np.zeros(14)
    expected[:: n_ref + 1] = 1.0
    np.testing.assert_array_equal(ys, expected)
    _, ys_free, _ = _run(name, xs, (2,))
    np.testing.assert_array_equal(ys_free, 1.0)  # without refractoriness: every step
    v = np.asarray(states.v[:, 0])
    for t in range(1, 14):
        if expected[t] == 0:  # refractory: the membrane is held
            assert v[t] == v[t - 1]


def test_check_step_catches_broken_steps():
    p = js.LIFParams.create(decay=0.8)
    state = js.lif_init(p, (3,))
    xs = jnp.linspace(0.0, 1.5, 12).reshape(4, 3)
    rng = np.random.default_rng(0)

    def impure(params, s, x):  # a Python side effect: jit freezes the random number
        return js.lif_step(params, s, x + float(rng.uniform()))

    with pytest.raises(AssertionError, match="jit != eager"):
        check_step(impure, p, state, xs)

    def widening(params, s, x):
        s, z = js.lif_step(params, s, x)
        return s._replace(ref=s.ref.astype(jnp.float16)), z

    with pytest.raises(AssertionError, match="changed a state leaf"):
        check_step(widening, p, state, xs)

    def frozen(params, s, x):
        return js.lif_step(jax.lax.stop_gradient(params), s, x)

    with pytest.raises(AssertionError, match=r"gradient params\.decay is zero"):
        check_step(frozen, p, state, xs, nonzero_grads=True)
