"""ANN-to-SNN conversion: transfer function, convergence, folding, errors (jaxspike.nnx.convert).

Expected values come from the analysis of the integrate-and-fire neuron with subtractive
reset (docs/neurons/if.md): from rest, a constant input ``c`` per step (threshold 1,
``0 <= c <= 1``) crosses the threshold at every step where the cumulative input ``t*c``
passes an integer, so it fires ``floor(T*c)`` times in ``T`` steps (H(0) = 1); started at
``v = 1/2`` it fires ``floor(T*c + 1/2)`` times.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxspike.nnx as jsnn
from jaxspike.nnx import convert


def dense_chain(kernels, biases):
    """An nnx.Sequential of Linear layers with the given arrays and ReLUs between them."""
    layers = []
    for i, (k, b) in enumerate(zip(kernels, biases, strict=True)):
        lin = nnx.Linear(k.shape[0], k.shape[1], rngs=nnx.Rngs(0))
        lin.kernel[...] = jnp.asarray(k, jnp.float32)
        lin.bias[...] = jnp.asarray(b, jnp.float32)
        layers.append(lin)
        if i < len(kernels) - 1:
            layers.append(nnx.relu)
    return nnx.Sequential(*layers)


def fan_out(currents):
    """1 input -> one hidden neuron per current (kernel = currents) -> 1 output."""
    c = np.asarray(currents, np.float32)[None, :]
    return dense_chain([c, np.ones((c.shape[1], 1), np.float32)], [np.zeros(c.shape[1]), [0.0]])


# -- transfer function of a converted neuron --------------------------------------------


@pytest.mark.parametrize("num_steps", [10, 37, 100])
def test_transfer_function_is_floor_of_t_times_current(num_steps):
    rng = np.random.default_rng(num_steps)
    # Currents with T*c well away from integers (fractional part in [0.2, 0.8]), plus the
    # maximum 1 (sets lambda = 1 with percentile 100), zero and a negative one.
    counts = rng.integers(0, num_steps, 40)
    c = (counts + rng.uniform(0.2, 0.8, 40)) / num_steps
    c = np.concatenate([c, [1.0, 0.0, -0.3]])
    snn = convert.convert(fan_out(c), np.ones((1, 1)), percentile=100.0)
    assert snn.scales == (1.0,)
    rate = np.asarray(snn.spike_rates(np.ones((1, 1)), num_steps)[0][0])
    expected = np.minimum(np.floor(num_steps * np.maximum(c, 0.0)), num_steps)
    np.testing.assert_array_equal(np.rint(rate * num_steps), expected)


@pytest.mark.parametrize("num_steps", [5, 20, 64])
def test_rate_matches_relu_over_threshold_within_one_over_t(num_steps):
    rng = np.random.default_rng(0)
    b = rng.uniform(-2.0, 3.0, 200)
    b[0] = 3.0
    snn = convert.convert(fan_out(b), np.ones((1, 1)), percentile=100.0)
    lam = snn.scales[0]
    assert lam == pytest.approx(3.0)  # the threshold in input units
    rate = np.asarray(snn.spike_rates(np.ones((1, 1)), num_steps)[0][0]) / lam
    relu = np.maximum(b, 0.0) / lam
    assert np.all(np.abs(rate - relu) <= 1.0 / num_steps + 1e-6)
    assert np.all(rate <= relu + 1e-6)  # from rest the rate rounds down


@pytest.mark.parametrize("num_steps", [10, 33])
def test_half_threshold_start_rounds_to_nearest(num_steps):
    rng = np.random.default_rng(1)
    counts = rng.integers(0, num_steps, 40)
    c = np.concatenate([(counts + rng.uniform(0.1, 0.4, 40)) / num_steps, [1.0]])
    c = np.concatenate([c, (counts + rng.uniform(0.6, 0.9, 40)) / num_steps])
    c = np.clip(c, 0.0, 1.0)
    snn = convert.convert(fan_out(c), np.ones((1, 1)), percentile=100.0, v_init=0.5)
    rate = np.asarray(snn.spike_rates(np.ones((1, 1)), num_steps)[0][0])
    np.testing.assert_array_equal(np.rint(rate * num_steps), np.floor(num_steps * c + 0.5))
    assert np.all(np.abs(rate - c) <= 0.5 / num_steps + 1e-6)


# -- convergence of a converted two-layer network ---------------------------------------


def two_layer(seed=0):
    rng = np.random.default_rng(seed)
    kernels = [rng.normal(0, 0.6, (8, 16)), rng.normal(0, 0.4, (16, 12)), rng.normal(0, 1, (12, 3))]
    biases = [rng.normal(0, 0.1, 16), rng.normal(0, 0.1, 12), rng.normal(0, 0.1, 3)]
    x = rng.uniform(0, 1, (20, 8)).astype(np.float32)
    return dense_chain(kernels, biases), x, kernels


def test_two_layer_rates_converge_to_activations():
    model, x, kernels = two_layer()
    snn = convert.convert(model, x, percentile=100.0)
    acts, out = convert.activations(model, x)
    lam1, lam2 = snn.scales
    # Row sums of |W| of the normalized second layer bound how far its membrane can stray.
    w2 = np.abs(kernels[1]).sum(0) * lam1 / lam2
    errors = {}
    for num_steps in (100, 2000):
        r1, r2 = (np.asarray(r) for r in snn.spike_rates(x, num_steps))
        a1, a2 = (np.asarray(a) for a in acts)
        # Layer 1 receives constant currents: floor(T c) / T, so within 1/T of a1/lam1.
        assert np.all(np.abs(r1 - a1) / lam1 <= 1.0 / num_steps + 1e-5)
        # Layer 2 integrates layer 1's spikes: within (|W2|_1 + 2) / T of a2/lam2.
        assert np.all(np.abs(r2 - a2) / lam2 <= (w2 + 2.0) / num_steps)
        est = np.asarray(snn(x, num_steps)[:, -1])
        errors[num_steps] = np.abs(est - np.asarray(out)).max()
    assert errors[2000] < errors[100] / 5
    assert errors[2000] < 0.02 * np.abs(np.asarray(out)).max()


def test_running_estimate_equals_shorter_run():
    model, x, _ = two_layer(1)
    snn = convert.convert(model, x)
    long, short = snn(x, 50), snn(x, 20)
    np.testing.assert_allclose(long[:, :20], short, rtol=1e-6, atol=1e-6)


def test_spike_readout_estimates_relu_of_output():
    model, x, _ = two_layer(2)
    snn = convert.convert(model, x, percentile=100.0, readout="spikes")
    _, out = convert.activations(model, x)
    est = np.asarray(snn(x, 4000)[:, -1])
    relu = np.maximum(np.asarray(out), 0.0)
    assert np.abs(est - relu).max() < 0.02 * relu.max()
    assert len(snn.spike_rates(x, 10)) == 3


def test_rate_coding_converges():
    model, x, _ = two_layer(3)
    snn = convert.convert(model, x, coding="rate")
    _, out = convert.activations(model, x)
    est = np.asarray(snn(x, 4000, key=jax.random.key(0))[:, -1])
    assert np.abs(est - np.asarray(out)).max() < 0.05 * np.abs(np.asarray(out)).max()


def test_network_is_a_jaxspike_sequential_of_if_neurons():
    model, x, _ = two_layer()
    snn = convert.convert(model, x)
    assert isinstance(snn.network, jsnn.Sequential)
    neurons = [layer for layer in snn.network.layers if isinstance(layer, jsnn.RNN)]
    assert [isinstance(n.cell, jsnn.IFCell) for n in neurons] == [True, True, False]
    assert isinstance(neurons[-1].cell, jsnn.LICell)
    assert snn.network(jnp.ones((2, 3, 8))).shape == (2, 3, 3)


# -- convolutions, pooling, batch norm, Linen --------------------------------------------


def with_random_stats(model, seed=0):
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    rng = np.random.default_rng(seed)
    for _, bn in nnx.iter_graph(model):
        if isinstance(bn, nnx.BatchNorm):
            n = bn.mean.shape[0]
            bn.mean[...] = jnp.asarray(rng.normal(0, 0.5, n), jnp.float32)
            bn.var[...] = jnp.asarray(rng.uniform(0.2, 2.0, n), jnp.float32)
            bn.scale[...] = jnp.asarray(rng.uniform(0.5, 1.5, n), jnp.float32)
            bn.bias[...] = jnp.asarray(rng.normal(0, 0.3, n), jnp.float32)
    model.eval()
    return model


def conv_net(pool=nnx.avg_pool):
    rngs = nnx.Rngs(0)
    return nnx.Sequential(
        nnx.Conv(1, 4, (3, 3), rngs=rngs),
        nnx.BatchNorm(4, rngs=rngs),
        nnx.relu,
        functools.partial(pool, window_shape=(2, 2), strides=(2, 2)),
        nnx.Conv(4, 6, (3, 3), padding="VALID", use_bias=False, rngs=rngs),
        nnx.BatchNorm(6, rngs=rngs),
        nnx.relu,
        nnx.Dropout(0.5, rngs=rngs),
        lambda x: x.reshape(x.shape[0], -1),
        nnx.Linear(24, 5, rngs=rngs),
        nnx.BatchNorm(5, rngs=rngs),
    )


def test_batch_norm_folding_equals_the_unfolded_network():
    model = with_random_stats(conv_net())
    x = jax.random.uniform(jax.random.key(0), (7, 8, 8, 1))
    folded = convert.prepare(model, x)
    assert not any(isinstance(layer, nnx.BatchNorm) for layer in folded.layers)
    np.testing.assert_allclose(folded(x), model(x), rtol=1e-5, atol=1e-5)
    acts, out = convert.activations(model, x)
    np.testing.assert_allclose(out, model(x), rtol=1e-5, atol=1e-5)
    assert [a.shape for a in acts] == [(7, 8, 8, 4), (7, 2, 2, 6)]


def test_converted_conv_net_converges():
    model = with_random_stats(conv_net(), seed=1)
    x = jax.random.uniform(jax.random.key(1), (6, 8, 8, 1))
    snn = convert.convert(model, x, percentile=100.0, v_init=0.5)
    est, out = np.asarray(snn(x, 1000)[:, -1]), np.asarray(model(x))
    assert np.abs(est - out).max() < 0.03 * np.abs(out).max()


def test_max_pool_approximation_uses_average_pooling():
    x = jax.random.uniform(jax.random.key(2), (3, 8, 8, 1))
    with_max = with_random_stats(conv_net(nnx.max_pool))
    with_avg = with_random_stats(conv_net(nnx.avg_pool))
    np.testing.assert_allclose(
        convert.prepare(with_max, x, max_pool="avg")(x), with_avg(x), rtol=1e-5, atol=1e-5
    )
    snn = convert.convert(with_max, x, max_pool="avg")
    assert snn(x, 4).shape == (3, 4, 5)


def test_sum_pool_and_a_segment_without_weights():
    rngs = nnx.Rngs(3)
    model = nnx.Sequential(
        nnx.Conv(1, 3, (3, 3), rngs=rngs),
        nnx.relu,
        convert.SumPool((2, 2)),
        nnx.relu,  # a second ReLU with no weights before it: a pure rescaling
        convert.Flatten(),
        nnx.Linear(48, 4, rngs=rngs),
    )
    x = jax.random.uniform(jax.random.key(3), (5, 8, 8, 1))
    snn = convert.convert(model, x, percentile=100.0)
    acts, out = convert.activations(model, x)
    assert snn.scales[1] != snn.scales[0]
    r1 = np.asarray(snn.spike_rates(x, 1000)[1])
    assert np.abs(r1 - np.asarray(acts[1])).max() < 0.02 * snn.scales[1]
    est = np.asarray(snn(x, 1000)[:, -1])
    assert np.abs(est - np.asarray(out)).max() < 0.03 * np.abs(np.asarray(out)).max()


def test_linen_model_via_its_variables():
    model = nn.Sequential(
        [nn.Dense(16), nn.BatchNorm(use_running_average=True), nn.relu, nn.Dense(3)]
    )
    x = jax.random.uniform(jax.random.key(4), (10, 5))
    variables = model.init(jax.random.key(5), x)
    rng = np.random.default_rng(4)
    variables["batch_stats"]["layers_1"] = {
        "mean": jnp.asarray(rng.normal(0, 0.3, 16), jnp.float32),
        "var": jnp.asarray(rng.uniform(0.3, 2.0, 16), jnp.float32),
    }
    variables["params"]["layers_1"]["scale"] = jnp.asarray(rng.uniform(0.5, 2, 16), jnp.float32)
    expected = model.apply(variables, x)
    folded = convert.prepare(model, x, variables=variables)
    np.testing.assert_allclose(folded(x), expected, rtol=1e-5, atol=1e-5)
    snn = convert.convert(model, x, variables=variables, percentile=100.0)
    est = np.asarray(snn(x, 2000)[:, -1])
    assert np.abs(est - np.asarray(expected)).max() < 0.02 * np.abs(np.asarray(expected)).max()


# -- errors ---------------------------------------------------------------------------------


def mlp(*middle):
    rngs = nnx.Rngs(0)
    return nnx.Sequential(nnx.Linear(4, 6, rngs=rngs), *middle, nnx.Linear(6, 2, rngs=rngs))


@pytest.mark.parametrize(
    ("layer", "what"),
    [
        (nnx.gelu, "gelu"),
        (jax.nn.sigmoid, "sigmoid"),
        (jnp.tanh, "tanh"),
        (nnx.leaky_relu, "leaky_relu"),
        (lambda x: 2.0 * x, "not supported"),
        (nnx.LayerNorm(6, rngs=nnx.Rngs(0)), "not supported"),
    ],
)
def test_unsupported_layers_are_named(layer, what):
    with pytest.raises(ValueError, match=rf"convert: layer 1 \(.*\).*{what}"):
        convert.convert(mlp(layer), np.ones((2, 4)))


def test_max_pool_without_approximation_is_an_error():
    pool = functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2))
    model = nnx.Sequential(nnx.Conv(1, 2, (3, 3), rngs=nnx.Rngs(0)), nnx.relu, pool)
    with pytest.raises(ValueError, match=r"layer 2 \(functools.partial\(function max_pool\)\)"):
        convert.convert(model, np.ones((1, 4, 4, 1)), readout="spikes")


def test_batch_norm_after_relu_is_an_error():
    model = mlp(nnx.relu, nnx.BatchNorm(6, rngs=nnx.Rngs(0)))
    with pytest.raises(ValueError, match=r"layer 2 \(nnx.BatchNorm\) must directly follow"):
        convert.prepare(model, np.ones((2, 4)))


def test_nested_layer_names_and_other_errors():
    inner = nnx.Sequential(nnx.relu, nnx.sigmoid)
    with pytest.raises(ValueError, match=r"layer 1.1 \(function sigmoid\)"):
        convert.convert(mlp(inner), np.ones((2, 4)))
    with pytest.raises(ValueError, match="readout='spikes'"):
        convert.convert(
            nnx.Sequential(nnx.Linear(4, 6, rngs=nnx.Rngs(0)), nnx.relu), np.ones((1, 4))
        )
    with pytest.raises(ValueError, match=r"coding='rate' needs inputs in \[0, 1\]"):
        convert.convert(mlp(nnx.relu), 2 * np.ones((2, 4)), coding="rate")
    snn = convert.convert(mlp(nnx.relu), np.ones((2, 4)), coding="rate")
    with pytest.raises(ValueError, match="pass key="):
        snn(np.ones((2, 4)), 3)
    with pytest.raises(ValueError, match="num_steps"):
        snn(np.ones((2, 4)), 0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="percentile"):
        convert.convert(mlp(nnx.relu), np.ones((2, 4)), percentile=0.0)
    with pytest.raises(ValueError, match="v_init"):
        convert.convert(mlp(nnx.relu), np.ones((2, 4)), v_init=1.0)
    with pytest.raises(TypeError, match=r"nnx\.Sequential, a list of layers"):
        convert.convert(nnx.Linear(4, 2, rngs=nnx.Rngs(0)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="needs its variables"):
        convert.convert(nn.Sequential([nn.Dense(2)]), np.ones((2, 4)))
