"""adLIF against a NumPy transcription of Bittar & Garner (2022), Frontiers in Neuroscience.

The transcription follows the paper's discrete equations as the authors' code (SparCh)
runs them, with the threshold v_th and a strict comparison::

    w_t = beta w_{t-1} + a u_{t-1} + b s_{t-1}
    u_t = alpha (u_{t-1} - v_th s_{t-1}) + (1 - alpha) (x_t - w_t)
    s_t = 1[u_t > v_th]

jaxspike stores the post-reset membrane v_t = u_t - v_th s_t and w_{t+1}.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike.neurons import AdLIFParams, adlif_init, adlif_step


def _paper(x, alpha, beta, a, b, v_th):
    u = np.zeros(x.shape[1])
    w = np.zeros_like(u)
    s = np.zeros_like(u)
    us, ss, ws = [], [], []
    for t in range(x.shape[0]):
        w = beta * w + a * u + b * s
        u = alpha * (u - v_th * s) + (1 - alpha) * (x[t] - w)
        s = (u > v_th).astype(np.float64)
        us.append(u)
        ss.append(s)
        ws.append(w)
    return np.asarray(us), np.asarray(ss), np.asarray(ws)


@pytest.mark.parametrize(
    ("alpha", "beta", "a", "b"),
    [(0.9, 0.97, 0.5, 1.0), (0.8, 0.99, -0.5, 0.2), (0.95, 0.9, 0.9, 1.8)],
)
def test_adlif_equals_the_paper(alpha, beta, a, b):
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 40.0, size=(200, 8)).astype(np.float32)
    p = AdLIFParams.create(decay=alpha, decay_adapt=beta, a=a, b=b, v_th=1.0)
    step = functools.partial(adlif_step, p, threshold=">")
    _, (s, tr) = js.unroll(
        lambda st, xx: (lambda new, out: (new, (out, new)))(*step(st, xx)),
        adlif_init(p, (8,)),
        jnp.asarray(x),
    )
    u_ref, s_ref, w_ref = _paper(x.astype(np.float64), alpha, beta, a, b, 1.0)
    assert 20 < s_ref.sum() < s_ref.size
    np.testing.assert_array_equal(np.asarray(s), s_ref)
    np.testing.assert_allclose(np.asarray(tr.v), u_ref - s_ref, rtol=1e-4, atol=1e-4)
    # the state holds w_{t+1}; the paper's w_t is the previous state's
    np.testing.assert_allclose(np.asarray(tr.w)[:-1], w_ref[1:], rtol=1e-4, atol=1e-4)


def test_adlif_subthreshold_coupling_oscillates():
    """a > 0 couples w to u: a constant input gives a damped response to a fixed point."""
    p = AdLIFParams.create(decay=0.9, decay_adapt=0.9, a=0.5, b=0.0, v_th=1e6)
    _, _, states = js.unroll(
        functools.partial(adlif_step, p), adlif_init(p, ()), jnp.ones(100), return_states=True
    )
    v = np.asarray(states.v)
    # fixed point of the linear system: w* = a u* / (1 - beta), u* = x - w*
    u_star = 1.0 / (1.0 + 0.5 / 0.1)
    assert abs(v[-1] - u_star) < 1e-3
    assert v.max() > u_star + 0.05  # overshoot before settling (the adaptation lags)


def test_adlif_layers_and_registry():
    assert js.NEURONS["adlif"].params_cls is AdLIFParams
    n = js.create_neuron("adlif", a=0.2)
    _, s = n.step(n.init((3,)), jnp.full((3,), 30.0))  # (1 - 0.95) * 30 > 1
    np.testing.assert_array_equal(s, np.ones(3))
    from jaxspike import linen as jln
    from jaxspike import nnx as jnnx

    x = jax.random.uniform(jax.random.key(0), (2, 30, 3), maxval=30.0)
    out_nnx = jnnx.AdLIF(3, tau_mem=10.0, tau_adapt=50.0)(x)
    lin = jln.AdLIF(3, tau_mem=10.0, tau_adapt=50.0)
    out_linen = lin.apply(lin.init(jax.random.key(0), x), x)
    p = AdLIFParams.from_tau(10.0, 50.0)
    _, ref = js.unroll(
        functools.partial(adlif_step, p), adlif_init(p, (2, 3)), jnp.swapaxes(x, 0, 1)
    )
    np.testing.assert_array_equal(out_nnx, jnp.swapaxes(ref, 0, 1))
    np.testing.assert_array_equal(out_linen, out_nnx)
