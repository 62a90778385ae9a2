"""examples/shd.py trains on a synthetic data set written in the SHD layout (smoke mode)."""

import importlib.util
import pathlib

import numpy as np
import pytest

pytest.importorskip("h5py")

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load():
    spec = importlib.util.spec_from_file_location("example_shd", EXAMPLES / "shd.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_files_are_valid_shd(tmp_path):
    from jaxspike.data.readers import read_shd

    shd = load()
    train, test = shd.write_synthetic(str(tmp_path), 30, 10, seed=0)
    data = read_shd(train)
    assert data.sensor_size == (700,) and len(data.events) == 30
    assert set(np.unique(data.labels)) <= set(range(20))
    ev = data.events[0]
    assert (np.diff(ev["t"]) >= 0).all() and ev["x"].max() < 700
    assert len(read_shd(test).events) == 10


def test_shd_example_smoke_delay_model(capsys):
    result = load().main(["--synthetic", "--smoke"])
    out = capsys.readouterr()
    assert out.out.count("test accuracy ") >= 4  # one line per epoch
    assert "epoch 1/4:" in out.err and "8/8" in out.err  # the tqdm progress bar
    # 20 classes: chance is 5 %; the classes are learnable from spike timing
    assert result["accuracy"] > 0.15
    assert result["rounded_accuracy"] > 0.15
    assert len(result["history"]) == 4


@pytest.mark.slow
def test_shd_example_smoke_recurrent_model():
    result = load().main(["--synthetic", "--smoke", "--model", "recurrent"])
    assert result["accuracy"] > 0.15


def test_shd_example_needs_files_or_synthetic():
    shd = load()
    with pytest.raises(SystemExit):
        shd.main([])
    with pytest.raises(SystemExit):
        shd.main(["--train", "a.h5"])
