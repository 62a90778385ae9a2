"""Presets against files and traces written by snnTorch, Norse, sinabs and Spyx themselves.

The fixtures in ``tests/fixtures/peers/<lib>/<case>.{nir,npz}`` were produced by the peer
libraries (generator: ``interop/``): each ``.npz`` holds the input, every layer's spikes
and membranes from the library's own simulation (``sim.<layer>.*``) and from the library's
own NIR importer (``imp.<node>.*``). Each row of :data:`CASES` imports the ``.nir`` with
one preset and compares every neuron node with one of the two: spikes bit-exact,
membranes within ``1e-5`` (relative to the trace's scale, at least 1).

``python tests/test_nir_peers.py`` prints the interoperability table of
``docs/guides/nir.md`` from the same measurements.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nir")

import jax.numpy as jnp

from jaxspike.nir import CONVENTIONS, import_nir_fn

FIXTURES = Path(__file__).parent / "fixtures" / "peers"
TOL = 1e-5


@dataclasses.dataclass(frozen=True)
class Case:
    """One preset on one peer file, compared with the simulation or the importer."""

    lib: str
    case: str
    convention: str
    reads: str  # "sim" (the library's simulation) or "imp" (its importer's reading)
    nodes: tuple[tuple[str, str], ...]  # (jaxspike node name, fixture layer)
    neuron: str  # row label of the docs table
    membrane: str = "post"  # the recorded membrane is "post" or "pre" reset
    dt: float = 1.0
    patch: tuple[tuple[str, str], ...] = ()  # (param field, fixture param) the file lost
    options: tuple[tuple[str, object], ...] = ()
    note: str = ""
    tol: float = TOL

    @property
    def id(self) -> str:
        return f"{self.lib}-{self.case}-{self.convention}-{self.reads}"


def _snn(case: str, conv: str, neuron: str, membrane: str, nodes=(("1", "l1"), ("3", "l3"))):
    return Case("snntorch", case, conv, "sim", nodes, neuron, membrane, dt=1e-4)


def _snn_imp(case: str, neuron: str):
    nodes = (("1", "n1"), ("3", "n3"))
    return Case("snntorch", case, "nir", "imp", nodes, neuron, "post", dt=1e-4)


_FF = (("1", "l1"), ("3", "l3"))
_REC = (("1.lif", "l1"), ("3", "l3"))
_FF_IMP = (("1", "n1"), ("3", "n3"))
_SPYX = (("layer_1", "l1"), ("layer_3", "l3"))
_SPYX_IMP = (("layer_1", "n1"), ("layer_3", "n3"))
_NORSE_LOST = "Norse 1.1's exporter writes v_reset = 0 (the model's v_reset is lost)"

CASES: tuple[Case, ...] = (
    # snnTorch: the simulation, per reset mode (the file cannot tell: explicit presets)
    _snn("leaky_subtract_delay", "snntorch", "Leaky (LIF)", "pre"),
    _snn("leaky_zero_delay", "snntorch-zero", "Leaky (LIF)", "pre"),
    _snn("leaky_zero_nodelay", "snntorch-zero-nodelay", "Leaky (LIF)", "post"),
    _snn("synaptic_subtract_delay", "snntorch", "Synaptic (CubaLIF)", "pre"),
    _snn("synaptic_zero_nodelay", "snntorch-zero-nodelay", "Synaptic (CubaLIF)", "post"),
    _snn("tie_leaky_zero", "snntorch-zero-nodelay", "Leaky (LIF), v == thr", "post", (_FF[0],)),
    _snn("rleaky_subtract_delay", "snntorch", "RLeaky (LIF + recurrent Affine)", "pre", _REC),
    _snn("rleaky_zero_nodelay", "snntorch-zero-nodelay", "RLeaky (LIF + recurrent)", "post", _REC),
    _snn("rsynaptic_subtract_delay", "snntorch", "RSynaptic (CubaLIF + recurrent)", "pre", _REC),
    # snnTorch's importer: reset to zero in the same step, NIR's rule
    _snn_imp("leaky_subtract_delay", "Leaky (LIF)"),
    _snn_imp("leaky_zero_nodelay", "Leaky (LIF)"),
    _snn_imp("synaptic_subtract_delay", "Synaptic (CubaLIF)"),
    _snn_imp("synaptic_zero_nodelay", "Synaptic (CubaLIF)"),
    # Norse: the simulation (time constants written times dt; v_reset lost by the exporter)
    Case(
        "norse",
        "lif_ff",
        "norse",
        "sim",
        _FF,
        "LIFCell (CubaLIF)",
        dt=1e-3,
        patch=(("v_reset", "v_reset"),),
        note=_NORSE_LOST,
    ),
    Case(
        "norse",
        "lifbox_ff",
        "norse",
        "sim",
        _FF,
        "LIFBoxCell (LIF)",
        dt=1e-3,
        patch=(("v_reset", "v_reset"),),
        note=_NORSE_LOST,
    ),
    Case(
        "norse",
        "iaf_ff",
        "norse",
        "sim",
        _FF,
        "IAFCell (IF)",
        dt=1e-3,
        patch=(("v_reset", "v_reset"), ("v_init", "v_reset")),
        note=_NORSE_LOST + "; IAFCell starts at v_reset",
    ),
    Case("norse", "iaf_ff", "norse", "imp", _FF_IMP, "IAFCell (IF)", dt=1e-3),
    Case("norse", "tie_iaf", "norse", "imp", (_FF_IMP[0],), "IAFCell (IF), v == thr", dt=1e-3),
    # sinabs: its importer's reading (IAF floored at -v_th; LIF without normalisation)
    Case("sinabs", "iaf_ff", "sinabs", "imp", _FF_IMP, "IAF (IF)"),
    Case("sinabs", "iaf_ff_single_spike", "sinabs", "imp", _FF_IMP, "IAF (IF), single spike"),
    Case("sinabs", "iaf_ff_reset_zero", "sinabs", "imp", _FF_IMP, "IAF (IF), reset zero"),
    Case("sinabs", "iaf_ff_floor", "sinabs", "imp", _FF_IMP, "IAF (IF), min_v_mem"),
    Case("sinabs", "tie_iaf", "sinabs", "imp", (_FF_IMP[0],), "IAF (IF), v == thr"),
    Case(
        "sinabs",
        "conv_iaf",
        "sinabs",
        "imp",
        (("1", "n1"), ("5", "n5")),
        "conv net IAF",
        tol=2e-5,
        note="membranes to 2e-5: float32 conv/pool/affine sums in XLA's order, not torch's",
    ),
    Case("sinabs", "lif_ff", "sinabs", "imp", _FF_IMP, "LIF"),
    Case("sinabs", "lif_syn_ff", "sinabs", "imp", _FF_IMP, "LIF with tau_syn"),
    # sinabs' simulation of the default IAF (no floor): the preset without the floor
    Case(
        "sinabs",
        "iaf_ff",
        "sinabs",
        "sim",
        _FF,
        "IAF (IF)",
        options=(("floor", "none"),),
        note="preset with floor='none'",
    ),
    # Spyx: simulation and importer agree
    Case("spyx", "lif_ff", "spyx", "sim", _SPYX, "LIF"),
    Case("spyx", "cubalif_ff", "spyx", "sim", _SPYX, "CuBaLIF", membrane="pre"),
    Case("spyx", "if_ff", "spyx", "sim", _SPYX, "IF"),
    Case("spyx", "tie_lif", "spyx", "sim", (_SPYX[0],), "LIF, v == thr"),
    Case("spyx", "lif_ff", "spyx", "imp", _SPYX_IMP, "LIF"),
    Case("spyx", "cubalif_ff", "spyx", "imp", _SPYX_IMP, "CuBaLIF", membrane="pre"),
)

_MEMBRANE_KEYS = ("mem", "v", "v_mem", "out")


def _convention(case: Case):
    conv = CONVENTIONS[case.convention]
    if case.options:
        opts = dict(case.options)
        conv = conv.replace(default=dataclasses.replace(conv.default, **opts))
        conv = conv.replace(rules={k: dataclasses.replace(r, **opts) for k, r in conv.rules})
    return conv


def measure(case: Case, convention=None) -> dict[str, float]:
    """Spike mismatches and the largest relative membrane difference over the case's nodes."""
    with np.load(FIXTURES / case.lib / f"{case.case}.npz") as f:
        d = {k: f[k] for k in f.files}
    fn, params = import_nir_fn(
        str(FIXTURES / case.lib / f"{case.case}.nir"),
        dt=case.dt,
        convention=convention or _convention(case),
        time_major=True,
    )
    for node, layer in case.nodes:
        for field, key in case.patch:
            value = jnp.asarray(d[f"param.{layer}.{key}"], jnp.float32)
            params[node][field] = jnp.broadcast_to(value, params[node][field].shape)
    _, rec = fn(params, d["input"], record="neurons")
    bad = spikes = 0
    dv = 0.0
    for node, layer in case.nodes:
        key = f"{case.reads}.{layer}"
        trace = rec[node]
        if f"{key}.spk" in d:
            got = np.asarray(trace.output)
            bad += int(np.sum(got != d[f"{key}.spk"]))
            spikes += int(d[f"{key}.spk"].sum())
        mem = next(d[f"{key}.{k}"] for k in _MEMBRANE_KEYS if f"{key}.{k}" in d)
        ours = np.asarray(trace.v_pre if case.membrane == "pre" else trace.state.v)
        scale = max(1.0, float(np.abs(mem).max()))
        dv = max(dv, float(np.abs(ours - mem).max()) / scale)
    return {"bad_spikes": bad, "spikes": spikes, "max_dv": dv}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_preset_reproduces_peer(case: Case) -> None:
    got = measure(case)
    assert got["bad_spikes"] == 0, got
    assert got["max_dv"] <= case.tol, got


