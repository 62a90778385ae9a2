"""The NIR runtime runs the core: no neuron arithmetic of its own, named state, recording."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import jax.numpy as jnp  # noqa: E402

import jaxspike as js  # noqa: E402
from jaxspike.neurons.affine_lif import (  # noqa: E402
    AffineLIFParams,
    AffineLIFState,
    affine_lif_init,
    affine_lif_step,
)
from jaxspike.nir import GraphCarry, NodeTrace, import_nir, import_nir_fn  # noqa: E402

NIR_PACKAGE = Path(js.__file__).parent / "nir"
# the runtime and the importer (export maps parameters back and is checked separately)
RUNTIME = ("_run.py", "_import.py", "_module.py", "_graph.py", "_conventions.py")

# names whose use means a neuron is being integrated, fired or reset here
FORBIDDEN_CALLS = {
    "spike",
    "fire",
    "stop_gradient",
    "nextafter",
    "exp",
    "expm1",
    "log",
    "floor",
    "heaviside",
    "refractory_gate",
    "refractory_count",
}
# state and coefficient names of a neuron: arithmetic on them is an integration rule
# (single letters ``i`` and ``s`` are left out: they name loop indices and strides)
STATE_NAMES = {
    "v",
    "v_th",
    "v_reset",
    "v_pre",
    "a_m",
    "b_m",
    "c_m",
    "a_s",
    "b_s",
    "a_mem",
    "b_mem",
    "c_mem",
    "a_syn",
    "b_syn",
    "decay",
    "beta",
    "alpha",
    "tau",
}


def _names(node: ast.AST) -> set[str]:
    out = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            out.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            out.add(sub.attr)
        elif isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Constant):
            out.add(str(sub.slice.value))
    return out


def neuron_arithmetic(source: str) -> list[str]:
    """Places in ``source`` that integrate, fire or reset a neuron."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in FORBIDDEN_CALLS:
                found.append(f"line {node.lineno}: call of {name}")
        if isinstance(node, (ast.ImportFrom, ast.Import)):
            for alias in node.names:
                if alias.name in FORBIDDEN_CALLS:
                    found.append(f"line {node.lineno}: import of {alias.name}")
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)
        ):
            hit = _names(node) & STATE_NAMES
            if hit:
                found.append(f"line {node.lineno}: arithmetic on {sorted(hit)}")
    return found


def test_nir_runtime_defines_no_neuron_arithmetic() -> None:
    problems = {f: neuron_arithmetic((NIR_PACKAGE / f).read_text()) for f in RUNTIME}
    assert {f: p for f, p in problems.items() if p} == {}


def test_the_check_catches_the_old_runtime() -> None:
    # the core of the removed second implementation (nir/_run.py before this change)
    old = """
from jaxspike.neurons.reset import fire
def neuron_step(g, v, i, x):
    i_new = g["a_s"] * i + g["b_s"] * x
    v = g["a_m"] * v + g["b_m"] * i_new + g["c_m"]
    th = jnp.nextafter(g["v_th"], jnp.inf)
    return fire(v, th, g["v_reset"], reset="zero")
def _decay(tau, dt):
    return np.exp(-dt / tau)
"""
    found = neuron_arithmetic(old)
    assert any("import of fire" in f for f in found)
    assert any("nextafter" in f for f in found)
    assert any("call of exp" in f for f in found)
    assert any("arithmetic on" in f and "a_m" in f for f in found)


def test_runtime_uses_the_core_step() -> None:
    text = (NIR_PACKAGE / "_run.py").read_text()
    assert "affine_lif_step" in text and "unroll" in text


def _graph() -> nir.NIRGraph:
    n = 3
    return nir.NIRGraph.from_list(
        nir.Affine(weight=np.eye(n) * 1.5, bias=np.zeros(n)),
        nir.CubaLIF(
            tau_syn=np.full(n, 2.0),
            tau_mem=np.full(n, 4.0),
            r=np.full(n, 2.0),
            v_leak=np.zeros(n),
            v_threshold=np.full(n, 0.3),
            v_reset=np.zeros(n),
            w_in=np.full(n, 1.0),
        ),
    )


def test_imported_graph_equals_the_core_step_scanned() -> None:
    """The import equals affine_lif_step + unroll with the coefficients of NIR's Euler rule."""
    g = _graph()
    xs = np.random.default_rng(0).uniform(0, 1, (2, 20, 3)).astype(np.float32)
    apply_fn, params = import_nir_fn(g, dt=1.0)
    got = np.asarray(apply_fn(params, xs))
    # NIR Euler by hand: a = 1 - dt/tau, b_mem = r dt/tau_mem, b_syn = w_in dt/tau_syn
    p = AffineLIFParams(a_syn=0.5, b_syn=0.5, a_mem=0.75, b_mem=0.5, c_mem=0.0, v_th=0.3)
    step = functools.partial(affine_lif_step, p, reset="zero", threshold=">")
    _, want = js.unroll(step, affine_lif_init(p, (2, 3)), jnp.swapaxes(xs * 1.5, 0, 1))
    np.testing.assert_array_equal(got, np.swapaxes(np.asarray(want), 0, 1))
    assert got.sum() > 0


