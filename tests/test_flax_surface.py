"""What a Flax user expects of the layers: traces, the nnx.RNN surface, streaming, forward mode.

References: a NumPy loop of the LIF equation, the functional core (``js.unroll`` with
``return_states``), Flax's own ``nnx.RNN`` / ``nn.RNN`` for ``reverse`` and ``keep_order``,
running each sequence alone for ``seq_lengths``, and ``jax.grad`` for ``jax.jvp``.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn
from flax import nnx

import jaxspike as js
import jaxspike.linen as jsl
import jaxspike.nnx as jsnn
from jaxspike.neurons import step_with_trace

F = 3


def currents(shape, seed=0):
    return 1.6 * jax.random.uniform(jax.random.key(seed), shape)


def lif_numpy(x, decay, v_th):
    """v_pre[t] = decay * v[t-1] + x[t]; s = v_pre >= v_th; v = v_pre - v_th * s."""
    v = np.zeros(x.shape[::2], np.float64)
    pre, post, out = [], [], []
    for t in range(x.shape[1]):
        vp = decay * v + np.asarray(x[:, t], np.float64)
        s = (vp >= v_th).astype(np.float64)
        v = vp - v_th * s
        pre.append(vp)
        post.append(v)
        out.append(s)
    return (np.stack(a, 1) for a in (out, pre, post))


# ------------------------------------------------------------------------------ traces


def test_lif_trace_is_the_membrane_before_and_after_the_reset():
    x = currents((2, 12, F))
    layer = jsnn.LIF(F, decay=0.75, v_th=1.0)
    y, trace = layer(x, return_trace=True)
    s, pre, post = lif_numpy(x, 0.75, 1.0)
    np.testing.assert_array_equal(y, s)
    np.testing.assert_allclose(trace.v_pre, pre, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(trace.state.v, post, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(layer(x), y)  # the default return is unchanged
    # time-major and with the carry
    carry, _, trace_tm = layer(
        jnp.swapaxes(x, 0, 1), time_major=True, return_carry=True, return_trace=True
    )
    np.testing.assert_array_equal(jnp.swapaxes(trace_tm.v_pre, 0, 1), trace.v_pre)
    np.testing.assert_array_equal(carry.v, trace.state.v[:, -1])


@pytest.mark.parametrize(
    ("nnx_layer", "linen_layer", "step", "params"),
    [
        (jsnn.CubaLIF, jsl.CubaLIF, js.cuba_lif_step, js.CubaLIFParams(0.8, 0.9, 1.0, 0.0)),
        (jsnn.ALIF, jsl.ALIF, js.alif_step, js.ALIFParams(0.9, 0.99, 1.0, 0.2, 0.0)),
    ],
    ids=["cuba_lif", "alif"],
)
def test_traces_equal_the_core_states(nnx_layer, linen_layer, step, params):
    x = currents((2, 10, F), seed=1)
    init = {"cuba_lif": js.cuba_lif_init, "alif": js.alif_init}[step.__name__[:-5]]
    _, s_ref, states = js.unroll(
        functools.partial(step, params),
        init(params, (2, F)),
        jnp.swapaxes(x, 0, 1),
        return_states=True,
    )
    _, pre_ref = js.unroll(
        step_with_trace(functools.partial(step, params)),
        init(params, (2, F)),
        jnp.swapaxes(x, 0, 1),
    )
    pre_ref = pre_ref.v_pre
    swap = lambda a: jnp.swapaxes(a, 0, 1)
    y, trace = nnx_layer(F)(x, return_trace=True)
    lin = linen_layer(F)
    y_l, trace_l = lin.apply({}, x, return_trace=True)
    for got in (trace, trace_l):
        jax.tree.map(np.testing.assert_array_equal, got.state, jax.tree.map(swap, states))
        np.testing.assert_array_equal(got.v_pre, swap(pre_ref))
    np.testing.assert_array_equal(y, swap(s_ref))
    np.testing.assert_array_equal(y_l, swap(s_ref))


def test_sequential_traces_by_layer_index_in_both_placements_and_linen():
    x = currents((2, 7, 5), seed=2)
    rngs = nnx.Rngs(0)
    model = jsnn.Sequential(
        nnx.Linear(5, 4, rngs=rngs), jsnn.LIF(4), nnx.Linear(4, 2, rngs=rngs), jsnn.LI(2)
    )
    y_lw, tr_lw = model(x, placement="layerwise", return_trace=True)
    y_fu, tr_fu = model(x, placement="fused", return_trace=True)
    assert tr_lw[0] is None and tr_lw[2] is None and tr_fu[0] is None
    np.testing.assert_allclose(y_fu, y_lw, atol=1e-6)
    # layer 1's trace is what the layer alone records on layer 0's output
    h = model.layers[0](x)
    _, alone = model.layers[1](h, return_trace=True)
    for got in (tr_lw[1], tr_fu[1]):
        np.testing.assert_allclose(got.v_pre, alone.v_pre, atol=1e-6)
        np.testing.assert_allclose(got.state.v, alone.state.v, atol=1e-6)
    # LI has no reset: its pre-reset membrane is its membrane
    np.testing.assert_array_equal(tr_lw[3].v_pre, tr_lw[3].state.v)
    carries, _, tr2 = model(x, return_carry=True, return_trace=True)
    np.testing.assert_allclose(carries[1].v, tr2[1].state.v[:, -1], atol=1e-6)
    # a nested time-major Sequential gives its traces in the outer layout
    nested = jsnn.Sequential(model.layers[0], jsnn.Sequential(model.layers[1], time_major=True))
    _, tr_n = nested(x, placement="layerwise", return_trace=True)
    np.testing.assert_allclose(tr_n[1][0].v_pre, alone.v_pre, atol=1e-6)
    # Linen
    lin = jsl.Sequential([nn.Dense(4), jsl.LIF(4), nn.Dense(2), jsl.LI(2)])
    variables = lin.init(jax.random.key(0), x)
    y_l, tr_l = lin.apply(variables, x, return_trace=True)
    np.testing.assert_array_equal(lin.apply(variables, x), y_l)
    assert tr_l[0] is None and tr_l[1].state.v.shape == (2, 7, 4)


def test_membrane_loss_from_a_trace_has_finite_gradients():
    x = currents((2, 6, F))
    layer = jsnn.LIF(F, decay=0.8, learn="decay")

    def loss(m):
        _, trace = m(x, return_trace=True)
        return jnp.mean((trace.v_pre - 1.0) ** 2)

    g = nnx.grad(loss)(layer)
    assert np.isfinite(g["cell"]["decay_logit"][...]).all()
    assert float(jnp.abs(g["cell"]["decay_logit"][...])) > 0


# --------------------------------------------------------------- the nnx.RNN call surface


def test_seq_lengths_equal_running_each_sequence_alone():
    x = currents((4, 9, F), seed=3)
    lengths = jnp.array([9, 4, 1, 0])
    for layer in (
        jsnn.LIF(F, decay=0.7),
        jsnn.CubaLIF(F),
        jsnn.RNN(jsnn.RecurrentCell(jsnn.LIFCell(F), rngs=nnx.Rngs(0))),
    ):
        carry, y = layer(x, seq_lengths=lengths, return_carry=True)
        rest = layer.initialize_carry((1, F))
        for b, n in enumerate(lengths.tolist()):
            np.testing.assert_array_equal(y[b, n:], 0.0)  # no spikes on padding
            if n == 0:
                jax.tree.map(
                    lambda a, r, b=b: np.testing.assert_array_equal(a[b], r[0]), carry, rest
                )
                continue
            c_b, y_b = layer(x[b : b + 1, :n], return_carry=True)
            np.testing.assert_array_equal(y[b, :n], y_b[0])
            jax.tree.map(lambda a, r, b=b: np.testing.assert_array_equal(a[b], r[0]), carry, c_b)


@pytest.mark.parametrize("keep_order", [False, True])
def test_reverse_and_keep_order_match_flax_rnn(keep_order):
    x = currents((3, 8, F), seed=4)
    lengths = jnp.array([8, 5, 2])
    cell = jsnn.LIFCell(F, decay=0.6)
    ours = jsnn.RNN(cell, reverse=True, keep_order=keep_order)
    flax_rnn = nnx.RNN(cell, reverse=True, keep_order=keep_order, return_carry=True)
    np.testing.assert_array_equal(ours(x), flax_rnn(x)[1])
    carry, y = ours(x, seq_lengths=lengths, return_carry=True)
    f_carry, f_y = flax_rnn(x, seq_lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        valid = slice(0, n)  # flax keeps the padding at the end in both orders
        np.testing.assert_array_equal(y[b, valid], f_y[b, valid])
    jax.tree.map(np.testing.assert_array_equal, carry, f_carry)
    # Linen: same as flax.linen.RNN
    lin = jsl.RNN(jsl.LIFCell(F, decay=0.6), reverse=True, keep_order=keep_order)
    ref = nn.RNN(jsl.LIFCell(F, decay=0.6), reverse=True, keep_order=keep_order)
    np.testing.assert_array_equal(lin.apply({}, x), ref.apply(ref.init(jax.random.key(0), x), x))


def test_rnn_signature_lists_every_argument():
    import inspect

    for fn in (jsnn.RNN.__init__, jsnn.RNN.__call__, jsl.RNN.__call__, jsl.LIF.__call__):
        kinds = {p.kind for p in inspect.signature(fn).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds
    for name in ("seq_lengths", "reverse", "keep_order", "return_trace", "forward_mode"):
        assert name in inspect.signature(jsnn.RNN.__call__).parameters
    with pytest.raises(TypeError, match="seq_length"):
        jsnn.RNN(jsnn.LIFCell(F))(currents((1, 2, F)), seq_length=2)


def test_bad_seq_lengths_name_the_argument():
    layer = jsnn.LIF(F)
    x = currents((2, 4, F))
    with pytest.raises(ValueError, match=r"seq_lengths must be integers of shape \(2,\)"):
        layer(x, seq_lengths=jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"seq_lengths must lie in \[0, 4\]"):
        layer(x, seq_lengths=jnp.array([1, 5]))
    with pytest.raises(TypeError, match="reverse must be a bool"):
        layer(x, reverse="yes")


# ------------------------------------------------------------------------------ streaming


class Custom(nnx.Module):
    """A user's own module: jaxspike layers called from its own code."""

    def __init__(self, rngs):
        self.inp = nnx.Linear(5, 6, rngs=rngs)
        self.lif = jsnn.LIF(6, decay=0.8)
        self.head = jsnn.Sequential(nnx.Linear(6, 2, rngs=rngs), jsnn.LI(2))

    def __call__(self, x):
        return self.head(self.lif(jsnn.TimeDistributed(self.inp)(x)) * 2.0)


