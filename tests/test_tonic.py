"""tonic's data sets and transforms feed jaxspike and give the same tensors.

Files are written locally in the real formats (no download): an SHD HDF5 file read by
tonic's own ``SHD`` data set class, and N-MNIST binaries read by tonic's
``read_mnist_file``. tonic is the reference for its own rules.
"""

import numpy as np
import pytest

from jaxspike.data import from_tonic, readers
from jaxspike.data.events import EVENT_DTYPE, to_dense

tonic = pytest.importorskip("tonic")
transforms = pytest.importorskip("tonic.transforms")


@pytest.fixture
def shd_dir(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "SHD"
    folder.mkdir()
    times = [np.sort(rng.uniform(0, 0.05, 300)).astype(np.float32) for _ in range(4)]
    units = [rng.integers(0, 700, 300) for _ in range(4)]
    readers.write_shd(folder / "shd_train.h5", times, units, [3, 1, 4, 1])
    (folder / "shd_train.h5.zip").write_bytes(b"")  # tonic looks for the archive too
    return tmp_path


def nmnist_events(seed, n=400):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["x"], ev["y"] = rng.integers(0, 34, n), rng.integers(0, 34, n)
    ev["t"] = np.sort(rng.integers(0, 300_000, n))
    ev["p"] = rng.integers(0, 2, n)
    return ev


def test_tonic_shd_dataset_reads_our_file_as_read_shd_with_truncation(shd_dir):
    data = tonic.datasets.SHD(str(shd_dir), train=True)
    ours = readers.read_shd(shd_dir / "SHD" / "shd_train.h5", time_rounding="truncate")
    rounded = readers.read_shd(shd_dir / "SHD" / "shd_train.h5")
    assert len(data) == 4
    differ = 0
    for i in range(4):
        ev, label = data[i]
        assert label == ours.labels[i]
        np.testing.assert_array_equal(ev["t"], ours.events[i]["t"])
        np.testing.assert_array_equal(ev["x"], ours.events[i]["x"])
        differ += int(np.sum(ev["t"] != rounded.events[i]["t"]))
        assert np.all(np.abs(ev["t"] - rounded.events[i]["t"]) <= 1)  # at most 1 us apart
    assert differ > 0  # rounding and truncation do differ on float32 times


@pytest.mark.parametrize("kw", [{"time_window": 1000}, {"n_time_bins": 20}], ids=str)
def test_to_frame_equals_tonic_to_frame_on_shd(shd_dir, kw):
    frame = transforms.ToFrame(sensor_size=tonic.datasets.SHD.sensor_size, **kw)
    data = tonic.datasets.SHD(str(shd_dir), train=True, transform=frame)
    ours = readers.read_shd(shd_dir / "SHD" / "shd_train.h5", time_rounding="truncate")
    for i in range(4):
        want, _ = data[i]
        got = from_tonic.to_frame(ours.events[i], sensor_size=(700,), **kw)
        np.testing.assert_array_equal(got, want[:, 0])


def test_nmnist_binary_and_transforms(tmp_path):
    sensor = tonic.datasets.NMNIST.sensor_size
    for seed in range(3):
        ev = nmnist_events(seed)
        path = tmp_path / f"{seed:05d}.bin"
        readers.write_nmnist_file(path, ev)
        theirs = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
        ours = readers.read_nmnist_file(path)
        for name in ("x", "y", "t", "p"):
            np.testing.assert_array_equal(theirs[name], ours[name])
        # ToFrame after Denoise: tonic's events feed jaxspike's binning unchanged
        clean = transforms.Denoise(filter_time=10_000)(theirs)
        want = transforms.ToFrame(sensor_size=sensor, time_window=20_000)(clean)
        np.testing.assert_array_equal(
            from_tonic.to_frame(clean, sensor_size=sensor, time_window=20_000), want
        )
        # Downsample by 1/2 then ToFrame == to_dense with spatial_factor=2
        small = transforms.Downsample(spatial_factor=0.5)(theirs)
        want = transforms.ToFrame(sensor_size=(17, 17, 2), n_time_bins=10)(small)
        got = from_tonic.to_frame(ours, sensor_size=sensor, n_time_bins=10)
        got_small = to_dense(
            ours,
            sensor_size=sensor,
            spatial_factor=2,
            time_window=(int(ours["t"][-1]) - int(ours["t"][0])) // 10,
            n_time_bins=10,
            t_start=int(ours["t"][0]),
        )
        np.testing.assert_array_equal(got_small, want)
        assert got.shape == (10, 2, 34, 34)


def test_pad_batch_is_pad_tensors():
    rng = np.random.default_rng(1)
    batch = [(rng.integers(0, 3, (t, 2, 5)).astype(np.float32), t) for t in (3, 7, 1)]
    x, y = from_tonic.pad_batch(batch)
    assert x.shape == (3, 7, 2, 5) and y.tolist() == [3, 7, 1]
    for b, (s, _) in enumerate(batch):
        np.testing.assert_array_equal(x[b, : len(s)], s)
        np.testing.assert_array_equal(x[b, len(s) :], 0)
    x_tm, _ = from_tonic.pad_batch(batch, batch_first=False)
    np.testing.assert_array_equal(x_tm, np.swapaxes(x, 0, 1))
    torch = pytest.importorskip("torch")
    want, _ = tonic.collation.PadTensors(batch_first=True)([(torch.tensor(s), t) for s, t in batch])
    np.testing.assert_array_equal(x, want.numpy())