def _case(lib: str, name: str, reads: str = "sim") -> Case:
    return next(c for c in CASES if (c.lib, c.case, c.reads) == (lib, name, reads))


def test_spyx_cubalif_resets_before_the_decay() -> None:
    # the LIF rule (reset after the next integration) applied to CuBaLIF, as before
    spyx = CONVENTIONS["spyx"]
    old = spyx.replace(rules={"CubaLIF": spyx.default})
    assert measure(_case("spyx", "cubalif_ff"), old)["bad_spikes"] > 0
    assert measure(_case("spyx", "cubalif_ff"))["bad_spikes"] == 0


def test_norse_current_enters_the_membrane_in_the_same_step() -> None:
    # Norse's LIFCell: j = i + x, then v integrates j. The old preset's order (the
    # membrane integrates the previous step's current) replayed in NumPy on the recorded
    # layer input does not give Norse's spikes; the preset does (test above).
    with np.load(FIXTURES / "norse" / "lif_ff.npz") as d:
        x, spk = d["sim.l1.in"], d["sim.l1.spk"]
        tmi, tsi = d["param.l1.tau_mem_inv"], d["param.l1.tau_syn_inv"]
        v_leak, v_th, v_reset = d["param.l1.v_leak"], d["param.l1.v_th"], d["param.l1.v_reset"]
    v = np.broadcast_to(v_leak, x.shape[1:]).copy()
    i, old = np.zeros_like(v), []
    for t in range(x.shape[0]):
        v = v + 1e-3 * tmi * ((v_leak - v) + i)  # previous step's current
        i = (i + x[t]) * (1 - 1e-3 * tsi)
        s = (v > v_th).astype(np.float32)
        v = np.where(s > 0, v_reset, v)
        old.append(s)
    assert not np.array_equal(np.stack(old), spk)
    assert measure(_case("norse", "lif_ff"))["bad_spikes"] == 0


