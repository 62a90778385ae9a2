"""Readouts against NumPy and hand-computed values, including gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike import readout


def _spikes(shape, seed=0, p=0.3):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) < p).astype(np.float32)


@pytest.mark.parametrize("time_axis", [0, 1, -2])
def test_count_and_rate_match_numpy(time_axis):
    s = _spikes((4, 4, 3))  # T == B: only time_axis says which is time
    np.testing.assert_array_equal(
        readout.spike_count(s, time_axis=time_axis), s.sum(axis=time_axis)
    )
    np.testing.assert_allclose(
        readout.spike_rate(s, time_axis=time_axis, dt=0.5), s.sum(axis=time_axis) / (4 * 0.5)
    )


def test_count_differs_between_time_axes_when_t_equals_b():
    s = jnp.zeros((3, 3, 1)).at[0, :, 0].set(1.0)  # all spikes at t = 0 (time_axis 0)
    assert readout.spike_count(s, time_axis=0)[:, 0].tolist() == [1.0, 1.0, 1.0]
    assert readout.spike_count(s, time_axis=1)[:, 0].tolist() == [3.0, 0.0, 0.0]


def test_first_spike_time_matches_argmax_and_never():
    s = _spikes((7, 5, 4), seed=2, p=0.15)
    got = np.asarray(readout.first_spike_time(s, time_axis=0))
    expected = np.where(s.any(axis=0), s.argmax(axis=0), 7)
    np.testing.assert_array_equal(got, expected)
    got_never = np.asarray(readout.first_spike_time(s, time_axis=0, never=-1.0))
    np.testing.assert_array_equal(got_never, np.where(s.any(axis=0), s.argmax(axis=0), -1))
    assert (expected == 7).any()  # the case is exercised


def test_first_spike_time_gradient_by_hand():
    # t = sum_t prod_{t' <= t} (1 - s_t'); s = [0, 0, 1, 0, 1] gives t = 2 and
    # dt/ds_k = -sum_{t >= k} prod_{t' <= t, t' != k} (1 - s_t') = [-2, -1, -2, 0, 0]
    s = jnp.array([0.0, 0.0, 1.0, 0.0, 1.0])
    assert float(readout.first_spike_time(s, time_axis=0)) == 2.0
    g = jax.grad(lambda s: readout.first_spike_time(s, time_axis=0))(s)
    assert g.tolist() == [-2.0, -1.0, -2.0, 0.0, 0.0]


def test_first_spike_time_surrogate_gradient_is_finite_and_pulls_earlier():
    v = jnp.array([0.2, 0.9, 1.3, 0.4, 1.1])  # membrane over time, threshold 1

    def t_first(v):
        return readout.first_spike_time(js.spike(v - 1.0, js.FastSigmoid()), time_axis=0)

    g = jax.grad(t_first)(v)
    assert np.isfinite(np.asarray(g)).all()
    assert (np.asarray(g) <= 0).all()  # raising the membrane never delays the spike
    assert g[1] < 0  # the step just below threshold could fire earlier


def test_membrane_readouts_match_numpy():
    v = np.random.default_rng(1).normal(size=(2, 6, 3)).astype(np.float32)  # [B, T, N]
    np.testing.assert_array_equal(readout.max_membrane(v, time_axis=1), v.max(axis=1))
    np.testing.assert_array_equal(readout.final_membrane(v, time_axis=1), v[:, -1])
    np.testing.assert_allclose(
        readout.membrane_integral(v, time_axis=1, dt=0.1), v.sum(axis=1) * 0.1, rtol=1e-6
    )


def test_population_decode_keeps_batch():
    x = np.arange(24.0, dtype=np.float32).reshape(2, 12)  # Spyx returns (8,) here
    out = readout.population_decode(x, 3)
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out, x.reshape(2, 3, 4).sum(-1))
    assert readout.population_decode(np.ones((5, 2, 6), np.float32), 2).shape == (5, 2, 2)
    with pytest.raises(ValueError, match="multiple of num_classes=5"):
        readout.population_decode(x, 5)


def test_population_value_silent_is_midpoint():
    assert float(readout.population_value(jnp.zeros(4), low=-1.0, high=3.0)) == 1.0


def test_jit_and_errors():
    s = _spikes((5, 2, 3))
    f = jax.jit(lambda s: readout.spike_count(s, time_axis=0))
    np.testing.assert_array_equal(f(s), s.sum(0))
    with pytest.raises(ValueError, match="time_axis=3 is out of range"):
        readout.spike_count(s, time_axis=3)
    with pytest.raises(TypeError, match="time_axis must be an int"):
        readout.spike_rate(s, time_axis=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating dtype"):
        readout.spike_count(np.ones((3, 2), np.int32), time_axis=0)
    with pytest.raises(ValueError, match="dt"):
        readout.spike_rate(s, time_axis=0, dt=0.0)


def test_bfloat16_readouts_keep_dtype_and_values():
    s = _spikes((9, 2, 3), seed=4, p=0.2)
    sb = jnp.asarray(s, jnp.bfloat16)
    for f in (readout.spike_count, readout.first_spike_time):
        out = f(sb, time_axis=0)
        assert out.dtype == jnp.bfloat16
        np.testing.assert_array_equal(np.asarray(out, np.float32), f(s, time_axis=0))
