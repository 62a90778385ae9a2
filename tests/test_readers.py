"""Readers: files written here in the real SHD and N-MNIST formats are read back exactly."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspike.data.events import make_events, to_dense_batch
from jaxspike.data.readers import (
    NMNIST_SENSOR_SIZE,
    SpikeDataset,
    read_nmnist,
    read_nmnist_file,
    read_shd,
    write_shd,
)

h5py = pytest.importorskip("h5py")


def write_raw_shd(path, times, units, labels, *, time_dtype=np.float32):
    """The SHD layout (Cramer et al. 2022) written with h5py directly, unchecked (for
    corrupt files that the public write_shd refuses to write)."""
    with h5py.File(path, "w") as f:
        spikes = f.create_group("spikes")
        t = spikes.create_dataset(
            "times", (len(times),), dtype=h5py.vlen_dtype(np.dtype(time_dtype))
        )
        u = spikes.create_dataset("units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (ts, us) in enumerate(zip(times, units, strict=True)):
            t[i] = np.asarray(ts, time_dtype)
            u[i] = np.asarray(us, np.uint16)
        f.create_dataset("labels", data=np.asarray(labels, np.uint8))
        extra = f.create_group("extra")
        extra.create_dataset("speaker", data=np.zeros(len(labels), np.uint8))


def shd_samples(rng, n):
    times_us, units = [], []
    for i in range(n):
        k = 0 if i == 1 else int(rng.integers(1, 60))
        times_us.append(np.sort(rng.integers(0, 1_400_000, k)))
        units.append(rng.integers(0, 700, k))
    return times_us, units, rng.integers(0, 20, n)


def test_shd_roundtrip_exact(tmp_path):
    rng = np.random.default_rng(0)
    times_us, units, labels = shd_samples(rng, 6)
    path = tmp_path / "shd_train.h5"
    write_shd(path, [t * 1e-6 for t in times_us], units, labels)
    data = read_shd(path)
    assert data.sensor_size == (700,)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.labels.dtype == np.int32
    assert len(data.events) == 6 and len(data.events[1]) == 0
    for ev, t, u in zip(data.events, times_us, units, strict=True):
        # float32 seconds below 1.4 s resolve microseconds, so the integers come back exactly
        np.testing.assert_array_equal(ev["t"], t)
        np.testing.assert_array_equal(ev["x"], u)
        assert (ev["p"] == 0).all()
    assert len(read_shd(path, max_samples=2).events) == 2


def test_shd_float16_times_rounded(tmp_path):
    times = [np.array([0.0123, 0.5, 1.0])]
    path = tmp_path / "half.h5"
    write_shd(path, times, [[1, 2, 3]], [4], time_dtype=np.float16)
    stored = np.asarray(times[0], np.float16).astype(np.float64)
    ev = read_shd(path).events[0]
    np.testing.assert_array_equal(ev["t"], np.round(stored * 1e6).astype(np.int64))


def test_shd_nonfinite_times(tmp_path):
    path = tmp_path / "nan.h5"
    write_shd(path, [[0.1, np.nan, 0.3, np.inf]], [[1, 2, 3, 4]], [0])
    ev = read_shd(path).events[0]
    np.testing.assert_array_equal(ev["t"], [100_000, 300_000])
    np.testing.assert_array_equal(ev["x"], [1, 3])
    with pytest.raises(ValueError, match=r"nan\.h5, sample 0 has 2 NaN/inf"):
        read_shd(path, nonfinite="raise")


def test_shd_corrupt_files_name_the_path(tmp_path):
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"this is not an HDF5 file" * 10)
    with pytest.raises(ValueError, match=r"read_shd: .*garbage\.h5 is not a readable HDF5"):
        read_shd(garbage)

    rng = np.random.default_rng(1)
    times_us, units, labels = shd_samples(rng, 20)
    good = tmp_path / "good.h5"
    write_shd(good, [t * 1e-6 for t in times_us], units, labels)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated\.h5"):
        read_shd(truncated)

    missing = tmp_path / "missing.h5"
    with h5py.File(missing, "w") as f:
        f.create_dataset("labels", data=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match=r"missing\.h5 has no dataset 'spikes/times'"):
        read_shd(missing)

    mismatch = tmp_path / "mismatch.h5"
    write_raw_shd(mismatch, [[0.1, 0.2]], [[1]], [0])
    with pytest.raises(ValueError, match=r"mismatch\.h5, sample 0: spikes/times has shape"):
        read_shd(mismatch)

    counts = tmp_path / "counts.h5"
    write_raw_shd(counts, [[0.1]], [[1]], [0, 1])
    with pytest.raises(ValueError, match=r"counts\.h5 is inconsistent: 1 spike-time arrays"):
        read_shd(counts)

    bad_unit = tmp_path / "unit.h5"
    write_shd(bad_unit, [[0.1]], [[700]], [0])
    with pytest.raises(ValueError, match=r"unit\.h5, sample 0: units must lie in \[0, 700\)"):
        read_shd(bad_unit)

    with pytest.raises(FileNotFoundError, match=r"nope\.h5"):
        read_shd(tmp_path / "nope.h5")


def test_shd_without_h5py_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install jaxspike\[data\]"):
        read_shd(tmp_path / "x.h5")


def encode_nmnist(x, y, p, ts):
    """40-bit records from the published layout: x, y, then p (1 bit) and ts (23 bits)."""
    x, y, p, ts = (np.asarray(a, np.int64) for a in (x, y, p, ts))
    rec = np.stack(
        [x, y, (p << 7) | ((ts >> 16) & 0x7F), (ts >> 8) & 0xFF, ts & 0xFF], axis=1
    ).astype(np.uint8)
    return rec.tobytes()


def random_nmnist(rng, n):
    ts = np.sort(rng.integers(0, 2**23, n))
    return rng.integers(0, 34, n), rng.integers(0, 34, n), rng.integers(0, 2, n), ts


def test_nmnist_roundtrip_exact(tmp_path):
    rng = np.random.default_rng(2)
    x, y, p, ts = random_nmnist(rng, 500)
    path = tmp_path / "00001.bin"
    path.write_bytes(encode_nmnist(x, y, p, ts))
    ev = read_nmnist_file(path)
    assert len(ev) == 500
    for name, col in zip("xytp", (x, y, ts, p), strict=True):
        np.testing.assert_array_equal(ev[name], col, err_msg=name)
    assert ev["t"].dtype == np.int64


def test_nmnist_known_bytes(tmp_path):
    # x=33, y=2, ON, t = 0x7FFFFF (the largest 23-bit stamp); x=0, y=0, OFF, t=258
    path = tmp_path / "known.bin"
    path.write_bytes(bytes([33, 2, 0xFF, 0xFF, 0xFF, 0, 0, 0x00, 0x01, 0x02]))
    ev = read_nmnist_file(path)
    assert ev["x"].tolist() == [33, 0]
    assert ev["y"].tolist() == [2, 0]
    assert ev["p"].tolist() == [1, 0]
    assert ev["t"].tolist() == [2**23 - 1, 258]


def test_nmnist_overflow_records(tmp_path):
    # a record with y = 240 marks a timestamp overflow of 2**13 us and is not an event
    data = encode_nmnist([1, 0, 2, 0, 3], [1, 240, 2, 240, 3], [0, 0, 1, 0, 1], [5, 0, 6, 0, 7])
    path = tmp_path / "overflow.bin"
    path.write_bytes(data)
    ev = read_nmnist_file(path)
    assert ev["x"].tolist() == [1, 2, 3]
    assert ev["t"].tolist() == [5, 6 + 2**13, 7 + 2**14]


def test_nmnist_corrupt_files_name_the_path(tmp_path):
    rng = np.random.default_rng(3)
    good = encode_nmnist(*random_nmnist(rng, 10))
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(good[:-2])
    with pytest.raises(ValueError, match=r"truncated\.bin has 48 bytes, not a multiple of 5"):
        read_nmnist_file(truncated)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.bin is empty"):
        read_nmnist_file(empty)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(encode_nmnist([34], [0], [0], [0]))
    with pytest.raises(ValueError, match=r"outside\.bin has events outside the 34x34"):
        read_nmnist_file(outside)
    assert read_nmnist_file(outside, sensor_size=None)["x"].tolist() == [34]


def test_read_nmnist_directory(tmp_path):
    rng = np.random.default_rng(4)
    written = {}
    for label in (0, 3):
        (tmp_path / str(label)).mkdir()
        for k in range(2):
            cols = random_nmnist(rng, 20 + k)
            (tmp_path / str(label) / f"{k:05d}.bin").write_bytes(encode_nmnist(*cols))
            written[(label, k)] = cols
    data = read_nmnist(tmp_path)
    assert data.sensor_size == NMNIST_SENSOR_SIZE
    assert data.labels.tolist() == [0, 0, 3, 3]
    for ev, key in zip(data.events, [(0, 0), (0, 1), (3, 0), (3, 1)], strict=True):
        np.testing.assert_array_equal(ev["t"], written[key][3])
    with pytest.raises(ValueError, match="holds no"):
        read_nmnist(tmp_path / "0")
    kw = dict(sensor_size=data.sensor_size, n_time_bins=12, time_window=700_000)
    ds = SpikeDataset.from_events(data.events, data.labels, **kw)
    assert ds.packed.shape == (4, 2, 2, 34, 34)
    xb, yb = next(ds.batches(None, 4))
    assert yb.tolist() == [0, 0, 3, 3]
    assert xb.shape == (4, 12, 2, 34, 34)
    np.testing.assert_array_equal(np.asarray(xb), to_dense_batch(data.events, binary=True, **kw))


def test_spike_dataset_from_shd_file(tmp_path):
    rng = np.random.default_rng(5)
    times_us, units, labels = shd_samples(rng, 11)
    path = tmp_path / "shd.h5"
    write_shd(path, [t * 1e-6 for t in times_us], units, labels)
    data = read_shd(path)
    kw = dict(sensor_size=data.sensor_size, n_time_bins=20, time_window=70_000, spatial_factor=5)
    ds = SpikeDataset.from_events(data.events, data.labels, chunk=4, **kw)
    assert len(ds) == 11 and ds.n_steps == 20 and ds.feature_shape == (140,)
    assert ds.packed.dtype == jnp.uint8 and ds.packed.shape == (11, 3, 140)
    dense = to_dense_batch(data.events, binary=True, **kw)
    np.testing.assert_array_equal(np.asarray(ds.unpacked()), dense)

    seen = []
    for xb, yb in ds.batches(jax.random.key(0), 4, drop_last=False):
        assert xb.dtype == jnp.float32 and xb.shape[1:] == (20, 140)
        for x_i, y_i in zip(np.asarray(xb), np.asarray(yb), strict=True):
            # find which sample this is by content and label
            match = [
                j
                for j in range(11)
                if labels[j] == y_i and np.array_equal(dense[j], x_i) and j not in seen
            ]
            assert match, "batch sample not found in the data set"
            seen.append(match[0])
    assert sorted(seen) == list(range(11))  # every sample exactly once per epoch

    sizes = [xb.shape[0] for xb, _ in ds.batches(jax.random.key(0), 4)]
    assert sizes == [4, 4]  # drop_last
    order_a = [np.asarray(y) for _, y in ds.batches(jax.random.key(1), 11)]
    order_b = [np.asarray(y) for _, y in ds.batches(jax.random.key(1), 11)]
    np.testing.assert_array_equal(order_a[0], order_b[0])
    unshuffled = next(ds.batches(None, 11))[1]
    np.testing.assert_array_equal(np.asarray(unshuffled), labels)


def test_spike_dataset_validation():
    with pytest.raises(ValueError, match="labels has shape"):
        SpikeDataset.from_events(
            [make_events(x=[0], t=[0])], [0, 1], sensor_size=(2,), n_time_bins=2, time_window=1
        )
    with pytest.raises(ValueError, match="spikes must hold only 0 and 1"):
        SpikeDataset.from_dense(np.full((2, 3, 1), 2), [0, 1])
    ds = SpikeDataset.from_dense(np.zeros((2, 3, 1)), [0, 1])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        next(ds.batches(None, 0))


def test_write_shd_matches_raw_layout_and_validates(tmp_path):
    rng = np.random.default_rng(5)
    times_us, units, labels = shd_samples(rng, 4)
    times = [t * 1e-6 for t in times_us]
    write_shd(tmp_path / "public.h5", times, units, labels, speakers=[1, 2, 3, 4])
    write_raw_shd(tmp_path / "raw.h5", times, units, labels)
    ours, raw = read_shd(tmp_path / "public.h5"), read_shd(tmp_path / "raw.h5")
    np.testing.assert_array_equal(ours.labels, raw.labels)
    for a, b in zip(ours.events, raw.events, strict=True):
        np.testing.assert_array_equal(a, b)
    with h5py.File(tmp_path / "public.h5", "r") as f:
        np.testing.assert_array_equal(f["extra/speaker"][:], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="write_shd: got 1 spike-time arrays, 1 unit arrays and 2"):
        write_shd(tmp_path / "bad.h5", [[0.1]], [[1]], [0, 1])
    with pytest.raises(ValueError, match="write_shd: sample 0: times and units must be 1-D"):
        write_shd(tmp_path / "bad.h5", [[0.1, 0.2]], [[1]], [0])
    with pytest.raises(ValueError, match=r"write_shd: speakers must have shape \(1,\)"):
        write_shd(tmp_path / "bad.h5", [[0.1]], [[1]], [0], speakers=[1, 2])
