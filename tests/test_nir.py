"""NIR import/export: round trips, a NumPy integrator of NIR's equations, presets, errors."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import subprocess
import sys

import numpy as np
import pytest

nir = pytest.importorskip("nir")
flax_nnx = pytest.importorskip("flax.nnx")

from flax import linen as nn  # noqa: E402
from flax import nnx  # noqa: E402

import jaxspike.linen as jl  # noqa: E402
from jaxspike.nir import CONVENTIONS, export_nir, import_nir, import_nir_fn  # noqa: E402
from jaxspike.nnx import (  # noqa: E402
    CTLIF,
    IF,
    LI,
    LIF,
    RNN,
    CubaLIF,
    LIFCell,
    RecurrentCell,
    Sequential,
    TimeDistributed,
)
from jaxspike.nnx.convert import Flatten, SumPool  # noqa: E402


def _x(shape, scale=1.5, seed=0):
    # A fresh generator per call: inputs must not depend on which tests ran before.
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


# ----------------------------------------------------------------------------- reference
def ref_neuron(kind, f, xs, dt, method="euler", reset="zero", compare=">"):
    """Step-by-step NumPy integration of NIR's ODEs, input held constant over a step.

    ``xs[T, ...]``; ``f`` holds NIR fields. Returns the outputs (spikes, or v for I/LI).
    """
    shape = xs.shape[1:]
    v_leak = np.broadcast_to(f.get("v_leak", 0.0), shape)
    v = np.array(v_leak, np.float64)
    i = np.zeros(shape)
    out = []
    for x in xs.astype(np.float64):
        if kind.startswith("Cuba"):
            ts, w = f["tau_syn"], f.get("w_in", 1.0)
            if method == "euler":
                i = i + dt / ts * (-i + w * x)
            else:
                i = w * x + (i - w * x) * np.exp(-dt / ts)
            drive = i
        else:
            drive = x
        if kind in ("I", "IF"):
            v = v + dt * f["r"] * drive
        else:
            tau = f["tau_mem"] if kind.startswith("Cuba") else f["tau"]
            target = v_leak + f["r"] * drive
            if method == "euler":
                v = v + dt / tau * (target - v)
            else:
                v = target + (v - target) * np.exp(-dt / tau)
        if kind in ("I", "LI", "CubaLI"):
            out.append(v.copy())
            continue
        z = (v > f["v_threshold"]) if compare == ">" else (v >= f["v_threshold"])
        z = z.astype(np.float64)
        if reset == "zero":
            v = np.where(z > 0, f.get("v_reset", 0.0), v)
        else:
            v = v - z * f["v_threshold"]
        out.append(z)
    return np.stack(out)


def _fields(kind, n, rng):
    f = {"r": rng.uniform(0.5, 2.0, n)}
    if kind in ("LI", "LIF", "CubaLI", "CubaLIF"):
        f["v_leak"] = rng.uniform(-0.2, 0.2, n)
    if kind in ("LI", "LIF"):
        f["tau"] = rng.uniform(5.0, 20.0, n)
    if kind.startswith("Cuba"):
        f["tau_mem"] = rng.uniform(5.0, 20.0, n)
        f["tau_syn"] = rng.uniform(2.0, 8.0, n)
        f["w_in"] = rng.uniform(0.5, 2.0, n)
    if kind in ("IF", "LIF", "CubaLIF"):
        f["v_threshold"] = rng.uniform(0.5, 1.0, n)
        f["v_reset"] = rng.uniform(-0.1, 0.1, n)
    return f


def _seq(kind_f, n_in, n):
    kind, f = kind_f
    w = np.random.default_rng(1).normal(size=(n, n_in))
    g = nir.NIRGraph.from_list(nir.Linear(weight=w), getattr(nir, kind)(**f))
    return g, w


# ----------------------------------------------------------------------------- import vs ref
@pytest.mark.parametrize("kind", ["I", "IF", "LI", "LIF", "CubaLI", "CubaLIF"])
@pytest.mark.parametrize("method", ["euler", "exact"])
def test_import_matches_numpy_integrator(kind, method, x64):
    n, dt = 5, 1.0
    f = _fields(kind, n, np.random.default_rng(1))
    g, w = _seq((kind, f), 3, n)
    xs = _x((1, 40, 3), 2.0 if kind not in ("I", "IF") else 0.4).astype(np.float64)
    apply_fn, params = import_nir_fn(g, dt=dt, method=method, param_dtype=np.float64)
    got = np.asarray(apply_fn(params, xs))[0]
    want = ref_neuron(kind, f, xs[0] @ w.T, dt, method)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    if kind in ("IF", "LIF", "CubaLIF"):
        assert 0 < want.sum() < want.size  # the test exercises spikes and silence


def test_legacy_subtract_reset_and_exact_values(tmp_path):
    """Hand values: Euler LIF with tau=2, r=2 (gain 1), v_th=1, dt=1: v <- v/2 + x."""
    g = nir.NIRGraph.from_list(
        nir.LIF(
            tau=np.full(1, 2.0),
            r=np.full(1, 2.0),
            v_leak=np.zeros(1),
            v_threshold=np.ones(1),
            v_reset=np.zeros(1),
        )
    )
    xs = np.array([[[0.8], [0.8], [0.8]]], np.float32)
    # v: 0.8 -> 1.2 (spike) -> zero reset: 0.8 | subtract: 0.2/2+0.8 = 0.9
    zero = np.asarray(import_nir_fn(g, dt=1.0)[0](import_nir_fn(g, dt=1.0)[1], xs))[0, :, 0]
    assert zero.tolist() == [0.0, 1.0, 0.0]
    f, p = import_nir_fn(g, dt=1.0, reset="subtract", time_major=True)
    carry, _ = f(p, xs.transpose(1, 0, 2), return_carry=True)
    assert np.allclose(np.asarray(carry.nodes["lif"].v), [[0.2 / 2 + 0.8]])
    # a file written by nir <= 1.0.5 has no v_reset: subtract on request
    import h5py

    path = tmp_path / "legacy.nir"
    nir.write(path, g)
    with h5py.File(path, "r+") as h:
        del h["version"]
        h["version"] = "1.0.4"
        del h["node/nodes/lif/v_reset"]
    assert import_nir_fn(path, dt=1.0, legacy_reset="subtract")[0].options["lif"]["reset"] == (
        "subtract"
    )
    assert import_nir_fn(path, dt=1.0)[0].options["lif"]["reset"] == "zero"
    # a graph object carries no version: an explicit legacy_reset applies (issue 14)
    assert import_nir_fn(g, dt=1.0, legacy_reset="subtract")[0].options["lif"]["reset"] == (
        "subtract"
    )
    assert import_nir_fn(g, dt=1.0)[0].options["lif"]["reset"] == "zero"


def test_conv_pool_flatten_scale_threshold_delay(x64):
    rng = np.random.default_rng(2)
    wc = rng.normal(size=(3, 2, 3, 3))
    bc = rng.normal(size=3)
    nodes = {
        "input": nir.Input(input_type=np.array([2, 6, 6])),
        "conv": nir.Conv2d(
            input_shape=(6, 6), weight=wc, stride=1, padding=1, dilation=1, groups=1, bias=bc
        ),
        "pool": nir.SumPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
        "avg": nir.AvgPool2d(
            kernel_size=np.array([3, 3]), stride=np.array([3, 3]), padding=np.array([0, 0])
        ),
        "flat": nir.Flatten(input_type={"input": np.array([3, 1, 1])}, start_dim=0),
        "scale": nir.Scale(scale=np.array([1.0, -2.0, 0.5])),
        "thr": nir.Threshold(threshold=np.array([0.0, 0.1, 0.2])),
        "delay": nir.Delay(delay=np.array([0.0, 2.0, 4.0])),
        "output": nir.Output(output_type=np.array([3])),
    }
    names = list(nodes)
    g = nir.NIRGraph(nodes=nodes, edges=list(itertools.pairwise(names)))
    xs = rng.normal(size=(2, 6, 2, 6, 6))
    f, p = import_nir_fn(g, dt=2.0, param_dtype=np.float64)
    got = np.asarray(f(p, xs))
    # NumPy reference: torch-style cross-correlation, channels first
    pad = np.pad(xs, ((0, 0), (0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((2, 6, 3, 6, 6))
    for i in range(6):
        for j in range(6):
            conv[..., i, j] = np.einsum("btchw,ochw->bto", pad[..., i : i + 3, j : j + 3], wc) + bc
    pool = conv.reshape(2, 6, 3, 3, 2, 3, 2).sum(axis=(4, 6))
    avg = pool.mean(axis=(3, 4))
    z = (avg * [1.0, -2.0, 0.5] > [0.0, 0.1, 0.2]).astype(float)
    want = np.zeros_like(z)
    for k, d in enumerate([0, 1, 2]):
        want[:, d:, k] = z[:, : 6 - d, k]
    np.testing.assert_array_equal(got, want)


def _skip_recurrent_graph(rng):
    n_in, n = 3, 4
    rec = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n])),
            "lif": nir.LIF(**_fields("LIF", n, rng)),
            "w_rec": nir.Linear(weight=rng.normal(size=(n, n)) * 0.5),
            "output": nir.Output(output_type=np.array([n])),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    nodes = {
        "input": nir.Input(input_type=np.array([n_in])),
        "fc1": nir.Affine(weight=rng.normal(size=(n, n_in)), bias=rng.normal(size=n) * 0.1),
        "rnn": rec,
        "fc2": nir.Linear(weight=rng.normal(size=(2, n))),
        "skip": nir.Linear(weight=rng.normal(size=(2, n_in))),
        "li": nir.CubaLI(**_fields("CubaLI", 2, rng)),
        "output": nir.Output(output_type=np.array([2])),
    }
    edges = [
        ("input", "fc1"),
        ("fc1", "rnn"),
        ("rnn", "fc2"),
        ("fc2", "li"),
        ("input", "skip"),
        ("skip", "li"),
        ("li", "output"),
    ]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_skip_and_recurrent_graph_vs_numpy_and_round_trip(tmp_path, x64):
    rng = np.random.default_rng(3)
    g = _skip_recurrent_graph(rng)
    xs = rng.normal(size=(2, 30, 3)) * 2
    model = import_nir(g, dt=1.0, param_dtype=np.float64)
    got = np.asarray(model(xs))
    # NumPy: recurrent input uses the previous step's spikes
    nd, rn = g.nodes, g.nodes["rnn"].nodes
    lif = {k: getattr(rn["lif"], k) for k in ("tau", "r", "v_leak", "v_threshold", "v_reset")}
    cli = {k: getattr(nd["li"], k) for k in ("tau_syn", "tau_mem", "r", "v_leak", "w_in")}
    for b in range(2):
        v = np.array(lif["v_leak"], float)
        s = np.zeros(4)
        spikes = []
        for x in xs[b]:
            drive = nd["fc1"].weight @ x + nd["fc1"].bias + rn["w_rec"].weight @ s
            v = v + 1.0 / lif["tau"] * (lif["v_leak"] - v + lif["r"] * drive)
            s = (v > lif["v_threshold"]).astype(float)
            v = np.where(s > 0, lif["v_reset"], v)
            spikes.append(s)
        u = np.stack(spikes) @ nd["fc2"].weight.T + xs[b] @ nd["skip"].weight.T
        want = ref_neuron("CubaLI", cli, u, 1.0)
        np.testing.assert_allclose(got[b], want, rtol=1e-9, atol=1e-9)
    # imported model -> export -> write -> read -> import
    path = tmp_path / "g.nir"
    nir.write(path, export_nir(model, dt=1.0))
    again = import_nir(path, dt=1.0, param_dtype=np.float64)
    np.testing.assert_allclose(np.asarray(again(xs)), got, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- export round trips
def _round_trip(model, shape, tmp_path, *, dt=1e-3, method="euler", **imp):
    path = tmp_path / "m.nir"
    approximate = "reset" in imp
    kw = {"dt": dt, "input_shape": shape[2:], "method": method, "approximate": approximate}
    if approximate:
        with pytest.warns(UserWarning, match="differ from this model by up to"):
            graph = export_nir(model, **kw)
    else:
        graph = export_nir(model, **kw)
    nir.write(path, graph)
    imp.setdefault("convention", "jaxspike")
    back = import_nir(path, dt=dt, method=method, **imp)
    xs = _x(shape)
    return np.asarray(model(xs)), np.asarray(back(xs))


# snnTorch's undecayed subtraction (decay_reset=False) is the reset after the next integration
_NEXT = CONVENTIONS["jaxspike"].replace(
    default=dataclasses.replace(CONVENTIONS["jaxspike"].default, reset_at="next_step")
)


def _lin(i, o, k=0):
    return nnx.Linear(i, o, rngs=nnx.Rngs(k))


@pytest.mark.parametrize(
    ("layer", "imp"),
    [
        (LIF(4, decay=0.8, reset="zero", v_th=0.7), {}),
        (LIF(4, decay=0.8, reset="subtract"), {"reset": "subtract"}),
        (LIF(4, decay=0.8, decay_reset=False), {"reset": "subtract", "convention": _NEXT}),
        (IF(4, reset="zero", v_reset=-0.1), {}),
        (LI(4, decay=0.7), {}),
        (LI(4, decay=1.0), {}),
        (CubaLIF(4, decay_syn=0.6, decay_mem=0.85, reset="zero"), {}),
        (CTLIF(4, tau_mem=5.0, v_leak=0.1, r=1.5, method="euler", dt=1.0), {}),
        (
            RNN(
                RecurrentCell(
                    LIFCell(4, decay=0.8, reset="zero"), self_connections=False, rngs=nnx.Rngs(1)
                )
            ),
            {},
        ),
    ],
    ids=[
        "lif",
        "lif-sub",
        "lif-snntorch-sub",
        "if",
        "li",
        "li-integrator",
        "cubalif",
        "ctlif",
        "recurrent",
    ],
)
def test_nnx_round_trip_exact(layer, imp, tmp_path):
    model = Sequential(_lin(3, 4), layer)
    a, b = _round_trip(model, (2, 25, 3), tmp_path, **imp)
    if isinstance(layer, LI):  # membrane output: equal up to float32 rounding
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    else:  # spikes: identical
        np.testing.assert_array_equal(a, b)
        assert 0 < a.mean() < 1


def test_exact_method_round_trip(tmp_path):
    model = Sequential(
        _lin(3, 4),
        CubaLIF(4, decay_syn=0.6, decay_mem=0.85, reset="zero"),
        _lin(4, 2, 1),
        LIF(2, decay=0.9, reset="zero"),
    )
    a, b = _round_trip(model, (2, 25, 3), tmp_path, method="exact")
    np.testing.assert_array_equal(a, b)


def test_lif_export_parameters():
    g = export_nir(Sequential(LIF(2, decay=0.75, reset="zero")), dt=1e-4, input_shape=(2,))
    lif = g.nodes["0_lif"]
    np.testing.assert_allclose(lif.tau, 1e-4 / 0.25)
    np.testing.assert_allclose(lif.r, 4.0)
    np.testing.assert_allclose(lif.v_reset, 0.0)


def test_linen_round_trip(tmp_path):
    import jax

    model = nn.Sequential(
        [jl.TimeDistributed(nn.Dense(4)), jl.LIF(4, decay=0.8, reset="zero", learn="decay")]
    )
    xs = _x((2, 20, 3))
    variables = model.init(jax.random.key(0), xs)
    path = tmp_path / "l.nir"
    nir.write(path, export_nir(model, dt=1.0, input_shape=(3,), variables=variables))
    back = import_nir(path, dt=1.0, convention="jaxspike")
    np.testing.assert_array_equal(np.asarray(model.apply(variables, xs)), np.asarray(back(xs)))


# ----------------------------------------------------------------------------- conv export
def _conv_net(pool, flat, *, padding=1, strides=1, groups=1, dilation=1, tail=True):
    """Conv -> LIF -> pool -> flatten -> Linear -> LIF (-> Linear -> LI) on 8x8x2 images."""
    rngs = nnx.Rngs(4)
    conv = nnx.Conv(
        2,
        4,
        (3, 3),
        strides=strides,
        padding=padding,
        kernel_dilation=dilation,
        feature_group_count=groups,
        rngs=rngs,
    )
    xs = np.zeros((1, 1, 8, 8, 2), np.float32)
    hw = conv(xs[0]).shape[1] // 2
    layers = [conv, LIF(4, decay=0.8, reset="zero", v_th=0.5), pool, flat]
    layers += [nnx.Linear(hw * hw * 4, 6, rngs=rngs), LIF(6, decay=0.9, reset="zero", v_th=0.3)]
    if tail:
        layers += [nnx.Linear(6, 3, rngs=rngs), LI(3, decay=0.8)]
    return Sequential(*layers)


def _conv_round_trip(model, tmp_path, *, hw=8):
    path = tmp_path / "conv.nir"
    graph = export_nir(model, dt=1e-3, input_shape=(hw, hw, 2))
    nir.write(path, graph)
    back = import_nir(path, dt=1e-3, convention="jaxspike")
    xs = _x((2, 12, hw, hw, 2), 2.0)
    # NIR convolutions are channels first: [B, T, H, W, C] -> [B, T, C, H, W]
    return graph, np.asarray(model(xs)), np.asarray(back(xs.transpose(0, 1, 4, 2, 3)))


AVG = functools.partial(nnx.avg_pool, window_shape=(2, 2), strides=(2, 2))


@pytest.mark.parametrize(
    ("pool", "flat", "conv"),
    [
        (AVG, Flatten(), {}),
        (SumPool((2, 2)), lambda x: x.reshape(x.shape[0], -1), {}),
        (AVG, Flatten(), {"padding": "SAME", "groups": 2}),
        (AVG, Flatten(), {"padding": 2, "dilation": 2}),
        (AVG, Flatten(), {"padding": ((1, 1), (1, 1)), "strides": 2}),
    ],
    ids=["avg", "sum-lambda", "same-groups", "dilation", "stride"],
)
def test_conv_net_round_trip(pool, flat, conv, tmp_path):
    """Conv -> LIF -> pool -> Flatten -> Linear -> LIF -> Linear -> LI, and its spikes."""
    model = _conv_net(pool, flat, **conv)
    graph, a, b = _conv_round_trip(model, tmp_path)
    kinds = [type(n).__name__ for n in graph.nodes.values()]
    assert kinds[1:5] == [
        "Conv2d",
        "LIF",
        (type(pool).__name__ == "SumPool" and "SumPool2d") or "AvgPool2d",
        "Flatten",
    ]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)  # LI membrane
    spikes = Sequential(*list(model.layers)[:6])  # up to the hidden LIF: spikes
    _, a, b = _conv_round_trip(spikes, tmp_path)
    np.testing.assert_array_equal(a, b)
    assert 0 < a.mean() < 1


def test_conv_export_layout_is_channels_first():
    """HWIO kernel -> OIHW; Affine columns follow NIR's C-major flatten of (C, H, W)."""
    model = _conv_net(AVG, Flatten(), tail=False)
    g = export_nir(model, dt=1.0, input_shape=(8, 8, 2))
    conv, lin = model.layers[0].layer, model.layers[4].layer
    k = np.asarray(conv.kernel[...])  # (kh, kw, cin, cout)
    w = g.nodes["0_conv"].weight
    for o, i, y, x in itertools.product(range(4), range(2), range(3), range(3)):
        assert w[o, i, y, x] == k[y, x, i, o]
    assert tuple(g.nodes["input"].input_type["input"]) == (2, 8, 8)
    kl, wl = np.asarray(lin.kernel[...]), g.nodes["4_affine"].weight
    h = w_ = 4
    for c, y, x in itertools.product(range(4), range(h), range(w_)):
        # jaxspike flattens (y, x, c) row-major, NIR flattens (c, y, x)
        np.testing.assert_array_equal(wl[:, c * h * w_ + y * w_ + x], kl[(y * w_ + x) * 4 + c])


