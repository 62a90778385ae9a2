"""The peer-library NIR fixtures load, and the NumPy update rules reproduce them.

The fixtures in ``tests/fixtures/peers`` were written by snnTorch, Norse, sinabs and Spyx
themselves (``python interop/generate.py``); the rules in ``interop/check_equations.py``
replay each recorded layer from its recorded input. No torch is needed here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import numpy as np
import pytest

nir = pytest.importorskip("nir")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "peers")
LIBS = ("snntorch", "norse", "sinabs", "spyx")


def _load_checker():
    path = os.path.join(ROOT, "interop", "check_equations.py")
    spec = importlib.util.spec_from_file_location("jaxspike_interop_check_equations", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up while it executes
    spec.loader.exec_module(mod)
    return mod


CE = _load_checker()
CHECKS = CE.all_checks()


def _nir_files():
    out = []
    for d, _, files in sorted(os.walk(FIXTURES)):
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".nir")]
    return out


@pytest.mark.parametrize("path", _nir_files(), ids=lambda p: os.path.relpath(p, FIXTURES))
def test_nir_file_reads(path):
    graph = nir.read(path)
    assert isinstance(graph, nir.NIRGraph)
    assert any(isinstance(n, nir.Input) for n in graph.nodes.values())


@pytest.mark.parametrize("lib", LIBS)
def test_manifest_lists_every_case(lib):
    with open(os.path.join(FIXTURES, lib, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["versions"][lib]
    for case, info in manifest["cases"].items():
        assert os.path.exists(os.path.join(FIXTURES, lib, case + ".npz")), case
        if info["export"] == "ok" or "export_patch" in info:
            assert os.path.exists(os.path.join(FIXTURES, lib, case + ".nir")), case
        with np.load(os.path.join(FIXTURES, lib, case + ".npz")) as d:
            assert d["input"].dtype == np.float32 and d["input"].shape[0] >= 30


@pytest.mark.parametrize("chk", CHECKS, ids=[f"{c.lib}-{c.case}-{c.layer}" for c in CHECKS])
def test_update_rule_reproduces_recording(chk):
    res = CE.compare(CE.load(chk.lib, chk.case), chk)
    assert res["spikes_equal"], f"{chk.claim}: spikes differ"
    assert res["max_abs_diff"] <= CE.TOL * res["scale"], f"{chk.claim}: {res}"


def test_every_library_has_ties_and_resets():
    """The fixtures exercise the claims of the README: ties, repeated spikes, v < 0."""
    for lib, case, layer in (
        ("snntorch", "tie_leaky_subtract", "sim.l1"),
        ("norse", "tie_iaf", "sim.l1"),
        ("sinabs", "tie_iaf", "sim.l1"),
        ("spyx", "tie_lif", "sim.l1"),
    ):
        d = CE.load(lib, case)
        assert d[layer + ".spk"].sum() >= 10, (lib, case)
    d = CE.load("snntorch", "leaky_subtract_nodelay")
    assert d["sim.l1.mem"].min() < 0 and d["sim.l1.spk"].sum(axis=0).max() >= 5


def test_fixture_folder_is_small():
    total = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(FIXTURES) for f in files
    )
    assert total < 3 * 1024 * 1024


def _from_jaxspike_reads():
    out = []
    src = os.path.join(FIXTURES, "from_jaxspike")
    for lib in LIBS:
        with open(os.path.join(src, f"read.{lib}.json")) as f:
            out += [(lib, case, info) for case, info in sorted(json.load(f).items())]
    return out


@pytest.mark.parametrize(
    "lib,case,info", _from_jaxspike_reads(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_from_jaxspike_status_matches_stored_outputs(lib, case, info):
    """``read.<lib>.json`` says what the stored peer outputs show (direction b)."""
    src = os.path.join(FIXTURES, "from_jaxspike")
    with np.load(os.path.join(src, case + ".npz")) as d:
        ref = d["jaxspike.out"]
    assert nir.read(os.path.join(src, case + ".nir"))
    if info["import"] != "ok":
        assert not os.path.exists(os.path.join(src, f"{case}.{lib}.npz"))
        return
    with np.load(os.path.join(src, f"{case}.{lib}.npz")) as d:
        out = d["imp.out"].reshape(ref.shape)
    assert bool(np.array_equal(out, ref)) == info["spikes_equal"]
    assert int((out != ref).sum()) == info["n_differing"]


@pytest.mark.parametrize(
    "lib,case,mem",
    [
        ("snntorch", "tie_leaky_subtract", "mem"),
        ("snntorch", "tie_leaky_zero", "mem"),
        ("norse", "tie_iaf", "v"),
        ("sinabs", "tie_iaf", "v_mem"),
        ("spyx", "tie_lif", "mem"),
    ],
)
def test_threshold_tie(lib, case, mem):
    """Neuron 0 gets exactly 1.0 = threshold at t = 0: only sinabs fires (``>=``)."""
    d = CE.load(lib, case)
    spk = d["sim.l1.spk"]
    if lib == "sinabs":  # the recorded v_mem is after the reset: 1.0 - 1 * 1.0
        assert d["sim.l1.in"][0, 0, 0] == 1.0
        assert d[f"sim.l1.{mem}"][0, 0, 0] == 0.0 and spk[0, 0, 0] == 1.0
        return
    assert d[f"sim.l1.{mem}"][0, 0, 0] == 1.0  # landed exactly on the threshold
    step = 1 if lib == "spyx" else 0  # Spyx decides the spike on the carried membrane
    assert spk[step, 0, 0] == 0.0


def test_snntorch_files_do_not_say_the_reset_mode():
    """Every snnTorch file writes v_reset = 0 and no metadata, whatever the reset mode."""
    for case in (
        "leaky_subtract_delay",
        "leaky_subtract_nodelay",
        "leaky_zero_delay",
        "leaky_zero_nodelay",
    ):
        g = nir.read(os.path.join(FIXTURES, "snntorch", case + ".nir"))
        lifs = [n for n in g.nodes.values() if isinstance(n, nir.LIF)]
        assert len(lifs) == 2
        for n in lifs:
            assert np.all(n.v_reset == 0) and not n.metadata