def test_sinabs_iaf_floor_at_minus_threshold() -> None:
    sinabs = CONVENTIONS["sinabs"]
    no_floor = sinabs.replace(default=dataclasses.replace(sinabs.default, floor="none"))
    assert measure(_case("sinabs", "conv_iaf", "imp"), no_floor)["bad_spikes"] > 0
    assert measure(_case("sinabs", "conv_iaf", "imp"))["bad_spikes"] == 0


def test_recurrent_bias_at_t0_and_the_other_reading() -> None:
    case = _case("snntorch", "rleaky_subtract_delay")
    assert measure(case)["bad_spikes"] == 0
    zero = CONVENTIONS["snntorch"].replace(recurrent_init="zero")
    got = measure(case, zero)
    assert got["bad_spikes"] > 0 or got["max_dv"] > TOL


def test_snntorch_reset_mode_is_an_explicit_choice() -> None:
    # the same file, read with snnTorch's default (subtract, delayed) and with "zero"
    case = _case("snntorch", "leaky_zero_delay")
    assert measure(case, CONVENTIONS["snntorch"])["bad_spikes"] > 0
    assert measure(case)["bad_spikes"] == 0


def test_legacy_reset_applies_to_graph_objects() -> None:
    # sinabs 3.1.3 writes with nir 1.0.4: no v_reset, a subtractive reset was meant
    import nir

    path = str(FIXTURES / "sinabs" / "iaf_ff.nir")
    from_path = import_nir_fn(path, dt=1.0, legacy_reset="subtract")[0].options
    from_graph = import_nir_fn(nir.read(path), dt=1.0, legacy_reset="subtract")[0].options
    assert {n: o["reset"] for n, o in from_graph.items()} == {"1": "subtract", "3": "subtract"}
    assert from_graph == from_path
    assert import_nir_fn(nir.read(path), dt=1.0)[0].options["1"]["reset"] == "zero"