def test_conv_outputs_keep_jaxspike_order(tmp_path):
    """A flattened output is permuted back; a map output comes out channels first."""
    rngs = nnx.Rngs(5)
    flat = Sequential(
        nnx.Conv(2, 3, (3, 3), rngs=rngs), LIF(3, decay=0.8, reset="zero", v_th=0.4), Flatten()
    )
    _, a, b = _conv_round_trip(flat, tmp_path, hw=5)
    np.testing.assert_array_equal(a, b)
    assert 0 < a.mean() < 1
    per_channel = LIF(3, decay=np.array([0.5, 0.7, 0.9]), reset="zero", v_th=0.4)
    mixed = Sequential(
        nnx.Conv(2, 3, (3, 3), rngs=rngs), per_channel, nnx.Linear(3, 2, rngs=rngs)
    )  # a Linear on the channels of a map is exported as a 1x1 convolution
    _, a, b = _conv_round_trip(mixed, tmp_path, hw=5)
    np.testing.assert_allclose(a, b.transpose(0, 1, 3, 4, 2), rtol=1e-5, atol=1e-5)
    first = Sequential(
        nnx.Linear(2, 3, rngs=rngs),
        LIF(3, decay=0.8, reset="zero", v_th=0.3),
        nnx.Conv(3, 2, (3, 3), padding="VALID", rngs=rngs),
        LIF(2, decay=0.8, reset="zero", v_th=0.3),
    )  # a Linear on the input image, then a convolution: both channels first in NIR
    graph, a, b = _conv_round_trip(first, tmp_path, hw=5)
    assert type(graph.nodes["0_conv"]).__name__ == "Conv2d"
    np.testing.assert_array_equal(a, b.transpose(0, 1, 3, 4, 2))
    assert 0 < a.mean() < 1


