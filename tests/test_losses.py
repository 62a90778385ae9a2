"""Losses and accuracies against hand-computed values; label checks; finite gradients."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike import encoding, losses


def _ce_by_hand(logits, label, eps=0.0):
    lse = math.log(sum(math.exp(z) for z in logits))
    C = len(logits)
    q = [(1 - eps) * (c == label) + eps / C for c in range(C)]
    return -sum(qc * (z - lse) for qc, z in zip(q, logits, strict=True))


def _counts_to_spikes(counts, T):
    """[B, C] integer counts -> [T, B, C] spikes firing in the first count steps."""
    counts = np.asarray(counts)
    t = np.arange(T)[:, None, None]
    return (t < counts[None]).astype(np.float32)


def test_ce_count_hand_value():
    s = _counts_to_spikes([[2, 0, 1], [0, 3, 3]], T=4)
    labels = jnp.array([0, 2])
    expected = (_ce_by_hand([2, 0, 1], 0) + _ce_by_hand([0, 3, 3], 2)) / 2
    assert math.isclose(float(losses.ce_count(s, labels, time_axis=0)), expected, rel_tol=1e-6)
    # batch-major layout gives the same number
    sb = np.moveaxis(s, 0, 1)
    assert math.isclose(float(losses.ce_count(sb, labels, time_axis=1)), expected, rel_tol=1e-6)


def test_label_smoothing_hand_value():
    # logits [2, 0, 0], label 0, eps 0.3: q = [0.8, 0.1, 0.1]; loss = lse - 1.6
    s = _counts_to_spikes([[2, 0, 0]], T=3)
    got = losses.ce_count(s, jnp.array([0]), time_axis=0, label_smoothing=0.3)
    assert math.isclose(float(got), math.log(math.exp(2) + 2) - 1.6, rel_tol=1e-6)
    assert math.isclose(float(got), _ce_by_hand([2, 0, 0], 0, 0.3), rel_tol=1e-6)


def test_ce_max_membrane_and_integral_hand_values():
    v = np.array([[[0.5, -1.0]], [[1.5, 0.25]], [[-0.5, 0.75]]], np.float32)  # [T, B=1, C]
    lab = jnp.array([1])
    got_max = float(losses.ce_max_membrane(v, lab, time_axis=0))
    assert math.isclose(got_max, _ce_by_hand([1.5, 0.75], 1), rel_tol=1e-6)
    got_int = float(losses.ce_membrane_integral(v, lab, time_axis=0, dt=0.5))
    assert math.isclose(got_int, _ce_by_hand([0.75, 0.0], 1), rel_tol=1e-6)


def test_ce_first_spike_hand_value():
    T = 5
    s = np.zeros((T, 1, 3), np.float32)
    s[1, 0, 0] = s[4, 0, 0] = 1.0  # class 0 first fires at 1
    s[3, 0, 1] = 1.0  # class 1 at 3, class 2 never (T = 5)
    got = float(losses.ce_first_spike(s, jnp.array([1]), time_axis=0, tau=2.0))
    assert math.isclose(got, _ce_by_hand([-0.5, -1.5, -2.5], 1), rel_tol=1e-6)


def test_mse_rate_compares_rate_with_rate():
    T = 8
    s = np.zeros((T, 1, 2), np.float32)
    s[::4, 0, 0] = 1.0  # class 0 at 25% (2 spikes in 8 steps)
    lab = jnp.array([0])
    assert float(losses.mse_rate(s, lab, time_axis=0, on_rate=0.25)) == 0.0
    # firing every step must cost more than firing at the target rate (Spyx's bug inverted it)
    s_all = s.copy()
    s_all[:, 0, 0] = 1.0
    got = float(losses.mse_rate(s_all, lab, time_axis=0, on_rate=0.25, off_rate=0.0))
    assert math.isclose(got, (0.75**2 + 0.0) / 2, rel_tol=1e-6)
    # explicit per-neuron rate targets
    got = float(losses.mse_rate(s, jnp.array([[0.5, 0.125]]), time_axis=0))
    assert math.isclose(got, ((0.25 - 0.5) ** 2 + 0.125**2) / 2, rel_tol=1e-6)


def test_mse_count_uses_rate_times_steps():
    T = 10
    s = _counts_to_spikes([[3, 1, 0]], T)
    lab = jnp.array([2])
    # targets: on 0.4 * 10 = 4 for class 2, off 0.1 * 10 = 1 for the others
    got = float(losses.mse_count(s, lab, time_axis=0, on_rate=0.4, off_rate=0.1))
    assert math.isclose(got, ((3 - 1) ** 2 + (1 - 1) ** 2 + (0 - 4) ** 2) / 3, rel_tol=1e-6)
    rate = float(losses.mse_rate(s, lab, time_axis=0, on_rate=0.4, off_rate=0.1))
    assert math.isclose(got / T**2, rate, rel_tol=1e-6)
    got = float(losses.mse_count(s, jnp.array([[3.0, 2.0, 2.0]]), time_axis=0))
    assert math.isclose(got, (0 + 1 + 4) / 3, rel_tol=1e-6)


def test_mse_first_spike_hand_value():
    s = np.zeros((6, 2, 2), np.float32)
    s[2, 0, 0] = 1.0  # sample 0: class 0 at 2, class 1 silent (6)
    s[0, 1, 1] = s[4, 1, 0] = 1.0  # sample 1: class 0 at 4, class 1 at 0
    got = float(losses.mse_first_spike(s, jnp.array([0, 1]), time_axis=0, on_time=1.0))
    # targets: sample 0 [1, 6], sample 1 [6, 1]
    assert math.isclose(got, ((2 - 1) ** 2 + 0 + (4 - 6) ** 2 + (0 - 1) ** 2) / 4, rel_tol=1e-6)


def test_mse_membrane_trace_and_constant_target():
    v = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.0]], np.float32)  # [T=3, N=2]
    assert math.isclose(
        float(losses.mse_membrane(v, np.zeros_like(v), time_axis=0)),
        (1 + 4 + 9 + 1) / 6,
        rel_tol=1e-6,
    )
    got = float(losses.mse_membrane(v, np.array([1.0, 0.0]), time_axis=0))
    assert math.isclose(got, (0 + 4 + 4 + 1 + 1 + 0) / 6, rel_tol=1e-6)
    with pytest.raises(ValueError, match="expected the trace shape"):
        losses.mse_membrane(v, np.zeros(3), time_axis=0)


def test_accuracies_hand_values():
    T = 4
    s = np.zeros((T, 3, 2), np.float32)
    s[:2, 0, 1] = 1.0  # sample 0: counts [0, 2]; first spikes [4, 0]
    s[:, 1, 0] = 1.0  # sample 1: counts [4, 0]; first [0, 4]
    s[3, 2, 0] = s[1:, 2, 1] = 1.0  # sample 2: counts [1, 3]; first [3, 1]
    labels = jnp.array([1, 0, 0])
    assert math.isclose(float(losses.accuracy_count(s, labels, time_axis=0)), 2 / 3, rel_tol=1e-6)
    assert math.isclose(
        float(losses.accuracy_first_spike(s, labels, time_axis=0)), 2 / 3, rel_tol=1e-6
    )
    v = np.array([[[0.0, 1.0]], [[2.0, -3.0]]], np.float32)  # max [2, 1], sum [2, -2]
    assert float(losses.accuracy_max_membrane(v, jnp.array([0]), time_axis=0)) == 1.0
    assert float(losses.accuracy_membrane_integral(v, jnp.array([1]), time_axis=0)) == 0.0


def test_label_validation():
    s = np.zeros((4, 3, 5), np.float32)  # [T, B=3, C=5]
    with pytest.raises(ValueError, match=r"labels has shape \(4,\)"):
        losses.ce_count(s, jnp.zeros(4, jnp.int32), time_axis=0)
    with pytest.raises(TypeError, match="integer class indices"):
        losses.ce_count(s, jnp.zeros(3), time_axis=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        losses.accuracy_count(s, jnp.array([0, 5, 1]), time_axis=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.ce_count(s, jnp.zeros(3, jnp.int32), time_axis=0, label_smoothing=1.5)
    with pytest.raises(ValueError, match="target rate has shape"):
        losses.mse_rate(s, jnp.zeros((4, 5)), time_axis=0)
    # shape checks also fire under jit, where labels are traced
    with pytest.raises(ValueError, match="labels has shape"):
        jax.jit(lambda s, y: losses.ce_count(s, y, time_axis=1))(s, jnp.zeros(3, jnp.int32))
    with pytest.raises(TypeError, match="time_axis must be an int"):
        losses.ce_count(s, jnp.zeros(3, jnp.int32), time_axis=None)  # type: ignore[arg-type]


def test_time_axis_is_keyword_only_without_default():
    s = np.zeros((4, 3, 5), np.float32)
    with pytest.raises(TypeError):
        losses.ce_count(s, jnp.zeros(3, jnp.int32))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        losses.ce_count(s, jnp.zeros(3, jnp.int32), 0)  # type: ignore[misc]


def _network_outputs(w, x):
    """A tiny LIF hidden layer -> (LIF spikes, LI membrane), time-major."""
    lif = js.LIFParams.create(decay=0.8)
    li = js.LIParams.create(decay=0.9)
    h = jnp.einsum("tbi,ih->tbh", x, w[0])
    _, hs = js.unroll(functools.partial(js.lif_step, lif), js.lif_init(lif, h.shape[1:]), h)
    o = jnp.einsum("tbh,hc->tbc", hs, w[1])
    _, os_ = js.unroll(functools.partial(js.lif_step, lif), js.lif_init(lif, o.shape[1:]), o)
    _, v = js.unroll(functools.partial(js.li_step, li), js.li_init(li, o.shape[1:]), o)
    return os_, v


LOSSES = {
    "ce_count": lambda s, v, y: losses.ce_count(s, y, time_axis=0, label_smoothing=0.1),
    "ce_first_spike": lambda s, v, y: losses.ce_first_spike(s, y, time_axis=0),
    "mse_rate": lambda s, v, y: losses.mse_rate(s, y, time_axis=0, on_rate=0.5),
    "mse_count": lambda s, v, y: losses.mse_count(s, y, time_axis=0, on_rate=0.5),
    "mse_first_spike": lambda s, v, y: losses.mse_first_spike(s, y, time_axis=0),
    "ce_max_membrane": lambda s, v, y: losses.ce_max_membrane(v, y, time_axis=0),
    "ce_membrane_integral": lambda s, v, y: losses.ce_membrane_integral(v, y, time_axis=0),
    "mse_membrane": lambda s, v, y: losses.mse_membrane(v, jnp.ones(v.shape[1:]), time_axis=0),
}


def test_gradients_finite_and_nonzero():
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    x = encoding.rate(k1, jax.random.uniform(k2, (4, 6)), 12, time_axis=0)  # [T, B, I]
    w = (jax.random.normal(k3, (6, 8)), jax.random.normal(k2, (8, 3)))
    y = jnp.array([0, 1, 2, 1])

    @jax.jit
    def all_grads(w):
        out = {}
        for name, loss in LOSSES.items():

            def f(w, loss=loss):
                s, v = _network_outputs(w, x)
                return loss(s, v, y)

            out[name] = jax.value_and_grad(f)(w)
        return out

    for name, (val, g) in all_grads(w).items():
        assert np.isfinite(float(val)), name
        leaves = jax.tree.leaves(g)
        assert all(np.isfinite(np.asarray(a)).all() for a in leaves), name
        assert any(np.abs(np.asarray(a)).sum() > 0 for a in leaves), name