def test_norse_time_constants_error_names_the_exporter_bug() -> None:
    with pytest.raises(ValueError, match=r"Norse 1\.1's exporter") as err:
        import_nir_fn(str(FIXTURES / "norse" / "lifbox_ff.nir"), dt=1e-3)
    assert "would run but not fix" in str(err.value)


# --------------------------------------------------------------------- docs table
# snnTorch behaviours no option of the core rule expresses: (case, preset, neuron, why)
UNREPRODUCED = (
    (
        "leaky_subtract_nodelay",
        "snntorch-nodelay",
        "Leaky (LIF), reset_delay=False, subtract",
        "snnTorch tests the spike on the membrane minus the previous step's reset when the "
        "post-reset membrane stayed above threshold",
    ),
    (
        "synaptic_subtract_nodelay",
        "snntorch-nodelay",
        "Synaptic (CubaLIF), reset_delay=False, subtract",
        "as above",
    ),
    (
        "synaptic_zero_delay",
        "snntorch-zero",
        "Synaptic (CubaLIF), reset_delay=True, zero",
        "snnTorch's delayed zero reset of Synaptic also drops that step's input (Leaky's "
        "keeps it; the core's next_step zero follows Leaky)",
    ),
)


def table() -> str:
    """The interoperability table (markdown), every cell measured on the fixtures."""
    rows = [
        "| library | neuron (NIR type) | reproduces | preset | result |",
        "|---|---|---|---|---|",
    ]
    for case in CASES:
        got = measure(case)
        ok = got["bad_spikes"] == 0 and got["max_dv"] <= case.tol
        what = "simulation" if case.reads == "sim" else "its importer"
        result = (
            f"exact ({got['spikes']} spikes equal, max rel. dv {got['max_dv']:.1e})"
            if ok
            else f"differs ({got['bad_spikes']} of {got['spikes']} spikes)"
        )
        if case.note:
            result += f"; {case.note}"
        rows.append(
            f"| {case.lib} | {case.neuron} | {what} (`{case.case}`) | "
            f"`{case.convention}` | {result} |"
        )
    for name, preset, neuron, why in UNREPRODUCED:
        case = Case("snntorch", name, preset, "sim", _FF, neuron, dt=1e-4)
        got = measure(case)
        rows.append(
            f"| snntorch | {neuron} | simulation (`{name}`) | `{preset}` | not "
            f"reproduced: {why}; {got['bad_spikes']} of {got['spikes']} spikes differ |"
        )
    return "\n".join(rows)


# ------------------------------------------------------- direction (b): jaxspike -> peers
FROM_JAXSPIKE = FIXTURES / "from_jaxspike"
PEERS = ("snntorch", "norse", "sinabs", "spyx")


def _export_cases() -> list[str]:
    import json

    if not (FROM_JAXSPIKE / "manifest.json").exists():
        return []
    return sorted(json.loads((FROM_JAXSPIKE / "manifest.json").read_text())["cases"])


def _jaxspike_reading(case: str) -> tuple[np.ndarray, np.ndarray]:
    """jaxspike's own import of its file, and the exporting model's output."""
    with np.load(FROM_JAXSPIKE / f"{case}.npz") as d:
        x, want, dt = d["input"], d["jaxspike.out"], float(d["dt"])
    fn, params = import_nir_fn(
        str(FROM_JAXSPIKE / f"{case}.nir"), dt=dt, convention="jaxspike", time_major=True
    )
    return np.asarray(fn(params, x)), want


@pytest.mark.parametrize("case", _export_cases())
def test_jaxspike_reads_its_exported_files_exactly(case: str) -> None:
    got, want = _jaxspike_reading(case)
    np.testing.assert_array_equal(got, want)


