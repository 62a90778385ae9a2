"""Smoke test of examples/stdp_digits.py (the full run is marked slow)."""

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stdp_digits.py"


def load_example():
    spec = importlib.util.spec_from_file_location("stdp_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_smoke_run(capsys):
    ex = load_example()
    (result,) = ex.main(["--smoke"])
    assert set(result["accuracy"]) == {"stdp", "init", "uniform"}
    assert all(0.0 <= a <= 1.0 for a in result["accuracy"].values())
    kernel = result["kernel"]
    assert kernel.shape == (ex.SMOKE.kernel, ex.SMOKE.kernel, 2, ex.SMOKE.maps)
    assert kernel.min() >= 0.0 and kernel.max() <= 1.0
    # STDP moved the weights away from the N(0.8, 0.05) start toward 0 and 1.
    assert result["convergence"] < 0.8 * 0.2
    assert "mean" in capsys.readouterr().out


@pytest.mark.slow
def test_learned_features_beat_random():
    ex = load_example()
    result = ex.run(ex.Config(), seed=0)
    acc = result["accuracy"]
    assert acc["stdp"] > max(acc["init"], acc["uniform"]) + 0.05