def test_linen_conv_round_trip(tmp_path):
    import jax

    model = nn.Sequential(
        [
            nn.Conv(4, (3, 3), padding="SAME"),
            jl.LIF(4, decay=0.8, reset="zero", v_th=0.5),
            functools.partial(nn.avg_pool, window_shape=(2, 2), strides=(2, 2)),
            jl.TimeDistributed(Flatten()),
            nn.Dense(5),
            jl.LIF(5, decay=0.9, reset="zero", v_th=0.3),
        ]
    )
    xs = _x((2, 10, 8, 8, 2), 2.0)
    variables = model.init(jax.random.key(0), xs)
    g = export_nir(model, dt=1.0, input_shape=(8, 8, 2), variables=variables)
    back = import_nir(g, dt=1.0, convention="jaxspike")
    a = np.asarray(model.apply(variables, xs))
    np.testing.assert_array_equal(a, np.asarray(back(xs.transpose(0, 1, 4, 2, 3))))
    assert 0 < a.mean() < 1


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (lambda x: x * 2.0, r"layers\[2\] \(function <lambda>\) is not supported"),
        (lambda x: x.reshape(x.shape[0], 4, -1), "is not supported"),
        (functools.partial(nnx.max_pool, window_shape=(2, 2)), "is max pooling"),
        (functools.partial(nnx.avg_pool, window_shape=(3, 3), padding="SAME"), "asymmetric"),
    ],
    ids=["lambda", "reshape", "max-pool", "asymmetric-pad"],
)
def test_export_refuses_unidentified_layers(layer, match):
    model = Sequential(
        nnx.Conv(2, 4, (3, 3), rngs=nnx.Rngs(0)), LIF(4, reset="zero"), layer, Flatten()
    )
    with pytest.raises(ValueError, match=match):
        export_nir(model, dt=1.0, input_shape=(8, 8, 2))


