"""jaxspike.linen: wrappers equal the functional core; cells work inside flax.linen.RNN."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx

import jaxspike as js
import jaxspike.linen as jsl
import jaxspike.nnx as jsnn

F = 4
MODELS = {
    "if": (jsl.IFCell, jsl.IF, dict(v_th=(0.5, 1.0, 1.5, 2.0), leak=0.1), {}),
    "lif": (jsl.LIFCell, jsl.LIF, dict(decay=(0.5, 0.7, 0.9, 0.95)), dict(reset="zero")),
    "ctlif": (
        jsl.CTLIFCell,
        jsl.CTLIF,
        dict(tau_mem=(2.0, 5.0, 10.0, 20.0), v_th=0.5),
        dict(dt=0.5, method="euler"),
    ),
    "cuba_lif": (jsl.CubaLIFCell, jsl.CubaLIF, dict(decay_syn=(0.5, 0.6, 0.7, 0.8)), {}),
    "alif": (jsl.ALIFCell, jsl.ALIF, dict(adapt=(0.0, 0.5, 1.0, 2.0), decay_adapt=0.8), {}),
    "li": (jsl.LICell, jsl.LI, dict(decay=(0.5, 0.7, 0.9, 0.95)), {}),
    "izhikevich": (jsl.IzhikevichCell, jsl.Izhikevich, dict(d=(8.0, 2.0, 2.0, 0.05)), {}),
}


def core(name, values, options):
    model = js.NEURONS[name]
    params = model.params_cls.create(**{k: jnp.asarray(v) for k, v in values.items()})
    return model, functools.partial(model.step, params, **options), params


def inputs(name, shape, seed=0):
    scale = 20.0 if name == "izhikevich" else 1.5
    return scale * jax.random.uniform(jax.random.key(seed), shape)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("shape", [(3, 6, F), (2, 5, 3, 3, F)], ids=["dense", "conv"])
def test_layer_equals_functional_core(name, shape):
    _, layer_cls, values, options = MODELS[name]
    model, step, params = core(name, values, options)
    x = inputs(name, shape)
    want_final, want = js.unroll_batch_major(step, model.init(params, (shape[0], *shape[2:])), x)
    layer = layer_cls(F, **values, **options)
    variables = layer.init(jax.random.key(0), x)
    assert variables == {}  # nothing learnable by default
    final, got = layer.apply(variables, x, return_carry=True)
    np.testing.assert_array_equal(got, want)
    jax.tree.map(np.testing.assert_array_equal, final, want_final)
    got_tm = layer.apply(variables, jnp.swapaxes(x, 0, 1), time_major=True)
    np.testing.assert_array_equal(jnp.swapaxes(got_tm, 0, 1), want)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cell_works_inside_linen_rnn(name):
    cell_cls, layer_cls, values, options = MODELS[name]
    x = inputs(name, (2, 5, F), seed=1)
    rnn = nn.RNN(cell_cls(F, **values, **options))
    got = rnn.apply(rnn.init(jax.random.key(0), x), x)
    layer = layer_cls(F, **values, **options)
    want = layer.apply({}, x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_learnable_parameters_live_in_params():
    layer = jsl.ALIF(3, learn=("decay", "v_th"), per_neuron=True, decay=0.8)
    x = inputs("alif", (2, 6, 3))
    params = layer.init(jax.random.key(0), x)["params"]
    assert set(params) == {"decay_logit", "v_th"}
    np.testing.assert_allclose(params["decay_logit"], np.full(3, np.log(0.8 / 0.2)), rtol=1e-5)
    grads = jax.grad(lambda p: jnp.sum(layer.apply({"params": p}, x)))(params)
    for g in jax.tree.leaves(grads):
        assert g.shape == (3,) and bool(jnp.all(jnp.isfinite(g))) and bool(jnp.any(g != 0))


def test_linen_equals_nnx():
    x = inputs("lif", (2, 7, 3))
    a = jsl.LIF(3, decay=0.6, learn="decay")
    b = jsnn.LIF(3, decay=0.6, learn="decay")
    np.testing.assert_array_equal(a.apply(a.init(jax.random.key(0), x), x), b(x))


def test_time_distributed_dense():
    layer = jsl.TimeDistributed(nn.Dense(5))
    x = inputs("lif", (2, 4, 3))
    variables = layer.init(jax.random.key(0), x)
    dense = nn.Dense(5)
    want = jnp.stack(
        [dense.apply({"params": variables["params"]["layer"]}, x[:, t]) for t in range(4)], 1
    )
    np.testing.assert_allclose(layer.apply(variables, x), want, rtol=1e-5, atol=1e-6)


def test_errors_are_clear():
    layer = jsl.LIF(F)
    with pytest.raises(ValueError, match="at least 3 axes"):
        layer.init(jax.random.key(0), jnp.ones((6, F)))
    with pytest.raises(ValueError, match="feature axis of size 4"):
        layer.init(jax.random.key(0), jnp.ones((2, F, 6)))
    with pytest.raises(ValueError, match="learn names unknown"):
        jsl.LIF(F, learn="nope").init(jax.random.key(0), jnp.ones((2, 3, F)))


def test_linen_recurrent_cell_matches_core_loop_and_nnx():
    x = inputs("lif", (2, 7, F))
    cell = jsl.RecurrentCell(jsl.LIFCell(F, decay=0.8), self_connections=False)
    layer = jsl.RNN(cell)
    variables = layer.init(jax.random.key(0), x)
    kernel = variables["params"]["cell"]["kernel"]
    assert kernel.shape == (F, F)
    # independent loop over the functional core, diagonal removed by hand
    w = np.asarray(kernel) * (1 - np.eye(F))
    p = js.LIFParams.create(0.8)
    state, s_prev, want = js.lif_init(p, (2, F)), jnp.zeros((2, F)), []
    for t in range(7):
        state, s_prev = js.lif_step(p, state, x[:, t] + s_prev @ w)
        want.append(s_prev)
    got = layer.apply(variables, x)
    np.testing.assert_allclose(got, jnp.stack(want, 1), atol=1e-6)
    # inside flax.linen.RNN (lifted scan) and equal to the NNX twin with the same kernel
    flax_rnn = nn.RNN(cell)
    np.testing.assert_allclose(flax_rnn.apply(variables, x), got, atol=1e-6)
    twin = jsnn.RecurrentCell(jsnn.LIFCell(F, decay=0.8), self_connections=False, rngs=nnx.Rngs(0))
    twin.kernel[...] = kernel
    np.testing.assert_array_equal(jsnn.RNN(twin)(x), got)


def test_linen_sequential_equals_nnx_and_threads_carries():
    x = inputs("lif", (2, 10, F))
    model = jsl.Sequential([nn.Dense(6), jsl.CubaLIF(6), nn.Dense(2), jsl.LI(2)])
    variables = model.init(jax.random.key(0), x)
    whole = model.apply(variables, x)
    carries, first = model.apply(variables, x[:, :4], return_carry=True)
    assert carries[0] is None and carries[2] is None
    second = model.apply(variables, x[:, 4:], initial_carry=carries)
    np.testing.assert_allclose(jnp.concatenate([first, second], 1), whole, rtol=1e-6, atol=1e-6)
    # time-major input gives the same, transposed
    tm = jsl.Sequential(model.layers, time_major=True)
    np.testing.assert_allclose(
        jnp.swapaxes(tm.apply(variables, jnp.swapaxes(x, 0, 1)), 0, 1), whole, atol=1e-6
    )
    # Flax's own nn.RNN around a jaxspike cell is a sequence layer too
    with_flax_rnn = jsl.Sequential(
        [nn.Dense(6), nn.RNN(jsl.CubaLIFCell(6)), nn.Dense(2), jsl.LI(2)]
    )
    np.testing.assert_allclose(with_flax_rnn.apply(variables, x), whole, rtol=1e-6, atol=1e-6)
    # the NNX Sequential with the same weights gives the same outputs
    rngs = nnx.Rngs(0)
    twin = jsnn.Sequential(
        nnx.Linear(F, 6, rngs=rngs), jsnn.CubaLIF(6), nnx.Linear(6, 2, rngs=rngs), jsnn.LI(2)
    )
    for i, name in ((0, "layers_0"), (2, "layers_2")):
        twin.layers[i].layer.kernel[...] = variables["params"][name]["kernel"]
        twin.layers[i].layer.bias[...] = variables["params"][name]["bias"]
    np.testing.assert_array_equal(twin(x, placement="layerwise"), whole)


def test_izhikevich_initial_carry_uses_learned_parameters():
    x = inputs("izhikevich", (2, 6, F))
    layer = jsl.Izhikevich(F, learn=("b", "c"), per_neuron=True)
    variables = layer.init(jax.random.key(0), x)
    b = jnp.asarray([0.2, 0.25, 0.1, 0.3])
    c = jnp.asarray([-65.0, -55.0, -50.0, -60.0])
    variables = {"params": {"b": b, "c": c}}
    params = js.IzhikevichParams.create(b=b, c=c)
    state0 = js.izhikevich_init(params, (2, F))
    np.testing.assert_array_equal(state0.v, jnp.broadcast_to(c, (2, F)))  # v0 = c, u0 = b c
    want_final, want = js.unroll_batch_major(
        functools.partial(js.izhikevich_step, params), state0, x
    )
    final, got = layer.apply(variables, x, return_carry=True)
    np.testing.assert_array_equal(got, want)
    jax.tree.map(np.testing.assert_array_equal, final, want_final)
    carry = layer.apply(variables, None, (2, F), method="initialize_carry")
    jax.tree.map(np.testing.assert_array_equal, carry, state0)
    # the same inside flax.linen.RNN, where the carry is built by the bound cell
    rnn = nn.RNN(jsl.IzhikevichCell(F, learn=("b", "c"), per_neuron=True))
    got_rnn = rnn.apply({"params": {"cell": variables["params"]}}, x)
    np.testing.assert_allclose(got_rnn, want, atol=1e-5)


def test_fixed_parameter_from_an_initializer():
    init = nn.initializers.uniform(0.5)
    x = inputs("lif", (2, 5, F))
    layer = jsl.LIF(F, v_th=init, decay=0.7)
    variables = layer.init(jax.random.key(3), x)
    assert set(variables) == {"fixed"}  # drawn once, stored, not trained
    v_th = variables["fixed"]["v_th"]
    assert v_th.shape == (F,) and bool(jnp.all((v_th >= 0) & (v_th < 0.5)))
    params = js.LIFParams.create(0.7, v_th=v_th)
    want = js.unroll_batch_major(
        functools.partial(js.lif_step, params), js.lif_init(params, (2, F)), x
    )[1]
    np.testing.assert_array_equal(layer.apply(variables, x), want)
    # nn.RNN must broadcast the "fixed" collection into its scan, as it does "params"
    rnn = nn.RNN(jsl.LIFCell(F, v_th=init, decay=0.7), variable_broadcast=("params", "fixed"))
    rnn_vars = rnn.init(jax.random.key(3), x)
    rnn_vars = {"fixed": {"cell": variables["fixed"]}}
    np.testing.assert_allclose(rnn.apply(rnn_vars, x), want, atol=1e-6)
    with pytest.raises(ValueError, match="initializer"):
        jsl.IzhikevichCell(F, c=init).initialize_carry(None, (2, F))


def test_conv_shaped_cell_inside_linen_rnn_needs_num_feature_axes():
    x = inputs("lif", (2, 5, 3, 3, F))
    want = jsl.LIF(F, decay=0.6).apply({}, x)
    rnn = nn.RNN(jsl.LIFCell(F, decay=0.6, num_feature_axes=3))
    np.testing.assert_allclose(rnn.apply({}, x), want, atol=1e-6)
    assert jsl.RecurrentCell(jsl.LIFCell(F, num_feature_axes=3)).num_feature_axes == 3
    with pytest.raises(ValueError, match="num_feature_axes"):
        jsl.LIF(F, num_feature_axes=0).init(jax.random.key(0), x)


def test_sequential_errors_are_clear():
    model = jsl.Sequential([nn.Dense(3), jsl.LIF(3)])
    x = jnp.ones((2, 4, F))
    variables = model.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match=r"one entry per layer \(2\), got 1"):
        model.apply(variables, x, initial_carry=(None,))
    with pytest.raises(ValueError, match="at least 3 axes"):
        jsl.RNN(jsl.LIFCell(F)).init(jax.random.key(0), jnp.ones((4, F)))
