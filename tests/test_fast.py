"""Fast paths give the same outputs and gradients as the plain paths they replace."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxspike as js
from jaxspike.nnx import LI, LIF, Sequential
from jaxspike.nnx._fast import Fused, SpikeLinear
from jaxspike.ops.fast import (
    event_matmul,
    li_parallel,
    linear_recurrence,
    packed_linear,
    spike_indices,
)

RTOL, ATOL = 1e-5, 1e-5


def numpy_recurrence(a, x, h0):
    """h_t = a_t h_{t-1} + x_t, written out as the equation says."""
    a = np.broadcast_to(a, x.shape)
    h, out = np.broadcast_to(h0, x.shape[1:]).astype(np.float64), []
    for t in range(x.shape[0]):
        h = a[t] * h + x[t]
        out.append(h)
    return np.stack(out)


def spikes(key, shape, p=0.3):
    return jax.random.bernoulli(key, p, shape).astype(jnp.float32)


# ------------------------------------------------------------------ associative scan


@pytest.mark.parametrize("a_shape", [(), (5,), (7, 3, 5)])
def test_linear_recurrence_matches_numpy(a_shape):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3, 5)).astype(np.float32)
    a = rng.uniform(0.2, 1.0, size=a_shape).astype(np.float32)
    h0 = rng.normal(size=(3, 5)).astype(np.float32)
    got = linear_recurrence(a, x, h0)
    np.testing.assert_allclose(got, numpy_recurrence(a, x, h0), rtol=RTOL, atol=ATOL)


def test_li_parallel_equals_sequential_values_and_gradients():
    xs = jax.random.normal(jax.random.key(0), (64, 4, 6))
    v0 = jax.random.normal(jax.random.key(1), (4, 6))
    decay = jnp.linspace(0.5, 0.95, 6)

    def seq(decay, xs, v0):
        p = js.LIParams(decay=decay)
        final, v = js.unroll(functools.partial(js.li_step, p), js.LIState(v0), xs)
        return jnp.sum(v * jnp.cos(jnp.arange(64.0))[:, None, None]) + jnp.sum(final.v**2)

    def par(decay, xs, v0):
        final, v = li_parallel(js.LIParams(decay=decay), js.LIState(v0), xs)
        return jnp.sum(v * jnp.cos(jnp.arange(64.0))[:, None, None]) + jnp.sum(final.v**2)

    np.testing.assert_allclose(par(decay, xs, v0), seq(decay, xs, v0), rtol=1e-5)
    g_seq = jax.grad(seq, argnums=(0, 1, 2))(decay, xs, v0)
    g_par = jax.grad(par, argnums=(0, 1, 2))(decay, xs, v0)
    for a, b in zip(g_par, g_seq, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_linear_recurrence_errors():
    with pytest.raises(ValueError, match="linear_recurrence: a of shape"):
        linear_recurrence(jnp.ones(4), jnp.ones((3, 5)))
    with pytest.raises(ValueError, match="li_parallel: xs must be"):
        li_parallel(js.LIParams(), js.LIState(jnp.zeros(3)), jnp.ones((4, 2)))


# ------------------------------------------------------------------ event-driven


def numpy_indices(s, capacity):
    """First `capacity` nonzero positions of each row, padded with F (np.flatnonzero)."""
    s = np.asarray(s)
    f = s.shape[-1]
    rows = []
    for row in s.reshape(-1, f):
        nz = np.flatnonzero(row)[:capacity]
        rows.append(np.concatenate([nz, np.full(capacity - len(nz), f)]))
    return np.asarray(rows).reshape(*s.shape[:-1], capacity)


@pytest.mark.parametrize(
    ("shape", "p", "capacity"),
    [
        ((6, 20), 0.3, 12),  # F not a multiple of 8
        ((2, 3, 700), 0.05, 64),  # SHD-sized rows, leading axes
        ((5, 13), 0.9, 4),  # rows over capacity keep their first spikes
        ((4, 5), 0.5, 9),  # capacity above F
        ((3, 1), 0.5, 2),
    ],
    ids=str,
)
def test_spike_indices_match_numpy_nonzero(shape, p, capacity):
    s = np.array(spikes(jax.random.key(2), shape, p=p))
    s[0] = 0  # an empty row
    s[-1] = 1  # a full row
    got = np.asarray(spike_indices(jnp.asarray(s), capacity=capacity))
    np.testing.assert_array_equal(got, numpy_indices(s, capacity))
    # any nonzero value counts; bool and int inputs give the same
    np.testing.assert_array_equal(spike_indices(jnp.asarray(3 * s), capacity=capacity), got)
    np.testing.assert_array_equal(spike_indices(jnp.asarray(s > 0), capacity=capacity), got)


@pytest.mark.parametrize(
    ("shape", "capacity", "dtype"),
    [
        ((2, 5, 30), 30, jnp.float32),
        ((40, 300), 200, jnp.float32),  # > 8 groups of slots: the looped path
        ((4, 64), 20, jnp.bfloat16),
    ],
    ids=str,
)
def test_event_matmul_equals_dense_values_and_gradient(shape, capacity, dtype):
    s = spikes(jax.random.key(3), shape, p=0.1)
    w = jax.random.normal(jax.random.key(4), (shape[-1], 8))
    idx = spike_indices(s, capacity=capacity)
    assert int(jnp.max(jnp.sum(s, axis=-1))) <= capacity  # nothing dropped
    out = event_matmul(idx, w.astype(dtype))
    assert out.dtype == dtype
    # float32 sum of the selected rows, rounded once to the weights' dtype
    want = (s @ w.astype(dtype).astype(jnp.float32)).astype(dtype)
    tol = 1e-5 if dtype == jnp.float32 else 1e-2
    np.testing.assert_allclose(
        np.asarray(out, np.float32), np.asarray(want, np.float32), rtol=tol, atol=tol
    )
    cot = jax.random.normal(jax.random.key(5), (*shape[:-1], 8))
    g_ev = jax.grad(lambda w: jnp.sum(event_matmul(idx, w) * cot))(w)
    g_dense = jax.grad(lambda w: jnp.sum((s @ w) * cot))(w)
    np.testing.assert_allclose(g_ev, g_dense, rtol=RTOL, atol=ATOL)


def test_event_matmul_padding_out_of_range_and_repeated_indices():
    w = jnp.arange(10.0).reshape(5, 2)
    # 5 = padding, -1 and 9 are out of range: all select nothing; 2 twice counts twice
    idx = jnp.asarray([[2, 5, -1, 9, 2], [0, 5, 5, 5, 5]])
    np.testing.assert_allclose(event_matmul(idx, w), [[8.0, 10.0], [0.0, 1.0]])
    g = jax.grad(lambda w: jnp.sum(event_matmul(idx, w)))(w)
    np.testing.assert_allclose(g[:, 0], [1.0, 0.0, 2.0, 0.0, 0.0])


def test_spike_indices_and_event_matmul_errors():
    with pytest.raises(ValueError, match="capacity must be an int"):
        spike_indices(jnp.ones((2, 3)), capacity=0)
    with pytest.raises(ValueError, match="capacity must be an int"):
        spike_indices(jnp.ones((2, 3)), capacity=True)
    with pytest.raises(ValueError, match="feature axis"):
        spike_indices(jnp.float32(1.0), capacity=2)
    with pytest.raises(TypeError, match="indices must be integers"):
        event_matmul(jnp.ones((2, 3)), jnp.ones((4, 2)))
    with pytest.raises(ValueError, match=r"w must be \[F, H\]"):
        event_matmul(jnp.zeros((2, 3), jnp.int32), jnp.ones(4))


# ------------------------------------------------------------------ bit-packed residuals


def test_packed_linear_equals_dense_values_and_gradients():
    s = spikes(jax.random.key(6), (4, 3, 13))  # 13: not a multiple of 8
    w = jax.random.normal(jax.random.key(7), (13, 5))
    b = jax.random.normal(jax.random.key(8), (5,))
    cot = jax.random.normal(jax.random.key(9), (4, 3, 5))

    def loss(f, s, w, b):
        return jnp.sum(f(s, w, b) * cot)

    dense = lambda s, w, b: s @ w + jnp.broadcast_to(b, (4, 3, 5))
    np.testing.assert_allclose(packed_linear(s, w, b), dense(s, w, b), rtol=RTOL, atol=ATOL)
    g1 = jax.grad(functools.partial(loss, packed_linear), argnums=(0, 1, 2))(s, w, b)
    g2 = jax.grad(functools.partial(loss, dense), argnums=(0, 1, 2))(s, w, b)
    for a, c in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, c, rtol=RTOL, atol=ATOL)


def test_packed_linear_residual_is_one_bit_per_spike():
    s, w = jnp.ones((16, 64)), jnp.ones((64, 4))
    _, vjp = jax.vjp(lambda w: packed_linear(s, w), w)
    sizes = [leaf.nbytes for leaf in jax.tree.leaves(vjp) if leaf.dtype == jnp.uint8]
    assert sizes == [16 * 64 // 8]


# ------------------------------------------------------------------ NNX layers


def _net(fused: bool, *, packed=False, checkpoint=False, time_major=True):
    rngs = nnx.Rngs(0)

    def lin(a, b):
        if packed:
            return SpikeLinear(a, b, residual="packed", rngs=rngs)
        return nnx.Linear(a, b, rngs=rngs)

    w_scale = nnx.initializers.normal(1.0)
    layers = [
        nnx.Linear(12, 16, kernel_init=w_scale, rngs=rngs),
        LIF(16),
        lin(16, 6),
        LIF(6),
        lin(6, 3),
        LI(3),
    ]
    if fused:
        return Fused(*layers, time_major=time_major, checkpoint=checkpoint)
    return Sequential(*layers, time_major=time_major, placement="layerwise")


@pytest.mark.parametrize(
    "options",
    [{}, {"checkpoint": True}, {"checkpoint": 4}, {"packed": True, "checkpoint": 3}],
    ids=["fused", "remat-step", "remat-chunk", "packed-remat"],
)
def test_fused_equals_sequential_outputs_and_gradients(options):
    x = spikes(jax.random.key(10), (10, 2, 12), p=0.4)
    plain, fast = _net(False), _net(True, **options)

    def loss(model):
        return jnp.sum(model(x) ** 2)

    np.testing.assert_allclose(fast(x), plain(x), rtol=RTOL, atol=ATOL)
    assert float(jnp.sum(plain.layers[1](plain.layers[0](x)))) > 0  # the hidden layer fires
    g_plain = nnx.grad(loss)(plain)
    g_fast = nnx.grad(loss)(fast)
    for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fused_batch_major_and_carries():
    x = spikes(jax.random.key(11), (2, 7, 12))
    plain, fast = _net(False, time_major=False), _net(True, time_major=False)
    _, y1 = plain(x[:, :4], return_carry=True)
    c2, y2 = fast(x[:, :4], return_carry=True)
    np.testing.assert_allclose(y2, y1, rtol=RTOL, atol=ATOL)
    rest = fast(x[:, 4:], initial_carry=c2)
    np.testing.assert_allclose(jnp.concatenate([y2, rest], 1), fast(x), rtol=RTOL, atol=ATOL)


def test_fused_errors():
    with pytest.raises(ValueError, match="Fused: inputs must be"):
        Fused(LIF(2))(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="Sequential: placement must be one of"):
        Sequential(LIF(2), placement="scan")
    with pytest.raises(ValueError, match="Sequential: placement must be one of"):
        Sequential(LIF(2))(jnp.ones((1, 3, 2)), placement="both")
    # a dropout layer's random stream cannot advance inside the scan: clear error, and
    # "auto" keeps such a network layerwise
    drop = Sequential(nnx.Dropout(0.5, rngs=nnx.Rngs(0)), LIF(2))
    with pytest.raises(TypeError, match=r"placement='fused'.*Dropout"):
        drop(jnp.ones((1, 3, 2)), placement="fused")
    assert drop.resolve_placement() == "layerwise"
    # an event-driven layer gathers rows over the whole sequence: "auto" stays layerwise
    event = Sequential(SpikeLinear(3, 2, event_capacity=2, rngs=nnx.Rngs(0)), LIF(2))
    assert event.resolve_placement() == "layerwise"


def _placements_net(placement, time_major=False):
    rngs = nnx.Rngs(3)
    inner = Sequential(nnx.Linear(16, 6, rngs=rngs), LIF(6, decay=0.8))
    return Sequential(
        nnx.Linear(12, 16, kernel_init=nnx.initializers.normal(1.0), rngs=rngs),
        LIF(16),
        inner,  # a nested Sequential becomes a nested step in the fused scan
        lambda x: 2.0 * x,
        nnx.Linear(6, 3, rngs=rngs),
        LI(3),
        time_major=time_major,
        placement=placement,
    )


@pytest.mark.parametrize("time_major", [False, True], ids=["batch-major", "time-major"])
def test_sequential_placements_equal_outputs_gradients_and_carries(time_major):
    x = spikes(jax.random.key(12), (3, 9, 12), p=0.4)
    x = jnp.swapaxes(x, 0, 1) if time_major else x
    models = {p: _placements_net(p, time_major) for p in ("layerwise", "fused", "auto")}
    cpu = jax.default_backend() == "cpu"
    assert models["auto"].resolve_placement() == ("fused" if cpu else "layerwise")
    assert models["auto"].resolve_placement("layerwise") == "layerwise"

    def loss(model):
        return jnp.sum(model(x) ** 2)

    ref = models["layerwise"]
    split = (slice(None), slice(0, 4)) if not time_major else (slice(0, 4),)
    rest = (slice(None), slice(4, None)) if not time_major else (slice(4, None),)
    c_ref, y_ref = ref(x[split], return_carry=True)
    g_ref = nnx.grad(loss)(ref)
    assert float(jnp.sum(jnp.abs(y_ref))) > 0
    for name, model in models.items():
        np.testing.assert_allclose(model(x), ref(x), rtol=RTOL, atol=ATOL, err_msg=name)
        # the same for a call-time override on the layerwise model
        np.testing.assert_allclose(ref(x, placement=name), ref(x), rtol=RTOL, atol=ATOL)
        c, y = model(x[split], return_carry=True)
        assert jax.tree.structure(c) == jax.tree.structure(c_ref), name
        for a, b in zip(jax.tree.leaves(c), jax.tree.leaves(c_ref), strict=True):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=name)
        # carries pass between placements: the second chunk continues the first
        y2 = ref(x[rest], initial_carry=c)
        axis = 0 if time_major else 1
        np.testing.assert_allclose(
            jnp.concatenate([y, y2], axis), ref(x), rtol=RTOL, atol=ATOL, err_msg=name
        )
        g = nnx.grad(loss)(model)
        for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_ref), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)


def test_streaming_fused_equals_whole_sequence():
    from jaxspike.nnx import Streaming

    x = spikes(jax.random.key(13), (2, 6, 12), p=0.4)
    whole = _placements_net("layerwise")(x)
    online = Streaming(_placements_net("fused"))
    online.reset(batch_size=2, features=(12,))
    steps = [online(x[:, t : t + 1]) for t in range(6)]
    np.testing.assert_allclose(jnp.concatenate(steps, 1), whole, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"residual": "packed"},
        {"event_capacity": 20},
        {"event_capacity": 20, "inputs": "indices"},
    ],
    ids=str,
)
def test_spike_linear_equals_nnx_linear(kwargs):
    x = spikes(jax.random.key(12), (3, 4, 20))
    a = SpikeLinear(20, 7, **kwargs, rngs=nnx.Rngs(1))
    b = nnx.Linear(20, 7, rngs=nnx.Rngs(1))
    xa = {
        "indices": spike_indices(x, capacity=20),
        "packed": jnp.packbits(x != 0, axis=-1),
    }.get(kwargs.get("inputs"), x)
    np.testing.assert_allclose(a(xa), b(x), rtol=RTOL, atol=ATOL)
    ga = nnx.grad(lambda m: jnp.sum(jnp.sin(m(xa))))(a)
    gb = nnx.grad(lambda m: jnp.sum(jnp.sin(m(x))))(b)
    np.testing.assert_allclose(ga["kernel"][...], gb["kernel"][...], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ga["bias"][...], gb["bias"][...], rtol=RTOL, atol=ATOL)


def test_spike_linear_bfloat16_compute():
    x = spikes(jax.random.key(13), (5, 20))
    a = SpikeLinear(20, 7, compute_dtype=jnp.bfloat16, rngs=nnx.Rngs(1))
    y = a(x)
    assert y.dtype == jnp.float32
    want = x @ a.kernel[...].astype(jnp.bfloat16).astype(jnp.float32) + a.bias[...][None]
    np.testing.assert_allclose(y, want, rtol=2e-2, atol=2e-2)


def test_spike_linear_errors():
    with pytest.raises(ValueError, match="residual must be"):
        SpikeLinear(2, 3, residual="bits", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="must end in 2 features"):
        SpikeLinear(2, 3, rngs=nnx.Rngs(0))(jnp.ones((4, 5)))
    with pytest.raises(ValueError, match="inputs must be 'spikes', 'indices' or 'packed'"):
        SpikeLinear(2, 3, inputs="events", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="needs event_capacity"):
        SpikeLinear(2, 3, inputs="indices", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"takes uint8 \[..., 2\] \(packbits of 9 features\)"):
        SpikeLinear(9, 3, inputs="packed", rngs=nnx.Rngs(0))(jnp.ones((5, 9)))
    layer = SpikeLinear(2, 3, inputs="indices", event_capacity=4, rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="integer indices"):
        layer(jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="event_capacity=4 slots"):
        layer(jnp.zeros((5, 2), jnp.int32))


@pytest.mark.parametrize("placement", ["layerwise", "fused"])
@pytest.mark.parametrize("inputs", ["indices", "packed"])
def test_index_and_packed_input_networks_equal_dense_network(placement, inputs):
    # a first layer fed indices or packed bits computes the network of nnx.Linear on spikes
    x = spikes(jax.random.key(13), (4, 9, 30), p=0.1)
    if inputs == "indices":
        idx, kw = spike_indices(x, capacity=16), dict(event_capacity=16)
    else:
        idx, kw = jnp.packbits(x != 0, axis=-1), dict(residual="packed")
    a = Sequential(
        SpikeLinear(30, 8, inputs=inputs, **kw, rngs=nnx.Rngs(2)),
        LIF(8, decay=0.9),
        placement=placement,
    )
    b = Sequential(nnx.Linear(30, 8, rngs=nnx.Rngs(2)), LIF(8, decay=0.9), placement=placement)
    np.testing.assert_allclose(a(idx), b(x), rtol=RTOL, atol=ATOL)
    ga = nnx.grad(lambda m: jnp.sum(m(idx)))(a)
    gb = nnx.grad(lambda m: jnp.sum(m(x)))(b)
    np.testing.assert_allclose(
        ga["layers"][0]["layer"]["kernel"][...],
        gb["layers"][0]["layer"]["kernel"][...],
        rtol=RTOL,
        atol=ATOL,
    )