# ----------------------------------------------------------------------------- presets
def _lif_graph(tau, r, thr, n=3, w_in=None, tau_syn=None, v_leak=0.0):
    if tau_syn is None:
        node = nir.LIF(
            tau=np.full(n, tau),
            r=np.full(n, r),
            v_leak=np.full(n, v_leak),
            v_threshold=np.full(n, thr),
            v_reset=np.zeros(n),
        )
    else:
        node = nir.CubaLIF(
            tau_syn=np.full(n, tau_syn),
            tau_mem=np.full(n, tau),
            r=np.full(n, r),
            v_leak=np.full(n, v_leak),
            v_threshold=np.full(n, thr),
            v_reset=np.zeros(n),
            w_in=np.full(n, w_in),
        )
    return nir.NIRGraph.from_list(node)


def test_snntorch_preset():
    """snnTorch Leaky (beta, subtract, reset_delay=True) as exported: tau=dt/(1-b), r=tau/dt."""
    dt, beta, thr = 1e-4, 0.9, 1.0
    g = _lif_graph(dt / (1 - beta), 1 / (1 - beta), thr)
    xs = _x((1, 40, 3), 0.8)
    got = np.asarray(import_nir(g, dt=dt, convention="snntorch")(xs))[0]
    u = np.zeros(3)
    want = []
    for x in xs[0]:
        reset = (u > thr).astype(float)  # from the previous membrane
        u = beta * u + x - reset * thr
        want.append((u > thr).astype(float))
    np.testing.assert_array_equal(got, np.stack(want))


