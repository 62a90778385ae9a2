"""Activity regularizers: hand values, scan-carried counter == stacked spikes, gradients."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike import regularizers as reg


def _spikes():
    # [T=4, B=2, N=3]; rates per (b, n): b0 [1, .5, 0], b1 [.25, .5, 0]
    s = np.zeros((4, 2, 3), np.float32)
    s[:, 0, 0] = 1.0
    s[:2, 0, 1] = 1.0
    s[0, 1, 0] = 1.0
    s[1:3, 1, 1] = 1.0
    return s


def test_rate_bounds_hand_values():
    s = _spikes()
    # per element: max(0, 0.3 - r)^2 -> [0, 0, .09, .0025, 0, .09] / 6
    got = float(reg.rate_lower_bound(s, 0.3, time_axis=0))
    assert math.isclose(got, (0.09 + 0.0025 + 0.09) / 6, rel_tol=1e-6)
    # max(0, r - 0.4)^2 -> [.36, .01, 0, 0, .01, 0] / 6
    got = float(reg.rate_upper_bound(s, 0.4, time_axis=0))
    assert math.isclose(got, (0.36 + 0.01 + 0.01) / 6, rel_tol=1e-6)
    # averaged over the batch first: r = [.625, .5, 0]
    got = float(reg.rate_lower_bound(s, 0.3, time_axis=0, batch_axis=0))
    assert math.isclose(got, 0.09 / 3, rel_tol=1e-6)
    got = float(reg.rate_upper_bound(s, 0.55, time_axis=0, batch_axis=0))
    assert math.isclose(got, 0.075**2 / 3, rel_tol=1e-5)


def test_count_penalties_hand_values():
    s = _spikes()  # counts b0 [4, 2, 0], b1 [1, 2, 0]
    assert math.isclose(float(reg.l1_count(s, time_axis=0)), 9 / 6, rel_tol=1e-6)
    assert math.isclose(float(reg.l2_count(s, time_axis=0)), (16 + 4 + 1 + 4) / 6, rel_tol=1e-6)
    sb = np.moveaxis(s, 0, 1)  # batch-major, same numbers
    assert math.isclose(float(reg.l2_count(sb, time_axis=1)), 25 / 6, rel_tol=1e-6)


def test_counter_in_scan_equals_stacked():
    s = jnp.asarray(_spikes())

    def body(c, s_t):
        return reg.counter_update(c, s_t), None

    counter, _ = jax.lax.scan(body, reg.counter_init((2, 3)), s)
    np.testing.assert_array_equal(counter.counts, s.sum(0))
    assert float(counter.steps) == 4.0
    for f, kw in [
        (reg.rate_lower_bound, {"min_rate": 0.3}),
        (reg.rate_upper_bound, {"max_rate": 0.4, "batch_axis": 0}),
        (reg.l1_count, {}),
        (reg.l2_count, {}),
    ]:
        a = f(counter, time_axis=None, **kw)
        b = f(s, time_axis=0, **kw)
        assert math.isclose(float(a), float(b), rel_tol=1e-6), f.__name__


def test_with_spike_counter_through_unroll_and_gradients():
    p = js.LIFParams.create(decay=0.9)
    xs = jax.random.uniform(jax.random.key(0), (20, 2, 5))
    step = reg.with_spike_counter(functools.partial(js.lif_step, p))

    def penalty(scale):
        carry = (js.lif_init(p, (2, 5)), reg.counter_init((2, 5)))
        (_, counter), s = js.unroll(step, carry, scale * xs)
        return reg.rate_upper_bound(counter, 0.1, time_axis=None), s

    (val, s), g = jax.value_and_grad(penalty, has_aux=True)(1.0)
    stacked = reg.rate_upper_bound(s, 0.1, time_axis=0)
    assert math.isclose(float(val), float(stacked), rel_tol=1e-6)
    assert float(val) > 0 and np.isfinite(float(g)) and float(g) > 0  # more input, more spikes
    g2 = jax.grad(lambda a: reg.l2_count(penalty(a)[1], time_axis=0))(1.0)
    assert np.isfinite(float(g2))


def test_jit():
    s = jnp.asarray(_spikes())
    f = jax.jit(lambda s: reg.rate_lower_bound(s, 0.3, time_axis=0))
    assert math.isclose(float(f(s)), float(reg.rate_lower_bound(s, 0.3, time_axis=0)))


def test_errors():
    s = _spikes()
    with pytest.raises(ValueError, match="only for a SpikeCounter"):
        reg.l1_count(s, time_axis=None)
    with pytest.raises(ValueError, match="pass time_axis=None"):
        reg.l1_count(reg.count_spikes(s, time_axis=0), time_axis=0)
    with pytest.raises(ValueError, match="batch_axis=2 is out of range"):
        reg.rate_lower_bound(s, 0.1, time_axis=0, batch_axis=2)
    with pytest.raises(ValueError, match="counter_init"):
        reg.counter_update(reg.counter_init((3,)), jnp.ones((2, 3)))
    with pytest.raises(TypeError):
        reg.l2_count(s)  # type: ignore[call-arg]
