"""Event streams: dense binning against a per-event reference, packing, validation."""

import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspike.data.events import (
    AUDIO_EVENT_DTYPE,
    EVENT_DTYPE,
    make_events,
    pack_spikes,
    packed_length,
    to_dense,
    to_dense_batch,
    to_indices,
    unpack_spikes,
)


def random_events(rng, n, width, height=None, t_max=10_000, n_pol=2):
    t = np.sort(rng.integers(0, t_max, n))
    x = rng.integers(0, width, n)
    p = rng.integers(0, n_pol, n)
    if height is None:
        return make_events(x=x, t=t, p=p)
    return make_events(x=x, y=rng.integers(0, height, n), t=t, p=p)


def reference_dense(
    events,
    dims,
    n_pol,
    *,
    n_bins=None,
    window=None,
    t_start=0,
    t_end=None,
    factor=1,
    merge=False,
):
    """Independent per-event loop written from the binning definition (module docstring)."""
    f = Fraction(factor)
    ts = [int(t) for t in events["t"]]
    if t_start is None:
        t_start = min(ts)
    if window is None:
        if t_end is None:
            t_end = max(ts) + 1
        width = Fraction(t_end - t_start, n_bins)
    else:
        width = Fraction(window)
    bins = [math.floor(Fraction(t - t_start) / width) for t in ts]
    if n_bins is None:
        n_bins = max(bins) + 1
    out_dims = [math.ceil(d / f) for d in dims]
    n_chan = 1 if merge else n_pol
    if len(dims) == 1:
        out = np.zeros((n_bins, n_chan, out_dims[0]))
    else:
        out = np.zeros((n_bins, n_chan, out_dims[1], out_dims[0]))
    for e, k in zip(events, bins, strict=True):
        if not 0 <= k < n_bins:
            continue
        c = 0 if merge else int(e["p"])
        xd = math.floor(Fraction(int(e["x"])) / f)
        if len(dims) == 1:
            out[k, c, xd] += 1
        else:
            out[k, c, math.floor(Fraction(int(e["y"])) / f), xd] += 1
    if len(dims) == 1 and n_chan == 1:
        out = out[:, 0]
    return out


@pytest.mark.parametrize(
    "opts",
    [
        dict(window=1000),
        dict(n_bins=7),
        dict(n_bins=5, window=1500),
        dict(n_bins=4, t_start=None),
        dict(window=700, t_start=None),
        dict(n_bins=6, t_start=2000, t_end=9000),
        dict(n_bins=5, window=1000, factor=3),
        dict(n_bins=5, window=999.5, factor=2.5),
        dict(window=1000, merge=True),
    ],
)
def test_to_dense_2d_matches_reference(opts):
    rng = np.random.default_rng(0)
    ev = random_events(rng, 300, 17, 11)
    got = to_dense(
        ev,
        sensor_size=(17, 11, 2),
        n_time_bins=opts.get("n_bins"),
        time_window=opts.get("window"),
        t_start=opts.get("t_start", 0),
        t_end=opts.get("t_end"),
        spatial_factor=opts.get("factor", 1),
        merge_polarities=opts.get("merge", False),
    )
    want = reference_dense(ev, (17, 11), 2, **opts)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("factor", [1, 4, 700 / 128])
def test_to_dense_audio_matches_reference(factor):
    rng = np.random.default_rng(1)
    ev = random_events(rng, 500, 700, n_pol=1)
    got = to_dense(ev, sensor_size=(700,), n_time_bins=20, time_window=500, spatial_factor=factor)
    want = reference_dense(ev, (700,), 1, n_bins=20, window=500, factor=factor)
    assert got.shape == (20, math.ceil(700 / Fraction(factor)))
    np.testing.assert_array_equal(got, want)
    # tonic writes audio sensors as (N, 1, 1)
    same = to_dense(
        ev, sensor_size=(700, 1, 1), n_time_bins=20, time_window=500, spatial_factor=factor
    )
    np.testing.assert_array_equal(same, got)


def reference_indices(dense, capacity):
    """Per-bin active flat feature indices of the reference binning, padded with F."""
    flat = dense.reshape(dense.shape[0], -1)
    f = flat.shape[1]
    out = np.full((flat.shape[0], capacity), f)
    for k, row in enumerate(flat):
        nz = np.flatnonzero(row)
        out[k, : len(nz)] = nz
    return out