@pytest.mark.parametrize("decay_reset", [True, False])
def test_approximate_export_warns_with_the_measured_difference(decay_reset, tmp_path):
    model = Sequential(_lin(3, 4), LIF(4, decay=0.8, reset="subtract", decay_reset=decay_reset))
    with pytest.warns(UserWarning, match="differ from this model by up to") as rec:
        graph = export_nir(model, dt=1e-3, input_shape=(3,), approximate=True)
    size = float(str(rec[0].message).split("by up to ")[1].split(" ")[0])
    assert size > 0
    path = tmp_path / "a.nir"
    nir.write(path, graph)
    xs = _x((2, 30, 3))
    # jaxspike's own reading restores the exact model from the metadata, without options
    back = import_nir(path, dt=1e-3, convention="jaxspike")
    np.testing.assert_array_equal(np.asarray(back(xs)), np.asarray(model(xs)))
    # NIR's reading (reset to v_reset) differs: the warned difference is real
    plain = import_nir(path, dt=1e-3, convention="jaxspike", reset="zero")
    assert not np.array_equal(np.asarray(plain(xs)), np.asarray(model(xs)))


# The Norse, sinabs and Spyx presets are checked against files and traces written by
# those libraries in tests/test_nir_peers.py (the hand-written equations that stood here
# encoded the old, wrong readings: Norse's current order, Spyx CuBaLIF's reset order).