def export_cell(case: str, lib: str) -> str:
    """One cell of the export table: the peer importer's output vs the jaxspike model's."""
    import json

    read = json.loads((FROM_JAXSPIKE / f"read.{lib}.json").read_text()).get(case, {})
    path = FROM_JAXSPIKE / f"{case}.{lib}.npz"
    if read.get("import", "ok") != "ok" or not path.exists():
        why = read.get("import", "not run").split(" (")[0]
        return f"fails: {why}"
    with np.load(path) as d, np.load(FROM_JAXSPIKE / f"{case}.npz") as j:
        peer, ours = d["imp.out"], j["jaxspike.out"]
    if peer.shape != ours.shape:
        return f"differs: output shape {peer.shape} vs {ours.shape}"
    bad = int(np.sum(peer != ours))
    return f"exact ({int(ours.sum())} spikes)" if bad == 0 else f"differs ({bad} of {peer.size})"


def export_table() -> str:
    """Files written by ``export_nir``, read by jaxspike and by each peer's importer."""
    rows = [
        '| exported model | jaxspike (`convention="jaxspike"`) | ' + " | ".join(PEERS) + " |",
        "|---|---|" + "---|" * len(PEERS),
    ]
    for case in _export_cases():
        got, want = _jaxspike_reading(case)
        bad = int(np.sum(got != want))
        own = f"exact ({int(want.sum())} spikes)" if bad == 0 else f"differs ({bad})"
        cells = [export_cell(case, lib) for lib in PEERS]
        rows.append(f"| `{case}` | {own} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def test_worked_example_snntorch_recurrent_fine_tune_and_export_back(tmp_path) -> None:
    """docs/guides/nir.md: import a snnTorch RLeaky, fine-tune it, export it back."""
    import nir
    import optax
    from flax import nnx

    from jaxspike.nir import export_nir, import_nir

    case = _case("snntorch", "rleaky_zero_nodelay")
    path = str(FIXTURES / "snntorch" / "rleaky_zero_nodelay.nir")
    model = import_nir(path, dt=1e-4, convention="snntorch-zero-nodelay", time_major=True)
    with np.load(FIXTURES / "snntorch" / "rleaky_zero_nodelay.npz") as d:
        x, spikes = jnp.asarray(d["input"]), d["sim.l3.spk"]
    np.testing.assert_array_equal(np.asarray(model(x)), spikes)  # snnTorch's own run
    assert measure(case)["bad_spikes"] == 0

    target = jnp.asarray(spikes.mean(axis=0) * 0.5)  # halve every output rate

    def loss(m):
        return jnp.mean((m(x).mean(axis=0) - target) ** 2)

    # train the synapses; the neuron coefficients (a_mem, ...) stay as snnTorch had them
    synapses = nnx.All(nnx.Param, nnx.Any(nnx.PathContains("weight"), nnx.PathContains("bias")))
    opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=synapses)
    first = float(loss(model))
    for _ in range(20):
        _, grads = nnx.value_and_grad(loss, argnums=nnx.DiffState(0, synapses))(model)
        opt.update(model, grads)
    assert float(loss(model)) < first

    out = tmp_path / "tuned.nir"
    nir.write(out, export_nir(model, dt=1e-4))
    again = import_nir(str(out), dt=1e-4, convention="snntorch-zero-nodelay", time_major=True)
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))
    # the presets that run snnTorch's delayed reset cannot be written as NIR
    delayed = import_nir(path, dt=1e-4, convention="snntorch")
    with pytest.raises(ValueError, match="NIR cannot express"):
        export_nir(delayed, dt=1e-4)


def write_tables(guide: Path) -> None:
    """Replace the text between the table markers of ``guide`` with fresh measurements."""
    text = guide.read_text()
    for name, body in (("import", table()), ("export", export_table())):
        start, end = f"<!-- {name}-table:start -->", f"<!-- {name}-table:end -->"
        head, rest = text.split(start)
        tail = rest.split(end)[1]
        text = f"{head}{start}\n{body}\n{end}{tail}"
    guide.write_text(text)


if __name__ == "__main__":
    # python tests/test_nir_peers.py [--write docs/guides/nir.md]
    sys.path.insert(0, os.getcwd())
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_tables(Path(sys.argv[2]))
    else:
        print(table())
        print()
        print(export_table())