@pytest.mark.parametrize("chunk", [1, 3, 5])
def test_streaming_any_module_is_bit_exact(chunk):
    x = currents((2, 12, 5), seed=5)
    model = Custom(nnx.Rngs(0))
    whole = model(x)
    want, _ = model.lif(jsnn.TimeDistributed(model.inp)(x), return_carry=True)
    online = jsnn.Streaming(model)
    assert sorted(p for p, _ in jsnn.streamed_layers(model)) == [("head",), ("lif",)]
    online.reset(batch_size=2, features=(5,))
    step = nnx.jit(lambda m, x: m(x))
    outs = [step(online, x[:, t : t + chunk]) for t in range(0, 12, chunk)]
    np.testing.assert_array_equal(jnp.concatenate(outs, 1), whole)
    lif_carry = online.carry()[("lif",)]
    np.testing.assert_array_equal(lif_carry.v, want.v)


def test_streaming_sequential_placement_does_not_depend_on_chunk_length(monkeypatch):
    # 120 steps x 1000 neurons: large enough that a step-count rule would fuse the whole
    # sequence but not a one-step chunk; count which program every call runs
    fused_calls = []
    original = jsnn.Sequential._fused

    def counting(self, *args, **kwargs):
        fused_calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jsnn.Sequential, "_fused", counting)
    rngs = nnx.Rngs(1)
    model = jsnn.Sequential(
        nnx.Linear(5, 1000, rngs=rngs), jsnn.LIF(1000), nnx.Linear(1000, 2, rngs=rngs), jsnn.LI(2)
    )
    x = currents((2, 120, 5), seed=6)
    whole = model(x)
    online = jsnn.Streaming(model)
    online.reset(batch_size=2, features=(5,))
    outs = [online(x[:, :1]), online(x[:, 1:60]), online(x[:, 60:])]
    np.testing.assert_array_equal(jnp.concatenate(outs, 1), whole)
    # the whole run, the reset and the three chunks: all fused on CPU, none elsewhere
    assert len(fused_calls) == (5 if jax.default_backend() == "cpu" else 0)