# ----------------------------------------------------------------------------- errors
def test_errors():
    lif = _lif_graph(10.0, 10.0, 1.0)
    with pytest.raises(ValueError, match="dt is required"):
        import_nir_fn(lif)
    with pytest.raises(ValueError, match="convention"):
        import_nir_fn(lif, dt=1.0, convention="brian")
    bad = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([3])),
            "fc": nir.Linear(weight=np.ones((2, 4))),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "fc"), ("fc", "output")],
        type_check=False,
    )
    with pytest.raises(ValueError, match="shape mismatch along edge 'input' -> 'fc'"):
        import_nir_fn(bad, dt=1.0)
    loop = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "a": nir.Linear(weight=np.eye(2)),
            "b": nir.Scale(scale=np.ones(2)),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")],
        type_check=False,
    )
    with pytest.raises(ValueError, match="cycle without state"):
        import_nir_fn(loop, dt=1.0)
    unknown = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "x": nir.ir.graph.Identity(input_type={"input": np.array([2])}),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "x"), ("x", "output")],
        type_check=False,
    )
    with pytest.raises(ValueError, match="type Identity"):
        import_nir_fn(unknown, dt=1.0)
    with pytest.raises(ValueError, match="unstable"):
        import_nir_fn(lif, dt=20.0)


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (LIF(3), "subtractive reset"),
        (IF(3, leak=0.1, reset="zero"), "constant subtractive leak"),
        (LIF(3, reset="zero", refractory=2), "refractory"),
        (CTLIF(3, i_bias=0.5), "method"),
    ],
)
def test_export_refuses_with_layer_name(layer, match):
    from jaxspike.nnx import ALIF

    with pytest.raises(ValueError, match=match) as err:
        export_nir(Sequential(_lin(3, 3), layer), dt=1.0, input_shape=(3,))
    assert "layers[1]" in str(err.value)
    with pytest.raises(ValueError, match="adaptive threshold"):
        export_nir(Sequential(ALIF(3, reset="zero")), dt=1.0, input_shape=(3,))
    with pytest.raises(ValueError, match="not supported"):
        export_nir(Sequential(lambda x: x), dt=1.0, input_shape=(3,))


