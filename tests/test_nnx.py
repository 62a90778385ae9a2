"""jaxspike.nnx: wrappers equal the functional core; Flax contracts; composition; errors."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxspike as js
import jaxspike.nnx as jsnn

F = 4
# name -> (cell class, layer class, per-neuron parameter values, step options)
MODELS = {
    "if": (jsnn.IFCell, jsnn.IF, dict(v_th=[0.5, 1.0, 1.5, 2.0], leak=0.1), {}),
    "lif": (
        jsnn.LIFCell,
        jsnn.LIF,
        dict(decay=[0.5, 0.7, 0.9, 0.95], v_th=1.0),
        dict(reset="zero"),
    ),
    "ctlif": (
        jsnn.CTLIFCell,
        jsnn.CTLIF,
        dict(tau_mem=[2.0, 5.0, 10.0, 20.0], v_th=0.5, r=2.0),
        dict(dt=0.5, method="euler"),
    ),
    "cuba_lif": (
        jsnn.CubaLIFCell,
        jsnn.CubaLIF,
        dict(decay_syn=[0.5, 0.6, 0.7, 0.8], decay_mem=0.9),
        {},
    ),
    "alif": (jsnn.ALIFCell, jsnn.ALIF, dict(adapt=[0.0, 0.5, 1.0, 2.0], decay_adapt=0.8), {}),
    "li": (jsnn.LICell, jsnn.LI, dict(decay=[0.5, 0.7, 0.9, 0.95]), {}),
    "izhikevich": (
        jsnn.IzhikevichCell,
        jsnn.Izhikevich,
        dict(a=[0.02, 0.1, 0.02, 0.02], d=[8.0, 2.0, 2.0, 0.05]),
        {},
    ),
}


def core(name, values, options):
    """The functional step and its params, built without any wrapper."""
    model = js.NEURONS[name]
    params = model.params_cls.create(**values)
    return model, functools.partial(model.step, params, **options), params


def inputs(name, shape, seed=0):
    scale = 20.0 if name == "izhikevich" else 1.5
    return scale * jax.random.uniform(jax.random.key(seed), shape)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("shape", [(3, 6, F), (2, 6, 3, 3, F)], ids=["dense", "conv"])
def test_layer_equals_functional_core(name, shape):
    _, layer_cls, values, options = MODELS[name]
    model, step, params = core(name, values, options)
    x = inputs(name, shape)
    state0 = model.init(params, (shape[0], *shape[2:]))
    want_final, want = js.unroll_batch_major(step, state0, x)
    layer = layer_cls(F, **values, **options)
    final, got = layer(x, return_carry=True)
    np.testing.assert_array_equal(got, want)
    jax.tree.map(np.testing.assert_array_equal, final, want_final)
    # time-major gives the same, transposed
    got_tm = layer(jnp.swapaxes(x, 0, 1), time_major=True)
    np.testing.assert_array_equal(jnp.swapaxes(got_tm, 0, 1), want)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cell_equals_step_and_works_inside_nnx_rnn(name):
    cell_cls, _, values, options = MODELS[name]
    model, step, params = core(name, values, options)
    cell = cell_cls(F, **values, **options)
    x = inputs(name, (2, 5, F), seed=1)
    carry = cell.initialize_carry((2, F))
    jax.tree.map(np.testing.assert_array_equal, carry, model.init(params, (2, F)))
    want_state, want = step(carry, x[:, 0])
    got_state, got = cell(carry, x[:, 0])
    np.testing.assert_array_equal(got, want)
    jax.tree.map(np.testing.assert_array_equal, got_state, want_state)
    # unchanged inside Flax's own RNN, equal to the jaxspike layer
    flax_out = nnx.RNN(cell)(x)
    ours = jsnn.RNN(cell)(x)
    np.testing.assert_allclose(flax_out, ours, rtol=1e-6, atol=1e-6)
    assert cell.num_feature_axes == 1


def test_learnable_parameters_are_reparameterized():
    decay = jnp.asarray([0.2, 0.5, 0.9], jnp.float32)
    cell = jsnn.LIFCell(3, decay=decay, v_th=0.8, learn=("decay", "v_th"))
    assert isinstance(cell.decay_logit, nnx.Param)
    assert isinstance(cell.v_th, nnx.Param)
    assert isinstance(cell.v_reset, jsnn.Fixed)
    # logit stored, sigmoid used: p = log(d / (1 - d))
    np.testing.assert_allclose(cell.decay_logit[...], np.log(decay / (1 - decay)), rtol=1e-6)
    np.testing.assert_allclose(cell.neuron_params().decay, decay, rtol=1e-6)
    ct = jsnn.CTLIFCell(3, tau_mem=5.0, learn="tau_mem", per_neuron=True)
    np.testing.assert_allclose(ct.tau_mem_log[...], np.full(3, np.log(5.0)), rtol=1e-6)
    # any stored value maps to a valid parameter: no clipping needed
    cell.decay_logit[...] = jnp.asarray([-50.0, 0.0, 50.0])
    d = cell.neuron_params().decay
    assert bool(jnp.all((d >= 0) & (d <= 1)))


def test_learnable_gradients_flow_to_every_parameter():
    layer = jsnn.ALIF(3, learn=("decay", "decay_adapt", "v_th", "adapt"), per_neuron=True)
    x = inputs("alif", (2, 8, 3))
    grads = nnx.grad(lambda m: jnp.sum(m(x)))(layer)
    leaves = jax.tree.leaves(grads)
    assert len(leaves) == 4
    for g in leaves:
        assert g.shape == (3,)
        assert bool(jnp.all(jnp.isfinite(g)))
        assert bool(jnp.any(g != 0))


def test_per_neuron_initializer_needs_rngs():
    init = nnx.initializers.uniform(0.5)
    cell = jsnn.LIFCell(5, v_th=init, learn="v_th", rngs=nnx.Rngs(0))
    assert cell.v_th.shape == (5,)
    with pytest.raises(ValueError, match="rngs"):
        jsnn.LIFCell(5, v_th=init)


def test_shared_and_per_neuron_shapes():
    cell = jsnn.LIFCell(4, learn="decay")
    assert cell.decay_logit.shape == ()
    cell = jsnn.LIFCell(4, per_neuron=("v_th",))
    assert cell.v_th.shape == (4,) and isinstance(cell.v_th, jsnn.Fixed)


@pytest.mark.parametrize("graph", [True, False])
def test_graph_and_tree_mode_give_the_same_outputs_and_grads(graph):
    x = inputs("lif", (2, 6, F))
    with nnx.set_graph_mode(graph):
        assert nnx.set_graph_mode.current_value() is graph
        model = jsnn.Sequential(
            nnx.Linear(F, 3, rngs=nnx.Rngs(0)),
            jsnn.LIF(3, learn="decay", per_neuron=True),
            jsnn.LI(3),
        )
        y = nnx.jit(lambda m, x: m(x))(model, x)
        grads = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(model)
    ref = jsnn.Sequential(
        nnx.Linear(F, 3, rngs=nnx.Rngs(0)),
        jsnn.LIF(3, learn="decay", per_neuron=True),
        jsnn.LI(3),
    )
    np.testing.assert_array_equal(y, ref(x))
    ref_grads = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(ref)
    np.testing.assert_allclose(jax.tree.leaves(grads)[0], jax.tree.leaves(ref_grads)[0], rtol=1e-6)


def test_recurrent_cell_matches_a_python_loop():
    rngs = nnx.Rngs(0)
    cell = jsnn.RecurrentCell(jsnn.LIFCell(F, decay=0.8), self_connections=False, rngs=rngs)
    w = np.asarray(cell.kernel[...]) * (1 - np.eye(F))
    x = inputs("lif", (2, 7, F))
    p = js.LIFParams.create(0.8)
    state, s_prev, want = js.lif_init(p, (2, F)), jnp.zeros((2, F)), []
    for t in range(7):
        state, s_prev = js.lif_step(p, state, x[:, t] + s_prev @ w)
        want.append(s_prev)
    got = jsnn.RNN(cell)(x)
    np.testing.assert_allclose(got, jnp.stack(want, 1), atol=1e-6)
    # self-connections removed: a purely diagonal kernel has no effect
    cell.kernel[...] = 5.0 * jnp.eye(F)
    np.testing.assert_array_equal(jsnn.RNN(cell)(x), jsnn.LIF(F, decay=0.8)(x))


def test_time_distributed_equals_a_loop_over_time():
    linear = nnx.Linear(3, 5, rngs=nnx.Rngs(0))
    x = inputs("lif", (2, 4, 3))
    want = jnp.stack([linear(x[:, t]) for t in range(4)], axis=1)
    np.testing.assert_allclose(jsnn.TimeDistributed(linear)(x), want, rtol=1e-6)


def test_sequential_threads_carries_across_chunks():
    rngs = nnx.Rngs(0)
    model = jsnn.Sequential(
        nnx.Linear(F, 6, rngs=rngs), jsnn.CubaLIF(6), nnx.Linear(6, 2, rngs=rngs), jsnn.LI(2)
    )
    x = inputs("lif", (2, 10, F))
    whole = model(x)
    carries, first = model(x[:, :4], return_carry=True)
    assert carries[0] is None and carries[2] is None
    second = model(x[:, 4:], initial_carry=carries)
    np.testing.assert_allclose(jnp.concatenate([first, second], 1), whole, rtol=1e-6)


def test_conv_lif_pool_linear_lif_li_is_one_module():
    rngs = nnx.Rngs(0)
    model = jsnn.Sequential(
        nnx.Conv(1, 4, (3, 3), rngs=rngs),
        jsnn.LIF(4),
        functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2)),
        lambda x: x.reshape(x.shape[0], -1),
        nnx.Linear(64, 8, rngs=rngs),
        jsnn.LIF(8),
        jsnn.LI(8),
    )
    y = model(jnp.ones((2, 5, 8, 8, 1)))
    assert y.shape == (2, 5, 8)


def test_bfloat16_sequence():
    y = jsnn.LIF(F)(inputs("lif", (2, 3, F)).astype(jnp.bfloat16))
    assert y.dtype == jnp.bfloat16
    y = jsnn.LIF(F, dtype=jnp.bfloat16)(inputs("lif", (2, 3, F)))
    assert y.dtype == jnp.bfloat16


def test_errors_are_clear():
    layer = jsnn.LIF(F)
    with pytest.raises(ValueError, match=r"at least 3 axes"):
        layer(jnp.ones((6, F)))
    with pytest.raises(ValueError, match=r"feature axis of size 4"):
        layer(jnp.ones((2, 6, 5)))
    with pytest.raises(ValueError, match=r"moveaxis"):  # time last instead of at axis 1
        layer(jnp.ones((2, F, 6)))
    with pytest.raises(TypeError, match="time_major"):
        layer(jnp.ones((2, 6, F)), time_major=1)
    with pytest.raises(ValueError, match=r"learn names unknown parameter"):
        jsnn.LIFCell(F, learn="tau_mem")
    with pytest.raises(ValueError, match=r"learnable decay must be in \(0, 1\)"):
        jsnn.LIFCell(F, decay=1.0, learn="decay")
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        jsnn.LIFCell(F, v_th=jnp.ones(3))
    with pytest.raises(ValueError, match="initialize_carry"):
        jsnn.LIFCell(F).initialize_carry((2, 3))
    with pytest.raises(ValueError, match="TimeDistributed"):
        jsnn.TimeDistributed(lambda x: x)(jnp.ones(3))
    with pytest.raises(ValueError, match=r"one entry per layer \(2\), got 1"):
        jsnn.Sequential(jsnn.LIF(F), jsnn.LI(F))(jnp.ones((2, 3, F)), initial_carry=(None,))


def test_conv_shaped_cell_inside_nnx_rnn_needs_num_feature_axes():
    x = inputs("lif", (2, 5, 3, 3, F))
    want = jsnn.LIF(F, decay=0.6)(x)
    cell = jsnn.LIFCell(F, decay=0.6, num_feature_axes=3)
    assert cell.num_feature_axes == 3
    np.testing.assert_array_equal(nnx.RNN(cell)(x), want)
    # with the default (one feature axis) nnx.RNN would scan over W instead of time
    assert not np.array_equal(nnx.RNN(jsnn.LIFCell(F, decay=0.6))(x), want)
    rec = jsnn.RecurrentCell(cell, rngs=nnx.Rngs(0))
    assert rec.num_feature_axes == 3
    np.testing.assert_allclose(nnx.RNN(rec)(x), jsnn.RNN(rec)(x), atol=1e-6)
    with pytest.raises(ValueError, match="num_feature_axes"):
        jsnn.LIFCell(F, num_feature_axes=0)


def test_fixed_parameter_from_an_initializer():
    init = nnx.initializers.uniform(0.5)
    cell = jsnn.LIFCell(F, v_th=init, rngs=nnx.Rngs(0))
    assert isinstance(cell.v_th, jsnn.Fixed) and cell.v_th.shape == (F,)
    assert not jax.tree.leaves(nnx.state(cell, nnx.Param))  # nothing to train


@pytest.mark.parametrize(
    ("jit", "graph"), [(False, True), (True, True), (True, False)], ids=["eager", "graph", "tree"]
)
def test_streaming_step_by_step_equals_one_call(jit, graph):
    with nnx.set_graph_mode(graph):
        _check_streaming(jit)


def _check_streaming(jit):
    rngs = nnx.Rngs(0)
    model = jsnn.Sequential(
        nnx.Linear(F, 6, rngs=rngs), jsnn.CubaLIF(6), nnx.Linear(6, 2, rngs=rngs), jsnn.LI(2)
    )
    x = inputs("lif", (2, 9, F))
    whole = model(x)
    online = jsnn.Streaming(model)
    with pytest.raises(ValueError, match="reset"):
        online(x[:, :1])
    online.reset(batch_size=2, features=(F,))
    state = jax.tree.leaves(nnx.state(online, jsnn.NeuronState))
    assert [s.shape for s in state] == [(2, 6)] * 4 + [(2, 2)]  # CubaLIF (v, i, ref, s), LI v
    assert all(not np.any(s) for s in state)  # at rest
    call = nnx.jit(lambda m, x: m(x)) if jit else (lambda m, x: m(x))
    steps = [call(online, x[:, t : t + 1]) for t in range(9)]
    np.testing.assert_allclose(jnp.concatenate(steps, 1), whole, rtol=1e-6, atol=1e-6)
    want_carry, _ = model(x, return_carry=True)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), online.carry(), want_carry
    )
    online.reset(batch_size=2, features=(F,))  # back at rest: the sequence replays
    np.testing.assert_allclose(online(x), whole, rtol=1e-6, atol=1e-6)