@pytest.mark.parametrize(
    ("sensor", "opts"),
    [
        ((17, 11, 2), dict(n_bins=5, window=1000)),
        ((17, 11, 2), dict(n_bins=7)),
        ((17, 11, 2), dict(n_bins=5, window=999.5, factor=2.5, merge=True)),
        ((700,), dict(n_bins=20, window=500, factor=700 / 128)),
    ],
    ids=str,
)
def test_to_indices_matches_reference_binning(sensor, opts):
    rng = np.random.default_rng(2)
    dims = sensor[:-1] if len(sensor) == 3 else sensor
    ev = random_events(rng, 400, *dims, n_pol=2 if len(sensor) == 3 else 1)
    want_dense = reference_dense(ev, dims, sensor[-1] if len(sensor) == 3 else 1, **opts)
    capacity = int((want_dense.reshape(want_dense.shape[0], -1) > 0).sum(1).max()) + 3
    got = to_indices(
        ev,
        capacity=capacity,
        sensor_size=sensor,
        n_time_bins=opts["n_bins"],
        time_window=opts.get("window"),
        spatial_factor=opts.get("factor", 1),
        merge_polarities=opts.get("merge", False),
    )
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, reference_indices(want_dense, capacity))


def test_to_indices_errors():
    ev = make_events(x=[0, 1, 2], t=[0, 1, 2])
    with pytest.raises(ValueError, match="time bin 0 has 3 active features, more than capacity=2"):
        to_indices(ev, capacity=2, sensor_size=(4,), n_time_bins=1, time_window=10)
    with pytest.raises(ValueError, match="capacity must be an int >= 1"):
        to_indices(ev, capacity=0, sensor_size=(4,), n_time_bins=1, time_window=10)
    with pytest.raises(ValueError, match="n_time_bins is required"):
        to_indices(ev, capacity=3, sensor_size=(4,), n_time_bins=None, time_window=10)


def test_700_channels_to_128():
    ev = make_events(x=np.arange(700), t=np.zeros(700, int))
    out = to_dense(ev, sensor_size=(700,), n_time_bins=1, time_window=1, spatial_factor=700 / 128)
    assert out.shape == (1, 128)
    assert out.sum() == 700
    # channel c collects x in [c * 700/128, (c+1) * 700/128): 5 or 6 inputs each
    assert set(out[0].tolist()) == {5.0, 6.0}


def test_hand_example_and_dropping():
    ev = make_events(x=[0, 1, 1, 1], y=[0, 0, 1, 1], t=[0, 999, 1000, 5000], p=[1, 0, 1, 1])
    out = to_dense(ev, sensor_size=(2, 2, 2), n_time_bins=2, time_window=1000)
    assert out.shape == (2, 2, 2, 2)  # [T, C, H, W]
    want = np.zeros((2, 2, 2, 2))
    want[0, 1, 0, 0] = 1  # t=0, ON, (y=0, x=0)
    want[0, 0, 0, 1] = 1  # t=999, OFF, (y=0, x=1)
    want[1, 1, 1, 1] = 1  # t=1000, ON, (y=1, x=1); t=5000 is past 2 bins and dropped
    np.testing.assert_array_equal(out, want)


def test_binary_and_integer_dtype():
    ev = make_events(x=[0] * 300, t=np.arange(300))
    assert to_dense(ev, sensor_size=(1,), n_time_bins=1, time_window=1000).item() == 300
    assert to_dense(ev, sensor_size=(1,), n_time_bins=1, time_window=1000, binary=True).item() == 1
    sat = to_dense(ev, sensor_size=(1,), n_time_bins=1, time_window=1000, dtype=np.uint8)
    assert sat.dtype == np.uint8 and sat.item() == 255


def test_tonic_dtypes_accepted():
    # tonic.io.events_struct and tonic's SHD layout (fields in another order, bool/int64 types)
    tonic_vision = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
    tonic_audio = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])
    rng = np.random.default_rng(2)
    ev = random_events(rng, 100, 8, 8)
    ev_t = ev.astype(tonic_vision)
    np.testing.assert_array_equal(
        to_dense(ev_t, sensor_size=(8, 8, 2), time_window=1000),
        to_dense(ev, sensor_size=(8, 8, 2), time_window=1000),
    )
    au = random_events(rng, 100, 30, n_pol=1)
    np.testing.assert_array_equal(
        to_dense(au.astype(tonic_audio), sensor_size=(30, 1, 1), time_window=1000),
        to_dense(au, sensor_size=(30,), time_window=1000),
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(time_window=800),
        dict(t_start=None),
        dict(t_start=None, t_end=None, time_window=None),
        dict(spatial_factor=2, merge_polarities=True, time_window=1000),
    ],
)
def test_batch_equals_single(kw):
    rng = np.random.default_rng(3)
    evs = [random_events(rng, n, 9, 5) for n in (0, 1, 40, 200)]
    evs[1] = make_events(x=[3], y=[2], t=[123_456], p=[1])  # late, single event
    kw = {"t_start": 0, "t_end": None, **kw}
    batch = to_dense_batch(evs, sensor_size=(9, 5, 2), n_time_bins=6, **kw)
    for i, ev in enumerate(evs):
        if len(ev) == 0 and kw["t_start"] is None:
            continue
        single = to_dense(ev, sensor_size=(9, 5, 2), n_time_bins=6, **kw)
        np.testing.assert_array_equal(batch[i], single, err_msg=f"sample {i}")


