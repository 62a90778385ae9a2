"""Tests of jaxspike.plasticity against the STDP window and NumPy re-implementations.

The traces decay by exactly exp(-1/tau) per step, so a trace k steps after a spike is
exp(-k/tau): the discrete rule reproduces the continuous window at integer time
differences. Potentiation reads the presynaptic trace including the current spike
(Δt = 0 potentiates); depression reads the postsynaptic trace before the current spike.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike.plasticity import (
    RSTDPParams,
    STDPParams,
    conv_patches,
    kheradpisheh_stdp,
    rstdp_init,
    rstdp_step,
    stdp_conv_step,
    stdp_init,
    stdp_step,
)

A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS = 0.3, 0.2, 4.0, 6.0


def window(dt):
    """The pair-based STDP window (Bi & Poo 1998; Song et al. 2000), dt = t_post - t_pre."""
    if dt >= 0:
        return A_PLUS * np.exp(-dt / TAU_PLUS)
    return -A_MINUS * np.exp(dt / TAU_MINUS)


def run_dense(params, pre, post, w, **kw):
    """Scan stdp_step over [T, ...] spike trains; return final w and w after every step."""
    state = stdp_init(params, pre.shape[1:], post.shape[1:])

    def step(carry, s):
        st, w = carry
        st, w = stdp_step(params, st, s[0], s[1], w, **kw)
        return (st, w), w

    (_, w), ws = js.unroll(step, (state, w), (pre, post))
    return w, ws


def pair_trains(t_pre, t_post, n_steps=24):
    pre = np.zeros((n_steps, 1), np.float32)
    post = np.zeros((n_steps, 1), np.float32)
    pre[t_pre, 0] = 1.0
    post[t_post, 0] = 1.0
    return jnp.asarray(pre), jnp.asarray(post)


PARAMS = STDPParams(A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS, w_min=-10.0, w_max=10.0)
WIDE = STDPParams(A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS, w_min=-1e6, w_max=1e6)  # no clipping


@pytest.mark.parametrize("dt", [-9, -4, -1, 0, 1, 3, 8])
def test_single_pair_matches_window(dt):
    t_pre = 10
    pre, post = pair_trains(t_pre, t_pre + dt)
    w, _ = run_dense(PARAMS, pre, post, jnp.zeros((1, 1)))
    np.testing.assert_allclose(float(w[0, 0]), window(dt), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dt", [-3, 0, 2])
def test_single_pair_multiplicative(dt):
    w0, w_min, w_max = 0.3, 0.0, 2.0
    p = STDPParams(A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS, w_min=w_min, w_max=w_max, mu=1.0)
    pre, post = pair_trains(10, 10 + dt)
    w, _ = run_dense(p, pre, post, jnp.full((1, 1), w0), weight_dependence="multiplicative")
    # Gütig et al. 2003 with mu = 1: f+ = (w_max - w)/R, f- = (w - w_min)/R.
    factor = (w_max - w0) / (w_max - w_min) if dt >= 0 else (w0 - w_min) / (w_max - w_min)
    np.testing.assert_allclose(float(w[0, 0]), w0 + factor * window(dt), rtol=1e-6)


def test_all_to_all_vs_nearest_triplet():
    pre = np.zeros((12, 1), np.float32)
    post = np.zeros((12, 1), np.float32)
    pre[[2, 5], 0] = 1.0
    post[8, 0] = 1.0
    pre, post = jnp.asarray(pre), jnp.asarray(post)
    w_all, _ = run_dense(PARAMS, pre, post, jnp.zeros((1, 1)))
    w_near, _ = run_dense(PARAMS, pre, post, jnp.zeros((1, 1)), interaction="nearest")
    np.testing.assert_allclose(float(w_all[0, 0]), window(6) + window(3), rtol=1e-6)
    np.testing.assert_allclose(float(w_near[0, 0]), window(3), rtol=1e-6)


def all_pairs_numpy(pre, post):
    """Sum of the window over every pre/post spike pair: Δw[..., i, j] (all-to-all)."""
    t_steps = pre.shape[0]
    dw = np.zeros((*pre.shape[1:-1], pre.shape[-1], post.shape[-1]))
    for tp in range(t_steps):
        for tq in range(t_steps):
            k = window(tq - tp)
            dw += k * pre[tp][..., :, None] * post[tq][..., None, :]
    return dw


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_dense_batched_random_trains_match_all_pairs(reduce):
    rng = np.random.default_rng(0)
    pre = (rng.random((15, 3, 4)) < 0.25).astype(np.float32)
    post = (rng.random((15, 3, 5)) < 0.25).astype(np.float32)
    w0 = rng.random((4, 5)).astype(np.float32)
    w, _ = run_dense(WIDE, jnp.asarray(pre), jnp.asarray(post), jnp.asarray(w0), reduce=reduce)
    dw = all_pairs_numpy(pre, post).sum(0)
    if reduce == "mean":
        dw /= 3
    np.testing.assert_allclose(np.asarray(w), w0 + dw, rtol=1e-5, atol=1e-5)


def test_jit_equals_eager():
    rng = np.random.default_rng(1)
    pre = jnp.asarray((rng.random((2, 4)) < 0.5).astype(np.float32))
    post = jnp.asarray((rng.random((2, 3)) < 0.5).astype(np.float32))
    st = stdp_init(PARAMS, (2, 4), (2, 3))._replace(pre=jnp.ones((2, 4)), post=jnp.ones((2, 3)))
    w = jnp.full((4, 3), 0.5)
    f = functools.partial(stdp_step, weight_dependence="multiplicative", bounds="hard")
    a = f(PARAMS, st, pre, post, w)
    b = jax.jit(f)(PARAMS, st, pre, post, w)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6)


def random_trains(seed, shape_pre, shape_post, n_steps=200, p=0.3):
    rng = np.random.default_rng(seed)
    pre = (rng.random((n_steps, *shape_pre)) < p).astype(np.float32)
    post = (rng.random((n_steps, *shape_post)) < p).astype(np.float32)
    return jnp.asarray(pre), jnp.asarray(post)


def test_hard_bounds_never_violated():
    p = STDPParams(a_plus=0.2, a_minus=0.25, tau_plus=5.0, tau_minus=5.0, w_min=0.1, w_max=0.9)
    pre, post = random_trains(2, (4, 6), (4, 5))
    w0 = jnp.asarray(np.random.default_rng(3).uniform(0.1, 0.9, (6, 5)), jnp.float32)
    for dep in ("additive", "multiplicative"):
        _, ws = run_dense(p, pre, post, w0, weight_dependence=dep, bounds="hard")
        assert float(ws.min()) >= 0.1 and float(ws.max()) <= 0.9
    # The amplitudes are large enough that the additive rule reaches both bounds.
    _, ws = run_dense(p, pre, post, w0, weight_dependence="additive")
    assert np.isclose(float(ws.min()), 0.1) and np.isclose(float(ws.max()), 0.9)


def test_soft_bounds_never_violated():
    # tau = 5: traces stay below 1 / (1 - exp(-1/5)) ~ 5.5, so A * trace < 1 per sample and
    # the mean over the batch keeps the multiplicative steps inside the bounds (module doc).
    p = STDPParams(a_plus=0.15, a_minus=0.15, tau_plus=5.0, tau_minus=5.0, w_min=-0.5, w_max=1.5)
    pre, post = random_trains(4, (3, 6), (3, 5), p=0.6)
    w0 = jnp.asarray(np.random.default_rng(5).uniform(-0.5, 1.5, (6, 5)), jnp.float32)
    _, ws = run_dense(
        p, pre, post, w0, weight_dependence="multiplicative", bounds="soft", reduce="mean"
    )
    assert float(ws.min()) >= -0.5 and float(ws.max()) <= 1.5
    assert float(ws.min()) < -0.3 or float(ws.max()) > 1.3  # the weights did move far


def conv_pairs_numpy(a, b, kh, kw, stride):
    """sum_{n,i,j} a[n, i*s + di, j*s + dj, ci] * b[n, i, j, co] (VALID convolution)."""
    out = np.zeros((kh, kw, a.shape[-1], b.shape[-1]))
    for n in range(a.shape[0]):
        for i in range(b.shape[1]):
            for j in range(b.shape[2]):
                patch = a[n, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                out += patch[..., None] * b[n, i, j][None, None, None, :]
    return out


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_step_matches_numpy(stride):
    rng = np.random.default_rng(6)
    n_steps, kh, kw, cin, cout = 6, 3, 2, 2, 3
    h, w_ = 7, 6
    ho, wo = (h - kh) // stride + 1, (w_ - kw) // stride + 1
    pre = (rng.random((n_steps, 2, h, w_, cin)) < 0.3).astype(np.float32)
    post = (rng.random((n_steps, 2, ho, wo, cout)) < 0.3).astype(np.float32)
    w0 = rng.random((kh, kw, cin, cout)).astype(np.float32)
    st = stdp_init(PARAMS, pre.shape[1:], post.shape[1:])

    def step(carry, s):
        st, w = carry
        return stdp_conv_step(WIDE, st, s[0], s[1], w, strides=(stride, stride)), None

    (_, w), _ = js.unroll(step, (st, jnp.asarray(w0)), (jnp.asarray(pre), jnp.asarray(post)))
    # Independent reference: NumPy traces and explicit loops over positions.
    x = np.zeros(pre.shape[1:])
    y = np.zeros(post.shape[1:])
    dw = np.zeros_like(w0, dtype=np.float64)
    for t in range(n_steps):
        x = np.exp(-1 / TAU_PLUS) * x + pre[t]
        y_before = np.exp(-1 / TAU_MINUS) * y
        y = y_before + post[t]
        dw += A_PLUS * conv_pairs_numpy(x, post[t], kh, kw, stride)
        dw -= A_MINUS * conv_pairs_numpy(pre[t], y_before, kh, kw, stride)
    np.testing.assert_allclose(np.asarray(w), w0 + dw, rtol=1e-5, atol=1e-5)


def test_conv_patches_reproduce_convolution():
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.random((2, 6, 5, 3)), jnp.float32)
    k = jnp.asarray(rng.random((3, 2, 3, 4)), jnp.float32)
    y = jax.lax.conv_general_dilated(
        x, k, (1, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    p = conv_patches(x, (3, 2), strides=(1, 2), padding="SAME")
    np.testing.assert_allclose(jnp.einsum("nijabc,abcd->nijd", p, k), y, rtol=1e-5)


def test_kheradpisheh_updates_only_winners():
    rng = np.random.default_rng(8)
    kh, cin, cout, h = 3, 2, 5, 6
    w0 = rng.uniform(0.05, 0.95, (kh, kh, cin, cout)).astype(np.float32)
    pre_fired = (rng.random((h, h, cin)) < 0.5).astype(np.float32)
    winners = np.zeros((h - kh + 1, h - kh + 1, cout), np.float32)
    winners[1, 2, 0] = 1.0  # map 0 wins at (1, 2)
    winners[3, 0, 3] = 1.0  # map 3 wins at (3, 0)
    a_p, a_m = 0.1, 0.07
    w = np.asarray(
        kheradpisheh_stdp(
            jnp.asarray(w0), jnp.asarray(pre_fired), jnp.asarray(winners), a_plus=a_p, a_minus=a_m
        )
    )
    for k in (1, 2, 4):  # no winner: the kernel is untouched, bit for bit
        np.testing.assert_array_equal(w[..., k], w0[..., k])
    for k, (i, j) in ((0, (1, 2)), (3, (3, 0))):
        fired = pre_fired[i : i + kh, j : j + kh, :] > 0
        soft = w0[..., k] * (1 - w0[..., k])
        expected = w0[..., k] + np.where(fired, a_p * soft, -a_m * soft)
        np.testing.assert_allclose(w[..., k], expected, rtol=1e-6)


def test_kheradpisheh_stays_in_unit_interval():
    rng = np.random.default_rng(9)
    w = jnp.asarray(rng.uniform(0, 1, (3, 3, 1, 4)), jnp.float32)
    for t in range(60):
        pre = jnp.asarray((rng.random((2, 5, 5, 1)) < 0.5).astype(np.float32))
        win = jnp.asarray((rng.random((2, 3, 3, 4)) < 0.05).astype(np.float32))
        w = kheradpisheh_stdp(w, pre, win, a_plus=0.5, a_minus=0.5, reduce="mean")
        assert float(w.min()) >= 0.0 and float(w.max()) <= 1.0, t
    assert float(jnp.mean(w * (1 - w))) < 0.2  # it converged toward 0/1, not stuck


def test_rstdp_eligibility_and_delayed_reward():
    tau_e, lr, dt, t_reward = 10.0, 2.0, 2, 9
    p = RSTDPParams(STDPParams(A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS, -10.0, 10.0), tau_e, lr)
    pre, post = pair_trains(3, 3 + dt, n_steps=12)
    reward = jnp.zeros(12).at[t_reward].set(1.5)
    state = rstdp_init(p, (1,), (1,))

    def step(carry, inp):
        st, w = carry
        st, w = rstdp_step(p, st, inp[0], inp[1], w, inp[2])
        return (st, w), w[0, 0]

    (_, w), ws = js.unroll(step, (state, jnp.zeros((1, 1))), (pre, post, reward))
    # Izhikevich (2007): the pair sets c = STDP(Δt) at t_post, c decays with tau_e, and
    # the weight moves by lr * r * c only when the reward arrives.
    expected = lr * 1.5 * window(dt) * np.exp(-(t_reward - (3 + dt)) / tau_e)
    np.testing.assert_allclose(np.asarray(ws[:t_reward]), 0.0)
    np.testing.assert_allclose(float(w[0, 0]), expected, rtol=1e-5)


def test_rstdp_per_sample_reward():
    p = RSTDPParams(STDPParams(0.1, 0.1, 2.0, 2.0), tau_e=5.0, lr=1.0)
    st = rstdp_init(p, (2, 1), (2, 1))
    ones = jnp.ones((2, 1))
    w0 = jnp.full((1, 1), 0.5)
    _, w = rstdp_step(p, st, ones, ones, w0, jnp.asarray([1.0, -1.0]))
    np.testing.assert_allclose(float(w[0, 0]), 0.5)  # opposite rewards cancel
    _, w = rstdp_step(p, st, ones, ones, w0, jnp.asarray([1.0, 0.0]))
    np.testing.assert_allclose(float(w[0, 0]), 0.6, rtol=1e-6)


def test_validation_errors():
    st = stdp_init(PARAMS, (3,), (2,))
    w = jnp.zeros((3, 2))
    s_pre, s_post = jnp.zeros(3), jnp.zeros(2)
    with pytest.raises(ValueError, match="stdp_step: weight_dependence"):
        stdp_step(PARAMS, st, s_pre, s_post, w, weight_dependence="power")
    with pytest.raises(ValueError, match="bounds='soft' needs"):
        stdp_step(PARAMS, st, s_pre, s_post, w, bounds="soft")
    with pytest.raises(ValueError, match="stdp_step: expected w"):
        stdp_step(PARAMS, st, s_pre, s_post, jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="trace has shape"):
        stdp_step(PARAMS, stdp_init(PARAMS, (4,), (2,)), s_pre, s_post, w)
    with pytest.raises(ValueError, match="STDPParams: tau_plus must be > 0"):
        STDPParams.create(tau_plus=0.0)
    with pytest.raises(ValueError, match="w_max must be > w_min"):
        STDPParams.create(w_min=1.0, w_max=1.0)
    with pytest.raises(ValueError, match="kheradpisheh_stdp: a_plus"):
        kheradpisheh_stdp(w, s_pre, s_post, a_plus=2.0)
    with pytest.raises(ValueError, match="stdp_conv_step: channels disagree"):
        stdp_conv_step(
            PARAMS,
            stdp_init(PARAMS, (4, 4, 2), (2, 2, 1)),
            jnp.zeros((4, 4, 2)),
            jnp.zeros((2, 2, 1)),
            jnp.zeros((3, 3, 1, 1)),
        )