def test_carry_and_recording_have_named_fields() -> None:
    g = _graph()
    model = import_nir(g, dt=1.0)
    names = [n for n in model.program.ops if n.kind == "CubaLIF"]
    node = names[0].name
    xs = np.random.default_rng(1).uniform(0, 1, (2, 12, 3)).astype(np.float32)
    carry, (out, traces) = model(xs, return_carry=True, record="neurons")
    assert isinstance(carry, GraphCarry)
    assert isinstance(carry.nodes[node], AffineLIFState)
    trace = traces[node]
    assert isinstance(trace, NodeTrace)
    assert isinstance(trace.state, AffineLIFState)
    assert trace.state.v.shape == trace.state.i.shape == trace.v_pre.shape == (2, 12, 3)
    np.testing.assert_array_equal(np.asarray(trace.output), np.asarray(out))
    # the last recorded state is the returned carry
    np.testing.assert_array_equal(np.asarray(trace.state.v[:, -1]), np.asarray(carry.nodes[node].v))
    # a continuation from the carry equals one long run
    full = np.asarray(model(np.concatenate([xs, xs], axis=1)))
    second = np.asarray(model(xs, initial_carry=carry))
    np.testing.assert_array_equal(second, full[:, 12:])
    # any node can be recorded, stateless ones too
    _, rec = model(xs, record="all")
    assert all(isinstance(t, NodeTrace) for t in rec.values())


def test_record_and_carry_errors() -> None:
    model = import_nir(_graph(), dt=1.0)
    xs = np.zeros((1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="record must be"):
        model(xs, record=("nope",))
    with pytest.raises(TypeError, match="initial_carry must be the GraphCarry"):
        model(xs, initial_carry=(1, 2))


def test_affine_lif_options_against_numpy() -> None:
    """Every option of the core step against a NumPy loop of its documented equation."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-0.2, 1.2, (30, 4)).astype(np.float32)
    x[3] = 1.0  # exact tie with v_th = 1 from rest (a_mem * 0 + 1)
    for threshold, reset, reset_at, emit, multi in [
        (">", "zero", "same_step", "now", False),
        (">=", "subtract", "same_step", "now", True),
        (">", "subtract", "next_step", "late", False),
        (">", "zero", "next_step", "now", False),
    ]:
        p = AffineLIFParams(a_mem=0.5, b_mem=1.0, v_th=1.0)
        st = affine_lif_init(p, (4,))
        v, prev, outs, want = np.zeros(4), np.zeros(4), [], []
        for t in range(30):
            st, s = affine_lif_step(
                p,
                st,
                jnp.asarray(x[t]),
                threshold=threshold,
                reset=reset,
                reset_at=reset_at,
                emit=emit,
                multi_spike=multi,
                v_min=-0.5,
            )
            outs.append(np.asarray(s))
            # the shared rule (jaxspike.neurons.reset): a pending zero reset acts before
            # the integration, a pending subtraction after it; the floor before the spike
            if reset_at == "next_step" and reset == "zero":
                v = np.where(prev > 0, 0.0, v)
            v = 0.5 * v + x[t]
            if reset_at == "next_step" and reset == "subtract":
                v = v - prev * 1.0
            v = np.maximum(v, -0.5)
            fired = (v > 1.0) if threshold == ">" else (v >= 1.0)
            n = np.where(fired, np.maximum(np.floor(v / 1.0), 1), 0) if multi else fired * 1.0
            if reset_at == "same_step":
                v = v - n * 1.0 if reset == "subtract" else np.where(n > 0, 0.0, v)
            v = np.maximum(v, -0.5)
            want.append(prev if emit == "late" else n)
            prev = n
        np.testing.assert_allclose(np.stack(outs), np.stack(want), atol=0)


def test_strict_threshold_keeps_the_threshold_gradient() -> None:
    import jax

    def out(v_th):
        p = AffineLIFParams(a_mem=0.5, b_mem=1.0, v_th=v_th)
        _, s = affine_lif_step(p, affine_lif_init(p, ()), jnp.asarray(0.9), threshold=">")
        return s

    g = jax.grad(out)(jnp.asarray(1.0))
    assert np.isfinite(float(g)) and float(g) < 0  # a higher threshold fires less
