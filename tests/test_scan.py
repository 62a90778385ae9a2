"""unroll: checkpointing, batch-major layout and unrolling change nothing numerically."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js

P = js.CubaLIFParams.create(decay_syn=0.7, decay_mem=0.85, v_th=1.0)


def _run(w, xs, **kwargs):
    """Linear layer + CuBa-LIF over time; loss from spikes and the membrane trace."""
    step = functools.partial(js.cuba_lif_step, P, detach_reset=False)
    body = lambda s, x: step(s, x @ w)
    final, ys, states = js.unroll(body, js.cuba_lif_init(P, (4,)), xs, return_states=True, **kwargs)
    loss = jnp.sum(ys * jnp.arange(1.0, 5.0)[None]) + 0.1 * jnp.sum(states.v**2) + jnp.sum(final.i)
    return loss, (final, ys, states)


_grad = jax.jit(jax.value_and_grad(_run, argnums=(0, 1), has_aux=True))


def _data(t):
    k1, k2 = jax.random.split(jax.random.key(t))
    return jax.random.normal(k1, (3, 4)), jax.random.uniform(k2, (t, 3), maxval=1.5)


def _assert_same(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert u.shape == v.shape
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("t", "options"),
    [
        (12, {"checkpoint": True}),
        (12, {"checkpoint": 4}),  # divides
        (13, {"checkpoint": 4}),  # 3 chunks + a tail of 1
        (3, {"checkpoint": 5}),  # shorter than one chunk
        (12, {"checkpoint": 1}),
        (12, {"unroll": 4}),
        (13, {"unroll": 4, "checkpoint": 3}),
        (5, {"unroll": True}),
    ],
    ids=str,
)
def test_options_match_plain_scan(t, options):
    w, xs = _data(t)
    (loss0, out0), g0 = _grad(w, xs)
    grad = jax.value_and_grad(functools.partial(_run, **options), argnums=(0, 1), has_aux=True)
    (loss1, out1), g1 = jax.jit(grad)(w, xs)
    assert float(out0[1].sum()) > 0  # spikes happen
    np.testing.assert_allclose(loss1, loss0, rtol=1e-6)
    _assert_same(out1, out0)
    _assert_same(g1, g0)
    assert any(np.any(np.asarray(g) != 0) for g in g0)


def test_unroll_equals_python_loop_of_steps():
    w, xs = _data(9)
    step = functools.partial(js.cuba_lif_step, P)
    state = js.cuba_lif_init(P, (4,))
    ys, states = [], []
    for x in xs:
        state, y = step(state, x @ w)
        ys.append(y)
        states.append(state)
    final, u_ys, u_states = js.unroll(
        lambda s, x: step(s, x @ w), js.cuba_lif_init(P, (4,)), xs, return_states=True
    )
    _assert_same(u_ys, jnp.stack(ys))
    _assert_same(u_states, jax.tree.map(lambda *a: jnp.stack(a), *states))
    _assert_same(final, state)


@pytest.mark.parametrize("return_states", [False, True])
def test_batch_major_is_transposed_unroll(return_states):
    p = js.LIFParams.create(decay=0.9, v_th=1.0)
    step = functools.partial(js.lif_step, p)
    xs_bt = jax.random.uniform(jax.random.key(1), (2, 7, 3), maxval=0.6)  # [B, T, N]
    state = js.lif_init(p, (2, 3))
    bm = js.unroll_batch_major(step, state, xs_bt, return_states=return_states)
    tm = js.unroll(step, state, jnp.swapaxes(xs_bt, 0, 1), return_states=return_states)
    assert len(bm) == len(tm) == (3 if return_states else 2)
    _assert_same(bm[0], tm[0])
    assert bm[1].shape == (2, 7, 3)
    _assert_same(bm[1], jnp.swapaxes(tm[1], 0, 1))
    if return_states:
        _assert_same(bm[2], jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), tm[2]))
    # and each batch row equals its own run
    for b in range(2):
        _, ys_b = js.unroll(step, js.lif_init(p, (3,)), xs_bt[b])
        _assert_same(bm[1][b], ys_b)


def test_batch_major_passes_options():
    p = js.LIFParams.create(decay=0.9, v_th=1.0)
    step = functools.partial(js.lif_step, p)
    xs_bt = jax.random.uniform(jax.random.key(2), (2, 7, 3), maxval=0.6)
    state = js.lif_init(p, (2, 3))
    a = js.unroll_batch_major(step, state, xs_bt, checkpoint=3, unroll=2)
    b = js.unroll_batch_major(step, state, xs_bt)
    _assert_same(a, b)


def test_pytree_inputs_and_outputs():
    """xs and ys may be pytrees; every leaf is scanned over axis 0."""
    p = js.LIFParams.create(decay=0.5, v_th=1.0)

    def body(s, x):
        s, z = js.lif_step(p, s, x["a"] + x["b"])
        return s, {"z": z, "v": s.v}

    xs = {"a": jnp.full((5, 2), 0.4), "b": jnp.full((5, 2), 0.35)}
    _, ys = js.unroll(body, js.lif_init(p, (2,)), xs)
    # 0.75, 0.375 + 0.75 = 1.125 -> fire ... (β = 0.5, x = 0.75: fires every other step)
    np.testing.assert_array_equal(ys["z"][:, 0], [0.0, 1.0, 0.0, 1.0, 0.0])
    assert ys["v"].shape == (5, 2)
