"""NNX delay modules: exact integer delays, the fractional layer equals its core, learning."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxspike.nnx as jsnn
from jaxspike.delays import fractional_delay_dense, synaptic_delay_step
from jaxspike.nnx._delays import Delay, DelayCell, DelayedLinear


def np_synaptic_delay(x, w, d):
    """Reference from the definition: y[b, t, j] = sum_i W_ij x[b, t - d_ij, i] (0 if t < d)."""
    b, t, n_in = x.shape
    y = np.zeros((b, t, w.shape[1]))
    for i in range(n_in):
        for j in range(w.shape[1]):
            k = int(d[i, j])
            y[:, k:, j] += w[i, j] * x[:, : t - k, i]
    return y


# ------------------------------------------------------------------------- integer Delay


@pytest.mark.parametrize("time_major", [False, True])
def test_delay_spike_arrives_exactly_d_steps_later(time_major):
    rng = np.random.default_rng(0)
    n, t_len, batch = 5, 16, 3
    d = rng.integers(0, 7, n)
    onset = rng.integers(0, 8, (batch, n))
    x = np.zeros((batch, t_len, n), np.float32)
    x[np.arange(batch)[:, None], onset, np.arange(n)] = 1.0
    want = np.zeros_like(x)
    want[np.arange(batch)[:, None], onset + d, np.arange(n)] = 1.0
    layer = Delay(n, d, max_delay=9, time_major=time_major)
    inp = np.swapaxes(x, 0, 1) if time_major else x
    out = np.asarray(layer(jnp.asarray(inp)))
    out = np.swapaxes(out, 0, 1) if time_major else out
    np.testing.assert_array_equal(out, want)


def test_delay_scalar_delay_and_memory_is_max_delay():
    layer = Delay(4, 3, return_carry=True)
    carry, y = layer(jnp.ones((2, 50, 4)))
    assert carry.buffer.shape == (4, 2, 4)  # (max_delay + 1) x one step, not T
    assert carry.pos.dtype == jnp.int32
    np.testing.assert_array_equal(y[:, :3], 0.0)
    np.testing.assert_array_equal(y[:, 3:], 1.0)


def test_delay_cell_inside_flax_rnn_matches_layer():
    x = jnp.asarray(np.random.default_rng(1).random((2, 12, 3)) < 0.3, jnp.float32)
    cell = DelayCell(3, [2, 0, 5])
    ours = Delay(3, [2, 0, 5])(x)
    theirs = nnx.RNN(cell)(x)
    np.testing.assert_array_equal(ours, theirs)


def test_delay_chunks_with_carry_equal_one_call():
    x = jnp.asarray(np.random.default_rng(2).random((2, 20, 3)) < 0.3, jnp.float32)
    layer = Delay(3, [1, 4, 6])
    carry, first = layer(x[:, :7], return_carry=True)
    _, second = layer(x[:, 7:], initial_carry=carry, return_carry=True)
    np.testing.assert_array_equal(jnp.concatenate([first, second], axis=1), layer(x))


def test_delay_is_not_trainable():
    layer = Delay(3, [1, 2, 3])
    assert not jax.tree.leaves(nnx.state(layer, nnx.Param))
    (fixed,) = jax.tree.leaves(nnx.state(layer, jsnn.Fixed))
    assert fixed.dtype == jnp.int32
    np.testing.assert_array_equal(fixed, [1, 2, 3])


@pytest.mark.parametrize(
    ("delays", "kwargs", "match"),
    [
        ([1.5, 0, 0], {}, "whole numbers"),
        ([-1, 0, 0], {}, ">= 0"),
        ([1, 2], {}, r"shape \(3,\)"),
        ([1, 9, 0], {"max_delay": 4}, "raise max_delay"),
    ],
)
def test_delay_rejects_bad_delays(delays, kwargs, match):
    with pytest.raises(ValueError, match=f"DelayCell: .*{match}"):
        Delay(3, delays, **kwargs)


def test_delay_rejects_bad_inputs():
    layer = Delay(3, 1)
    with pytest.raises(ValueError, match="at least 3 axes"):
        layer(jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="size 3"):
        layer(jnp.ones((1, 4, 2)))


# ---------------------------------------------------------------------- DelayedLinear


def make_layer(n_in=4, n_out=3, **kwargs):
    kwargs.setdefault("max_delay", 6)
    return DelayedLinear(n_in, n_out, rngs=nnx.Rngs(0), **kwargs)


def test_delayed_linear_params_and_init_range():
    layer = make_layer(max_delay=10)
    params = nnx.state(layer, nnx.Param)
    names = {str(path[-1]) for path, _ in nnx.to_flat_state(params)}
    assert names == {"kernel", "delays", "bias"}
    d = np.asarray(layer.delays[...])
    assert d.shape == (4, 3) and d.min() >= 0 and d.max() <= 10
    assert layer.kernel[...].shape == (4, 3)


@pytest.mark.parametrize("kernel", ["gaussian", "triangle"])
@pytest.mark.parametrize("time_major", [False, True])
def test_delayed_linear_equals_functional_core(kernel, time_major):
    layer = make_layer(kernel=kernel, sigma=1.5, time_major=time_major)
    layer.bias[...] = jnp.arange(3.0)
    x = jax.random.normal(jax.random.key(1), (2, 9, 4))
    want = (
        fractional_delay_dense(
            x,
            layer.kernel[...],
            layer.delays[...],
            max_delay=6,
            sigma=1.5,
            kernel=kernel,
            time_axis=1,
        )
        + jnp.arange(3.0)[None, None]
    )
    out = layer(jnp.swapaxes(x, 0, 1) if time_major else x)
    out = jnp.swapaxes(out, 0, 1) if time_major else out
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)


def test_delayed_linear_integer_delays_are_exact():
    rng = np.random.default_rng(3)
    layer = make_layer(kernel="triangle", use_bias=False)
    d = rng.integers(0, 7, (4, 3))
    layer.delays[...] = jnp.asarray(d, jnp.float32)
    x = (rng.random((2, 15, 4)) < 0.3).astype(np.float32)
    want = np_synaptic_delay(x, np.asarray(layer.kernel[...], np.float64), d)
    np.testing.assert_allclose(layer(jnp.asarray(x)), want, rtol=1e-5, atol=1e-6)


def test_round_delays_gives_integer_synaptic_delays():
    rng = np.random.default_rng(4)
    layer = make_layer(kernel="gaussian", sigma=2.0)
    layer.bias[...] = jnp.asarray([0.5, -1.0, 0.0])
    d = rng.uniform(0, 6, (4, 3))
    layer.delays[...] = jnp.asarray(d, jnp.float32)
    np.testing.assert_array_equal(layer.integer_delays(), np.round(d))
    layer.round_delays()
    x = (rng.random((2, 15, 4)) < 0.3).astype(np.float32)
    w = np.asarray(layer.kernel[...], np.float64)
    want = np_synaptic_delay(x, w, np.round(d)) + np.array([0.5, -1.0, 0.0])
    np.testing.assert_allclose(layer(jnp.asarray(x)), want, rtol=1e-5, atol=1e-6)
    # the rounded layer equals streaming the ring buffer step by step
    state, ys = None, []
    from jaxspike.delays import delay_init

    state = delay_init(6, (2, 4))
    for t in range(15):
        state, y = synaptic_delay_step(layer.integer_delays(), state, x[:, t], layer.kernel[...])
        ys.append(y)
    stream = np.stack(ys, axis=1) + np.array([0.5, -1.0, 0.0])
    np.testing.assert_allclose(layer(jnp.asarray(x)), stream, rtol=1e-5, atol=1e-6)


def test_delayed_linear_chunks_with_carry_equal_one_call():
    layer = make_layer(sigma=1.0)
    x = jax.random.normal(jax.random.key(2), (2, 20, 4))
    carry, first = layer(x[:, :4], return_carry=True)  # a chunk shorter than max_delay
    assert carry.shape == (6, 2, 4)
    carry, second = layer(x[:, 4:13], initial_carry=carry, return_carry=True)
    third = layer(x[:, 13:], initial_carry=carry)
    np.testing.assert_allclose(
        jnp.concatenate([first, second, third], axis=1), layer(x), rtol=1e-5, atol=1e-6
    )


def test_delayed_linear_gradients_wrt_delays_are_finite():
    layer = make_layer()
    x = jnp.asarray(np.random.default_rng(5).random((2, 12, 4)) < 0.3, jnp.float32)

    def loss(model):
        return jnp.sum(model(x) ** 2)

    grads = nnx.grad(loss)(layer)
    g = np.asarray(grads["delays"][...])
    assert g.shape == (4, 3) and np.isfinite(g).all() and np.abs(g).max() > 0


def loss_to_target(model, batch):
    x, target = batch
    y = model(x)
    return jnp.mean((y - target) ** 2), y


def test_training_moves_delay_to_target():
    """One synapse must learn a delay of 6 steps from a start of 2 (weight fixed near 1)."""
    rng = np.random.default_rng(6)
    x = jnp.asarray(rng.random((8, 40, 1)) < 0.2, jnp.float32)
    target = jnp.asarray(np_synaptic_delay(np.asarray(x), np.ones((1, 1)), np.array([[6]])))
    layer = DelayedLinear(1, 1, max_delay=10, sigma=2.0, use_bias=False, rngs=nnx.Rngs(0))
    layer.kernel[...] = jnp.ones((1, 1))
    layer.delays[...] = jnp.full((1, 1), 2.0)
    opt = nnx.Optimizer(layer, optax.adam(0.1), wrt=nnx.Param)
    for _ in range(150):
        jsnn.train_step(layer, opt, (x, target), loss_to_target)
    assert abs(float(layer.delays[0, 0]) - 6.0) < 0.5


def test_sigma_is_fixed_and_changing_it_does_not_recompile():
    layer = make_layer()
    assert not any(
        "sigma" in str(path) for path, _ in nnx.to_flat_state(nnx.state(layer, nnx.Param))
    )
    traces = []

    @nnx.jit
    def run(model, x):
        traces.append(1)
        return model(x)

    x = jnp.ones((1, 8, 4))
    wide = run(layer, x)
    layer.sigma[...] = 0.5
    narrow = run(layer, x)
    assert len(traces) == 1
    assert not np.allclose(wide, narrow)


def test_delayed_linear_in_sequential():
    rngs = nnx.Rngs(0)
    model = jsnn.Sequential(DelayedLinear(4, 3, max_delay=5, rngs=rngs), Delay(3, 2))
    x = jnp.asarray(np.random.default_rng(7).random((2, 10, 4)) < 0.5, jnp.float32)
    carries, y = model(x[:, :5], return_carry=True)
    _, rest = model(x[:, 5:], initial_carry=carries, return_carry=True)
    assert y.shape == (2, 5, 3)
    np.testing.assert_allclose(jnp.concatenate([y, rest], axis=1), model(x), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel": "box"}, "kernel must be"),
        ({"sigma": 0.0}, "sigma must be"),
        ({"max_delay": -1}, "max_delay must be"),
        ({"max_delay": 2.5}, "max_delay must be"),
    ],
)
def test_delayed_linear_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"DelayedLinear: {match}"):
        make_layer(**kwargs)


def test_delayed_linear_rejects_bad_inputs():
    layer = make_layer()
    with pytest.raises(ValueError, match="DelayedLinear: inputs must end"):
        layer(jnp.ones((1, 5, 3)))
    with pytest.raises(ValueError, match="at least 3 axes"):
        layer(jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="initial_carry must have shape"):
        layer(jnp.ones((1, 5, 4)), initial_carry=jnp.zeros((5, 1, 4)))


# ------------------------------------------------------------------------- Linen mirror


def test_linen_delay_is_exact_and_works_in_linen_rnn():
    from flax import linen as nn

    import jaxspike.linen._delays as jsl_delays

    x = jnp.asarray(np.random.default_rng(8).random((2, 12, 3)) < 0.3, jnp.float32)
    want = np.zeros((2, 12, 3), np.float32)
    for i, d in enumerate((2, 0, 5)):
        want[:, d:, i] = np.asarray(x)[:, : 12 - d, i]
    layer = jsl_delays.Delay(3, (2, 0, 5))
    np.testing.assert_array_equal(layer.apply({}, x), want)
    tm = layer.apply({}, jnp.swapaxes(x, 0, 1), time_major=True)
    np.testing.assert_array_equal(jnp.swapaxes(tm, 0, 1), want)
    rnn = nn.RNN(jsl_delays.DelayCell(3, (2, 0, 5)))
    np.testing.assert_array_equal(rnn.apply(rnn.init(jax.random.key(0), x), x), want)
    with pytest.raises(ValueError, match="Delay: delays must be whole"):
        jsl_delays.Delay(3, 0.5).apply({}, x)


@pytest.mark.parametrize("time_major", [False, True])
def test_linen_delayed_dense_equals_nnx_layer(time_major):
    import jaxspike.linen._delays as jsl_delays

    nnx_layer = make_layer(sigma=1.5, time_major=time_major)
    nnx_layer.bias[...] = jnp.arange(3.0)
    layer = jsl_delays.DelayedDense(3, max_delay=6, sigma=1.5, time_major=time_major)
    x = jax.random.normal(jax.random.key(3), (2, 9, 4))
    x = jnp.swapaxes(x, 0, 1) if time_major else x
    variables = layer.init(jax.random.key(0), x)
    d = np.asarray(variables["params"]["delays"])
    assert set(variables["params"]) == {"kernel", "delays", "bias"}
    assert d.shape == (4, 3) and d.min() >= 0 and d.max() <= 6
    params = {
        "kernel": nnx_layer.kernel[...],
        "delays": nnx_layer.delays[...],
        "bias": nnx_layer.bias[...],
    }
    got_carry, got = layer.apply({"params": params}, x, return_carry=True)
    want_carry, want = nnx_layer(x, return_carry=True)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got_carry, want_carry)
    grads = jax.grad(lambda p: jnp.sum(layer.apply({"params": p}, x) ** 2))(params)
    assert np.isfinite(grads["delays"]).all() and np.abs(grads["delays"]).max() > 0


def test_state_and_outputs_follow_bfloat16_inputs():
    x = jnp.ones((1, 4, 2), jnp.bfloat16)
    carry, y = DelayedLinear(2, 3, max_delay=3, rngs=nnx.Rngs(0))(x, return_carry=True)
    assert carry.dtype == y.dtype == jnp.bfloat16
    carry, y = Delay(2, 1)(x, return_carry=True)
    assert carry.buffer.dtype == y.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(y, np.float32)[0, :, 0], [0.0, 1.0, 1.0, 1.0])


def test_delayed_linear_runs_one_step_at_a_time_from_an_empty_chunk():
    layer = make_layer(sigma=1.0)
    x = jax.random.normal(jax.random.key(4), (2, 8, 4))
    carry, empty = layer(x[:, :0], return_carry=True)
    assert empty.shape == (2, 0, 3)
    np.testing.assert_array_equal(carry, np.zeros((6, 2, 4)))
    steps = []
    for t in range(8):
        carry, y = layer(x[:, t : t + 1], initial_carry=carry, return_carry=True)
        steps.append(y)
    np.testing.assert_allclose(jnp.concatenate(steps, axis=1), layer(x), rtol=1e-5, atol=1e-6)
