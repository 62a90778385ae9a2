"""Reliability, category *layers*: the compiled-scan cache never serves stale values.

Caching one compiled scan per step signature (category *load*) must not change any
result: arrays are arguments of the cached scan, so updated parameters, captured
arrays and mutable captured objects are read anew on every call.
"""

import functools

import jax.numpy as jnp
import numpy as np
from flax import nnx

import jaxspike as js
import jaxspike.nnx as jsnn


def _numpy_lif(decay, x, v_th=1.0):
    v, out = np.zeros(x.shape[1:]), []
    for xt in x:
        v = decay * v + xt
        s = (v >= v_th).astype(np.float32)
        v = v - s * v_th
        out.append(s)
    return np.stack(out)


def test_layer_parameter_update_is_seen_by_the_next_eager_call():
    layer = jsnn.LIF(3, decay=0.9)
    x = jnp.full((1, 6, 3), 0.3)
    first = layer(x)
    np.testing.assert_array_equal(first[0], _numpy_lif(0.9, np.full((6, 3), 0.3, np.float32)))
    layer.cell.decay[...] = jnp.asarray(0.1, jnp.float32)
    second = layer(x)
    np.testing.assert_array_equal(second[0], _numpy_lif(0.1, np.full((6, 3), 0.3, np.float32)))


def test_sequential_weight_update_is_seen_by_the_next_eager_call():
    lin = nnx.Linear(2, 2, use_bias=False, rngs=nnx.Rngs(0))
    seq = jsnn.Sequential(lin, jsnn.LIF(2, decay=0.5), placement="fused")
    x = jnp.ones((1, 4, 2))
    for scale in (1.0, 0.0, 2.0):
        lin.kernel[...] = jnp.eye(2) * scale
        ref = _numpy_lif(0.5, np.ones((4, 2), np.float32) * scale)
        np.testing.assert_array_equal(seq(x)[0], ref)


def test_closure_over_a_changing_array():
    p = js.IFParams(v_th=1.0)
    for gain in (0.5, 1.0, 0.25):
        g = jnp.asarray(gain)

        def step(state, x, g=g):
            return js.if_step(p, state, x * g)

        _, s = js.unroll(step, js.if_init(p, ()), jnp.ones((4,)))
        ref, v = [], 0.0
        for _ in range(4):
            v += gain
            ref.append(float(v >= 1.0))
            v -= ref[-1]
        assert s.tolist() == ref


def test_closure_over_a_mutated_dict_sees_the_new_value():
    p = js.IFParams(v_th=1.0)
    config = {"gain": 1.0}

    def step(state, x):
        return js.if_step(p, state, x * config["gain"])

    _, s1 = js.unroll(step, js.if_init(p, ()), jnp.ones((3,)))
    config["gain"] = 0.0
    _, s2 = js.unroll(step, js.if_init(p, ()), jnp.ones((3,)))
    assert s1.tolist() == [1.0, 1.0, 1.0] and s2.tolist() == [0.0, 0.0, 0.0]


def test_python_float_parameters_are_not_mixed_up():
    # 1 and 1.0 hash equal; the cache must keep their types apart (int vs float state).
    outs = []
    for v_th in (1.0, 2.0, 1.0):
        p = js.IFParams(v_th=v_th)
        outs.append(
            js.unroll(functools.partial(js.if_step, p), js.if_init(p, ()), jnp.ones((4,)))[
                1
            ].tolist()
        )
    assert outs == [[1.0] * 4, [0.0, 1.0, 0.0, 1.0], [1.0] * 4]


def test_true_and_one_options_are_kept_apart():
    # unroll=True (full unroll) and unroll=1 hash equal; both must run as asked.
    p = js.IFParams(v_th=1.0)
    step = functools.partial(js.if_step, p)
    outs = [
        js.unroll(step, js.if_init(p, ()), jnp.full((5,), 0.5), unroll=u)[1].tolist()
        for u in (True, 1, 5)
    ]
    assert outs == [[0.0, 1.0, 0.0, 1.0, 0.0]] * 3


def test_self_referencing_closure_runs():
    p = js.IFParams(v_th=1.0)

    def step(state, x):
        assert step is not None  # the closure refers to itself
        return js.if_step(p, state, x)

    assert js.unroll(step, js.if_init(p, ()), jnp.ones((3,)))[1].tolist() == [1.0, 1.0, 1.0]


def test_event_capacity_overflow_falls_back_to_the_dense_product():
    layer = jsnn.SpikeLinear(6, 3, event_capacity=2, use_bias=False, rngs=nnx.Rngs(0))
    x = jnp.asarray([[1.0, 1.0, 1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    expected = np.asarray(x) @ np.asarray(layer.kernel[...])  # 3 spikes > capacity 2
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-6)
    graded = x * 0.5  # not binary: the index path would count 0.5 as a spike
    np.testing.assert_allclose(np.asarray(layer(graded)), 0.5 * expected, rtol=1e-6)


def test_complex_input_to_a_real_layer_raises():
    import pytest

    with pytest.raises(TypeError, match="complex dtype complex64; spiking layers take real"):
        jsnn.LIF(3)(jnp.ones((1, 4, 3), jnp.complex64))
