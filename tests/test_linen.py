"""jaxspike.linen: wrappers equal the functional core; cells work inside flax.linen.RNN."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

import jaxspike as js
import jaxspike.linen as jsl

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
    import jaxspike.nnx as jsnn

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
