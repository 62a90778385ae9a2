"""Tests of jaxspike.plasticity.competition against NumPy re-implementations of the definitions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike.plasticity.competition import k_winners, lateral_inhibition, wta_per_feature_map


def test_k_winners_matches_numpy_sort():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 7, 3)).astype(np.float32)
    out = np.asarray(k_winners(jnp.asarray(x), 3, axis=1))
    expected = np.zeros_like(x)
    for i in range(4):
        for c in range(3):
            expected[i, np.argsort(-x[i, :, c])[:3], c] = 1.0
    np.testing.assert_array_equal(out, expected)


def test_k_winners_mask_limits_winners():
    x = jnp.asarray([0.9, 0.8, 0.1, 0.5])
    out = k_winners(x, 3, mask=jnp.asarray([False, True, False, True]))
    assert out.tolist() == [0.0, 1.0, 0.0, 1.0]


def test_k_winners_errors():
    with pytest.raises(ValueError, match="k_winners: k must be an int in"):
        k_winners(jnp.zeros(3), 4)
    with pytest.raises(TypeError, match="k_winners: x must have a floating dtype"):
        k_winners(jnp.zeros(3, jnp.int32), 1)


def lateral_numpy(spikes, potential, inhibited):
    """Per location: the largest-potential live spike survives; the rest are inhibited."""
    out = np.zeros_like(spikes)
    inh = inhibited.copy()
    for idx in np.ndindex(spikes.shape[:-1]):
        live = (spikes[idx] > 0) & ~inhibited[idx]
        if live.any():
            c = int(np.argmax(np.where(live, potential[idx], -np.inf)))
            out[(*idx, c)] = 1.0
            inh[idx] = True
            inh[(*idx, c)] = inhibited[(*idx, c)]
    return out, inh


def test_lateral_inhibition_over_time_matches_numpy():
    rng = np.random.default_rng(1)
    n_steps, shape = 6, (2, 3, 3, 4)
    spikes = (rng.random((n_steps, *shape)) < 0.3).astype(np.float32)
    potential = rng.normal(size=(n_steps, *shape)).astype(np.float32)

    def step(inh, inp):
        s, inh = lateral_inhibition(inp[0], inp[1], inhibited=inh)
        return inh, s

    _, out = js.unroll(step, jnp.zeros(shape, bool), (jnp.asarray(spikes), jnp.asarray(potential)))
    inh = np.zeros(shape, bool)
    for t in range(n_steps):
        expected, inh = lateral_numpy(spikes[t], potential[t], inh)
        np.testing.assert_array_equal(np.asarray(out[t]), expected)
    out = np.asarray(out)
    assert out.sum(-1).max() <= 1  # at most one feature per location and step
    # Once a location fired, only the feature that fired first may fire again there.
    fired_maps = [set(np.nonzero(out[:, b, i, j].sum(0))[0]) for b, i, j in np.ndindex(2, 3, 3)]
    assert all(len(m) <= 1 for m in fired_maps)


def test_lateral_inhibition_feature_axis():
    s = jnp.ones((3, 2))  # features on axis 0
    u = jnp.asarray([[1.0, 5.0], [2.0, 4.0], [3.0, 0.0]])
    out, _ = lateral_inhibition(s, u, feature_axis=0)
    assert out.tolist() == [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]


def wta_numpy(potential, spikes, allowed, k, radius):
    _h, _w, _c = potential.shape
    win = np.zeros(potential.shape, bool)
    allowed = allowed.copy()
    for _ in range(k):
        score = np.where((spikes > 0) & allowed, potential, -np.inf)
        if not np.isfinite(score).any():
            break
        y, x, ch = np.unravel_index(np.argmax(score), score.shape)
        win[y, x, ch] = True
        allowed[:, :, ch] = False
        allowed[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1, :] = False
    return win, allowed


@pytest.mark.parametrize(("k", "radius"), [(None, 0), (3, 1), (8, 2)])
def test_wta_per_feature_map_matches_greedy_numpy(k, radius):
    rng = np.random.default_rng(2)
    shape = (3, 6, 5, 8)
    potential = rng.normal(size=shape).astype(np.float32)
    spikes = (rng.random(shape) < 0.4).astype(np.float32)
    allowed = rng.random(shape) < 0.9
    win, allowed_out = wta_per_feature_map(
        jnp.asarray(potential),
        jnp.asarray(spikes),
        k=k,
        radius=radius,
        allowed=jnp.asarray(allowed),
    )
    win = np.asarray(win)
    for b in range(3):
        exp_win, exp_allowed = wta_numpy(
            potential[b], spikes[b], allowed[b], 8 if k is None else k, radius
        )
        np.testing.assert_array_equal(win[b], exp_win.astype(np.float32))
        np.testing.assert_array_equal(np.asarray(allowed_out[b]), exp_allowed)
    # Properties, checked directly: one winner per map at most; winners spiked; spacing.
    assert win.sum(axis=(1, 2)).max() <= 1
    assert np.all(spikes[win > 0] == 1)
    for b in range(3):
        pos = np.argwhere(win[b] > 0)
        for p in pos:
            for q in pos:
                if (p != q).any():
                    assert max(abs(p[0] - q[0]), abs(p[1] - q[1])) > radius


def test_wta_carried_allowed_blocks_second_win():
    u = jnp.ones((1, 2, 2, 1))
    s = jnp.ones((1, 2, 2, 1))
    win1, allowed = wta_per_feature_map(u, s)
    win2, _ = wta_per_feature_map(u, s, allowed=allowed)
    assert float(win1.sum()) == 1.0 and float(win2.sum()) == 0.0


def test_wta_jit_and_errors():
    u = jnp.arange(8.0).reshape(1, 2, 2, 2)
    s = jnp.ones_like(u)
    a = wta_per_feature_map(u, s, radius=1)
    b = jax.jit(wta_per_feature_map, static_argnames=("k", "radius"))(u, s, radius=1)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="wta_per_feature_map: radius"):
        wta_per_feature_map(u, s, radius=-1)
    with pytest.raises(ValueError, match="wta_per_feature_map: expected spikes"):
        wta_per_feature_map(u[0, 0], s[0, 0])
