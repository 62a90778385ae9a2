"""Reliability, category *files*: readers and the NIR importer (issue 16, items 9, 10)."""

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
nir = pytest.importorskip("nir")

from jaxspike.data import readers  # noqa: E402
from jaxspike.nir import import_nir  # noqa: E402


@pytest.fixture
def shd_file(tmp_path):
    path = tmp_path / "tiny.h5"
    readers.write_shd(
        path, [[0.001, 0.002], [0.5], [0.1, 0.2, 0.3]], [[1, 2], [3], [4, 5, 6]], [0, 1, 2]
    )
    return path


def _damaged(tmp_path, source, kind):
    path = tmp_path / f"{kind}.h5"
    raw = source.read_bytes()
    content = {
        "empty": b"",
        "garbage": b"not an hdf5 file " * 64,
        "truncated": raw[: len(raw) // 3],
    }
    path.write_bytes(content[kind])
    return path


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated"])
def test_read_shd_damaged_file(tmp_path, shd_file, kind):
    path = _damaged(tmp_path, shd_file, kind)
    with pytest.raises(ValueError, match=rf"read_shd: .*{kind}.h5 .*expected .*SHD"):
        readers.read_shd(path)


def test_read_shd_wrong_layout(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.ones(3)
    with pytest.raises(
        ValueError,
        match=r"read_shd: .*other.h5 has no dataset 'spikes/times'; "
        r"expected the SHD layout",
    ):
        readers.read_shd(path)


def test_read_shd_directory(tmp_path):
    with pytest.raises(
        IsADirectoryError,
        match=r"read_shd: .* is a directory; expected an "
        r"SHD/SSC HDF5 file",
    ):
        readers.read_shd(tmp_path)


def test_read_shd_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_shd: no such file: .*nope.h5"):
        readers.read_shd(tmp_path / "nope.h5")


@pytest.mark.parametrize("bad", [-1, -5, 1.5, True])
def test_read_shd_bad_max_samples(shd_file, bad):
    # issue: max_samples=-1 returned 0 event streams and n - 1 labels
    with pytest.raises(ValueError, match=r"read_shd: max_samples must be None or an int >= 0"):
        readers.read_shd(shd_file, max_samples=bad)


@pytest.mark.parametrize("k", [0, 2, 10])
def test_read_shd_max_samples_consistent(shd_file, k):
    data = readers.read_shd(shd_file, max_samples=k)
    assert len(data.events) == len(data.labels) == min(k, 3)


def test_read_shd_channels_above_int16_do_not_wrap(tmp_path):
    path = tmp_path / "wide.h5"
    readers.write_shd(path, [[0.001, 0.002]], [[40000, 65535]], [0])
    data = readers.read_shd(path, n_channels=65536)
    assert data.events[0]["x"].tolist() == [40000, 65535]


def test_read_shd_events_and_labels_disagree(tmp_path):
    path = tmp_path / "mismatch.h5"
    readers.write_shd(path, [[0.1], [0.2]], [[1], [2]], [0, 1])
    with h5py.File(path, "a") as f:
        del f["labels"]
        f["labels"] = np.zeros(3, np.uint16)
    with pytest.raises(
        ValueError,
        match=r"read_shd: .*mismatch.h5 is inconsistent: 2 spike-time "
        r"arrays, 2 unit arrays and 3 labels",
    ):
        readers.read_shd(path)


def test_read_nmnist_directory_and_missing(tmp_path):
    with pytest.raises(
        IsADirectoryError,
        match=r"read_nmnist_file: .* is a directory; expected an "
        r"N-MNIST .bin file",
    ):
        readers.read_nmnist_file(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"read_nmnist_file: no such file: .*x.bin"):
        readers.read_nmnist_file(tmp_path / "x.bin")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"is empty"),
        (b"\x01" * 7, r"has 7 bytes, not a multiple of 5"),
        (b"\xff" * 10, r"has events outside the 34x34 sensor"),
    ],
    ids=["empty", "truncated", "garbage"],
)
def test_read_nmnist_damaged(tmp_path, content, message):
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"read_nmnist_file: .*bad.bin " + message):
        readers.read_nmnist_file(path)


@pytest.fixture
def nir_file(tmp_path):
    graph = nir.NIRGraph.from_list(
        nir.Affine(np.ones((2, 3)), np.zeros(2)),
        nir.LIF(
            tau=np.full(2, 0.02),
            r=np.ones(2),
            v_leak=np.zeros(2),
            v_threshold=np.ones(2),
            v_reset=np.zeros(2),
        ),
    )
    path = tmp_path / "net.nir"
    nir.write(path, graph)
    return path


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated"])
def test_import_nir_damaged_file(tmp_path, nir_file, kind):
    path = _damaged(tmp_path, nir_file, kind)
    with pytest.raises(
        ValueError,
        match=rf"import_nir: could not read .*{kind}.h5.* as a NIR "
        r"HDF5 file",
    ):
        import_nir(path, dt=1e-4)


def test_import_nir_not_a_nir_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.ones(3)
    with pytest.raises(
        ValueError,
        match=r"import_nir: could not read .*other.h5.* as a NIR HDF5 "
        r"file .*not NIR",
    ):
        import_nir(path, dt=1e-4)


def test_import_nir_directory_and_missing(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"import_nir: .* is a directory; expected a NIR"):
        import_nir(tmp_path, dt=1e-4)
    with pytest.raises(FileNotFoundError, match=r"import_nir: no such file: .*nope.nir"):
        import_nir(tmp_path / "nope.nir", dt=1e-4)


@pytest.mark.parametrize("dt", [np.inf, -np.inf, np.nan, 0.0])
def test_import_nir_bad_dt(nir_file, dt):
    with pytest.raises(ValueError, match=r"import_nir: dt must be > 0 and finite"):
        import_nir(nir_file, dt=dt)


def test_import_nir_good_file_still_loads(nir_file):
    from flax import nnx

    assert isinstance(import_nir(nir_file, dt=1e-4), nnx.Module)