def test_streaming_refuses_a_module_without_layers():
    with pytest.raises(TypeError, match="no jaxspike sequence layer"):
        jsnn.Streaming(nnx.Linear(2, 2, rngs=nnx.Rngs(0)))


# ---------------------------------------------------------------------------- forward mode


def test_forward_mode_from_every_layer():
    x = currents((2, 5, F), seed=7)
    tangent = jax.random.normal(jax.random.key(8), x.shape)
    layer = jsnn.CubaLIF(F)
    f = lambda x: jnp.sum(layer(x) * jnp.arange(5.0)[None, :, None])
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(f, (x,), (tangent,))  # the default spike is reverse-mode only
    f_fwd = lambda x: jnp.sum(layer(x, forward_mode=True) * jnp.arange(5.0)[None, :, None])
    _, jvp = jax.jvp(f_fwd, (x,), (tangent,))
    np.testing.assert_allclose(jvp, jnp.vdot(jax.grad(f)(x), tangent), rtol=1e-5)
    # on the layer, on Sequential (both placements) and in Linen
    rngs = nnx.Rngs(0)
    seq = jsnn.Sequential(nnx.Linear(F, 4, rngs=rngs), jsnn.LIF(4), forward_mode=True)
    for placement in ("layerwise", "fused"):
        g = jax.jacfwd(lambda x, p=placement: seq(x, placement=p).sum())(x)
        np.testing.assert_allclose(
            g, jax.grad(lambda x: seq(x, forward_mode=False).sum())(x), rtol=1e-5, atol=1e-6
        )
    # one constructor argument on every layer, NNX and Linen
    for layer in (jsnn.RNN(jsnn.LIFCell(F), forward_mode=True), jsnn.ALIF(F, forward_mode=True)):
        jax.jvp(lambda x, layer=layer: layer(x).sum(), (x,), (tangent,))
    for lin in (jsl.RNN(jsl.LIFCell(F), forward_mode=True), jsl.CubaLIF(F, forward_mode=True)):
        jax.jvp(lambda x, lin=lin: lin.apply({}, x).sum(), (x,), (tangent,))
    # reverse and keep_order are layer arguments too
    rev = jsnn.LIF(F, reverse=True, keep_order=True)
    np.testing.assert_array_equal(rev(x), jnp.flip(jsnn.LIF(F)(jnp.flip(x, 1)), 1))


