"""Reliability, category *core*: the time scan, fast kernels and the reset (issue 16)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike import regularizers


def _if_step(p=None):
    return functools.partial(js.if_step, js.IFParams(v_th=1.0) if p is None else p)


@pytest.mark.parametrize("checkpoint", [False, True, 3])
def test_unroll_zero_steps(checkpoint):
    p = js.IFParams(v_th=1.0)
    state = js.if_init(p, (2,))
    final, ys, states = js.unroll(
        _if_step(p), state, jnp.zeros((0, 2)), checkpoint=checkpoint, return_states=True
    )
    assert ys.shape == (0, 2) and states.v.shape == (0, 2)
    np.testing.assert_array_equal(final.v, state.v)


def test_unroll_rejects_bad_checkpoint_before_running():
    with pytest.raises(
        ValueError, match=r"unroll: checkpoint must be a bool or an int >= 1, got 0"
    ):
        js.unroll(_if_step(), js.if_init(js.IFParams(), (2,)), jnp.ones((3, 2)), checkpoint=0)


def test_batch_major_records_a_spike_counter():
    # The documented with_spike_counter carry holds a leaf without a batch axis.
    p = js.IFParams(v_th=1.0)
    step = regularizers.with_spike_counter(_if_step(p))
    carry = (js.if_init(p, (2,)), regularizers.counter_init((2,)))
    xs = jnp.asarray(np.random.default_rng(0).uniform(0, 1, (2, 6)), jnp.float32)
    (_, counter), s, (states, counters) = js.unroll_batch_major(step, carry, xs, return_states=True)
    # reference: the same step in a Python loop over time
    v, n, ref_s, ref_v = np.zeros(2), np.zeros(2), [], []
    for t in range(6):
        v = v + np.asarray(xs[:, t])
        fired = v >= 1.0
        v = np.where(fired, v - 1.0, v)
        n = n + fired
        ref_s.append(fired.astype(np.float32))
        ref_v.append(v.copy())
    np.testing.assert_array_equal(s, np.stack(ref_s, axis=1))
    np.testing.assert_allclose(states.v, np.stack(ref_v, axis=1), rtol=1e-6)
    np.testing.assert_array_equal(counter.counts, n)
    assert states.v.shape == (2, 6)
    # per-neuron counts are batch-major [B, T]; the scalar step count stays [T]
    np.testing.assert_array_equal(counters.counts[:, -1], n)
    assert counters.steps.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_linear_recurrence_rejects_integer_inputs():
    with pytest.raises(
        TypeError, match=r"linear_recurrence: x must have a floating dtype, got int32"
    ):
        js.linear_recurrence(0.5, jnp.arange(4, dtype=jnp.int32))


def test_linear_recurrence_rejects_a_decay_that_would_change_the_dtype():
    with pytest.raises(
        TypeError,
        match=r"linear_recurrence: a has dtype float32, which does not "
        r"fit x's dtype bfloat16",
    ):
        js.linear_recurrence(jnp.full((3,), 0.5, jnp.float32), jnp.ones((3,), jnp.bfloat16))


def test_linear_recurrence_python_decay_matches_loop():
    x = np.asarray([1.0, 0.0, 2.0, -1.0], np.float32)
    h, ref = 0.0, []
    for xt in x:
        h = 0.5 * h + xt
        ref.append(h)
    np.testing.assert_allclose(js.linear_recurrence(0.5, jnp.asarray(x)), ref, rtol=1e-6)


def test_packed_linear_rejects_graded_input():
    with pytest.raises(ValueError, match=r"packed_linear: s must hold only 0 and 1"):
        js.packed_linear(jnp.asarray([[0.5, 2.0, 0.0]]), jnp.ones((3, 2)))


def test_packed_linear_graded_input_under_jit_gives_nan_weight_gradient():
    s = jnp.asarray([[0.5, 2.0, 0.0]])
    dw = jax.jit(jax.grad(lambda w, s: js.packed_linear(s, w).sum()))(jnp.ones((3, 2)), s)
    assert np.isnan(np.asarray(dw)).all()


def test_packed_linear_binary_gradient_matches_dense():
    s = jnp.asarray([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    w = jnp.asarray(np.random.default_rng(1).normal(size=(3, 2)), jnp.float32)
    got = jax.jit(jax.grad(lambda w: (js.packed_linear(s, w) ** 2).sum()))(w)
    ref = 2 * np.asarray(s).T @ (np.asarray(s) @ np.asarray(w))
    np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.parametrize("x", [np.inf, float(np.finfo(np.float32).max)], ids=["inf", "max"])
def test_zero_reset_of_an_infinite_membrane_is_v_reset(x):
    p = js.LIFParams(decay=0.5, v_th=1.0, v_reset=0.25)
    state, s = js.lif_step(p, js.lif_init(p, (1,)), jnp.asarray([x], jnp.float32), reset="zero")
    assert float(s[0]) == 1.0 and float(state.v[0]) == 0.25


def test_zero_reset_of_minus_infinity_stays_minus_infinity():
    p = js.LIFParams(decay=0.5, v_th=1.0, v_reset=0.0)
    state, s = js.lif_step(p, js.lif_init(p, (1,)), jnp.asarray([-np.inf]), reset="zero")
    assert float(s[0]) == 0.0 and float(state.v[0]) == -np.inf


def test_zero_reset_gradient_is_finite_for_an_infinite_membrane():
    p = js.LIFParams(decay=0.5, v_th=1.0, v_reset=0.0)

    def f(x):
        state, s = js.lif_step(p, js.lif_init(p, (2,)), x, reset="zero", detach_reset=False)
        return state.v.sum() + s.sum()

    g = jax.grad(f)(jnp.asarray([np.inf, 0.5]))
    assert np.isfinite(np.asarray(g)).all()


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_ctlif_infinite_input_resets(method):
    p = js.CTLIFParams(tau_mem=20.0, v_th=1.0, v_reset=0.0)
    state = js.lif_init(p, (2,))
    state, s = js.ctlif_step(p, state, jnp.asarray([np.inf, 1.0]), method=method)
    assert s.tolist() == [1.0, 0.0] and float(state.v[0]) == 0.0
    state, _ = js.ctlif_step(p, state, jnp.asarray([0.0, 1.0]), method=method)
    assert np.isfinite(np.asarray(state.v)).all()


def test_izhikevich_huge_input_never_nan():
    p = js.IzhikevichParams()
    state = js.izhikevich_init(p, (1,))
    for _ in range(3):
        state, _ = js.izhikevich_step(p, state, jnp.asarray([1e30]))
    assert np.isfinite(np.asarray(state.v)).all() and not np.isnan(np.asarray(state.u)).any()