def test_make_events_layout():
    ev = make_events(x=[1], y=[2], t=[3], p=[1])
    assert ev.dtype == EVENT_DTYPE
    assert make_events(x=[1], t=[3]).dtype == AUDIO_EVENT_DTYPE
    with pytest.raises(ValueError, match="make_events: every column"):
        make_events(x=[1, 2], t=[3])
    with pytest.raises(ValueError, match="integers"):
        make_events(x=[1], t=[0.5])


def test_to_dense_errors():
    ev = make_events(x=[5], y=[0], t=[0], p=[0])
    with pytest.raises(ValueError, match=r"to_dense: event x must lie in \[0, 4\)"):
        to_dense(ev, sensor_size=(4, 4, 2), time_window=10)
    with pytest.raises(ValueError, match="n_time_bins, time_window or both"):
        to_dense(ev, sensor_size=(8, 8, 2))
    with pytest.raises(ValueError, match="'y' field"):
        to_dense(make_events(x=[1], t=[0]), sensor_size=(8, 8, 2), time_window=10)
    with pytest.raises(TypeError, match="structured array"):
        to_dense(np.zeros(3), sensor_size=(8,), time_window=10)
    with pytest.raises(ValueError, match="spatial_factor must be >= 1"):
        to_dense(ev, sensor_size=(8, 8, 2), time_window=10, spatial_factor=0.5)
    with pytest.raises(ValueError, match="polarity p must lie"):
        to_dense(make_events(x=[1], y=[1], t=[0], p=[-1]), sensor_size=(8, 8, 2), time_window=1)
    with pytest.raises(ValueError, match="n_time_bins is required"):
        to_dense_batch([ev], sensor_size=(8, 8, 2), n_time_bins=None, time_window=10)


def manual_pack(bits):
    """Bytes from the definition: step 8j + k sets bit 7 - k of byte j."""
    t = bits.shape[0]
    out = np.zeros((packed_length(t), *bits.shape[1:]), np.int64)
    for step in range(t):
        out[step // 8] += bits[step].astype(np.int64) << (7 - step % 8)
    return out


@pytest.mark.parametrize("n_steps", [1, 8, 13, 64])
def test_pack_matches_definition_and_roundtrips_in_jit(n_steps):
    rng = np.random.default_rng(4)
    bits = (rng.random((n_steps, 3, 5)) < 0.3).astype(np.float32)
    packed = pack_spikes(bits, time_axis=0)
    assert packed.dtype == np.uint8 and packed.shape == (packed_length(n_steps), 3, 5)
    np.testing.assert_array_equal(packed, manual_pack(bits))
    unpack = jax.jit(lambda p: unpack_spikes(p, time_axis=0, n_steps=n_steps))
    np.testing.assert_array_equal(np.asarray(unpack(packed)), bits)


def test_pack_other_axis_and_jax_input():
    rng = np.random.default_rng(5)
    bits = rng.random((2, 11, 4)) < 0.5
    packed_np = pack_spikes(bits, time_axis=1)
    packed_jx = pack_spikes(jnp.asarray(bits), time_axis=1)
    np.testing.assert_array_equal(np.asarray(packed_jx), packed_np)
    back = unpack_spikes(packed_np, time_axis=1, n_steps=11, dtype=jnp.bfloat16)
    assert back.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(back, np.float32), bits.astype(np.float32))
    packed_in_jit = jax.jit(lambda b: pack_spikes(b, time_axis=1))(jnp.asarray(bits))
    np.testing.assert_array_equal(np.asarray(packed_in_jit), packed_np)


def test_pack_errors():
    with pytest.raises(ValueError, match="pack_spikes: spikes must hold only 0 and 1"):
        pack_spikes(np.array([0, 2]), time_axis=0)
    with pytest.raises(ValueError, match="n_steps=9 needs 2 bytes"):
        unpack_spikes(np.zeros(1, np.uint8), time_axis=0, n_steps=9)
    with pytest.raises(TypeError, match="uint8"):
        unpack_spikes(np.zeros(1, np.int32), time_axis=0, n_steps=8)