# ---------------------------------------------------------------------------------- errors


def test_train_step_with_a_scalar_loss_says_what_to_return():
    model = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)

    def scalar_loss(m, batch):
        return jnp.mean(m(batch[0]) ** 2)

    batch = (jnp.ones((4, 2)), jnp.zeros((4,), jnp.int32))
    with pytest.raises(
        TypeError, match=r"loss_fn \(scalar_loss\) must return a pair \(loss, aux\)"
    ):
        jsnn.train_step(model, opt, batch, scalar_loss)
    with pytest.raises(TypeError, match=r"eval_step: loss_fn"):
        jsnn.eval_step(model, batch, scalar_loss)


def test_linen_rnn_with_a_fixed_initializer_says_what_to_do():
    cell = jsl.LIFCell(F, decay=nn.initializers.constant(0.5))
    x = currents((2, 4, F))
    with pytest.raises(ValueError, match=r"variable_broadcast=\('params', 'fixed'\)"):
        nn.RNN(cell).init(jax.random.key(0), x)
    fixed = nn.RNN(cell, variable_broadcast=("params", "fixed"))
    ours = jsl.RNN(cell)
    v = ours.init(jax.random.key(0), x)
    np.testing.assert_array_equal(
        fixed.apply(fixed.init(jax.random.key(0), x), x), ours.apply(v, x)
    )


# ------------------------------------------------------------------ Linen nested time_major


def test_linen_sequential_honours_a_nested_time_major_sequential():
    x = currents((3, 6, 5), seed=9)
    flat = jsl.Sequential([nn.Dense(4), jsl.LIF(4), nn.Dense(2), jsl.LI(2)])
    variables = flat.init(jax.random.key(0), x)
    want = flat.apply(variables, x)
    nested = jsl.Sequential(
        [nn.Dense(4), jsl.Sequential([jsl.LIF(4)], time_major=True), nn.Dense(2), jsl.LI(2)]
    )
    params = {
        "layers_0": variables["params"]["layers_0"],
        "layers_2": variables["params"]["layers_2"],
    }
    np.testing.assert_array_equal(nested.apply({"params": params}, x), want)