def test_import_jaxspike_nir_is_lazy():
    code = (
        "import sys, jaxspike, jaxspike.nir; "
        "assert 'nir' not in sys.modules and 'flax' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- traced export
class ConvSNN(nnx.Module):
    """A user's own class: a chain of supported layers called in ``__call__``."""

    def __init__(self, *, rngs):
        self.conv = nnx.Conv(1, 3, (3, 3), rngs=rngs)
        self.lif1 = LIF(3, decay=0.8, reset="zero")
        self.pool = TimeDistributed(SumPool((2, 2)))
        self.flat = TimeDistributed(Flatten())
        self.fc = nnx.Linear(4 * 4 * 3, 5, rngs=rngs)
        self.lif2 = LIF(5, decay=0.9, reset="zero", v_th=0.5)

    def __call__(self, x):
        x = self.lif1(self.conv(x))
        x = self.flat(self.pool(x))
        return self.lif2(self.fc(x))


def test_export_traces_a_user_module(tmp_path):
    model = ConvSNN(rngs=nnx.Rngs(0))
    path = tmp_path / "c.nir"
    nir.write(path, export_nir(model, dt=1e-3, input_shape=(8, 8, 1)))
    back = import_nir(path, dt=1e-3, convention="jaxspike")
    xs = np.abs(_x((2, 12, 8, 8, 1), 2.0))
    want = np.asarray(model(xs))
    got = np.asarray(back(xs.transpose(0, 1, 4, 2, 3)))  # NIR images are channels first
    np.testing.assert_array_equal(got, want)
    assert want.sum() > 0


class Branchy(nnx.Module):
    def __init__(self, *, rngs):
        self.fc = nnx.Linear(3, 4, rngs=rngs)
        self.lif = LIF(4, decay=0.8, reset="zero")

    def __call__(self, x):
        return self.lif(self.fc(x) * 2.0)  # an operation that is not a layer


class MaxPooled(nnx.Module):
    def __init__(self, *, rngs):
        self.body = Sequential(
            nnx.Conv(1, 2, (3, 3), rngs=rngs),
            LIF(2, decay=0.8, reset="zero"),
            functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2)),
        )

    def __call__(self, x):
        return self.body(x)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"multi_spike": True}, "several spikes"),
        ({"v_min": -1.0}, "membrane floor"),
        ({"reset": "zero", "reset_at": "next_step"}, "one step late"),
    ],
)
def test_export_refuses_spike_options_nir_lacks(options, match):
    with pytest.raises(ValueError, match=match):
        export_nir(Sequential(_lin(3, 4), LIF(4, **options)), dt=1e-3, input_shape=(3,))


def test_export_next_step_subtract_round_trips(tmp_path):
    model = Sequential(_lin(3, 4), LIF(4, decay=0.8, reset="subtract", reset_at="next_step"))
    with pytest.warns(UserWarning, match="differ from this model"):
        graph = export_nir(model, dt=1e-3, input_shape=(3,), approximate=True)
    nir.write(tmp_path / "n.nir", graph)
    back = import_nir(tmp_path / "n.nir", dt=1e-3, convention="jaxspike")
    xs = _x((2, 30, 3))
    np.testing.assert_array_equal(np.asarray(back(xs)), np.asarray(model(xs)))


def test_export_of_user_modules_refuses_with_reasons():
    before = vars(nnx.Linear)["__call__"]
    with pytest.raises(ValueError, match="between layer 'fc' and its layer 'lif'"):
        export_nir(Branchy(rngs=nnx.Rngs(0)), dt=1e-3, input_shape=(3,))
    with pytest.raises(ValueError, match=r"is max pooling.*SumPool"):
        export_nir(MaxPooled(rngs=nnx.Rngs(0)), dt=1e-3, input_shape=(8, 8, 1))
    # the tracing leaves every layer class as it was
    assert vars(nnx.Linear)["__call__"] is before
