r"""Readers for neuromorphic data sets already on disk, and an on-device spike data set.

Nothing is downloaded: point the readers at files you have.

* :func:`read_shd` reads the Spiking Heidelberg Digits and Spiking Speech Commands
  (Cramer et al. 2022) HDF5 files: ``spikes/times`` (one variable-length array of spike
  times in seconds per sample), ``spikes/units`` (the matching channel, 0..699) and
  ``labels``. It needs ``h5py`` (``pip install jaxspike[data]``). :func:`write_shd`
  writes the same layout (synthetic data sets, tests, subsets of the real files).
* :func:`read_nmnist_file` reads one N-MNIST (or N-Caltech101) ``.bin`` file (Orchard et
  al. 2015): 5 bytes per event, big-endian bit fields ``x`` (bits 39-32), ``y`` (31-24),
  polarity (bit 23, 1 = ON) and the timestamp in microseconds (bits 22-0).
  :func:`read_nmnist` reads a split directory ``<root>/<label>/*.bin``.

Both return :class:`EventSamples` (a list of structured event arrays in the layout of
:mod:`jaxspike.data.events`, the labels and the sensor size). :meth:`SpikeDataset.from_events`
bins them, bit-packs them along time and puts the whole set on the accelerator;
:meth:`SpikeDataset.batches` shuffles and batches on the device and unpacks each batch
inside :func:`jax.jit`. Data read with tonic can be passed to
:meth:`SpikeDataset.from_events` directly (tonic's events are structured arrays with the
same field names).

References:
    B. Cramer, Y. Stradmann, J. Schemmel, F. Zenke. The Heidelberg spiking data sets for
    the systematic evaluation of spiking neural networks. IEEE TNNLS 33(7):2744-2757,
    2022. doi:10.1109/TNNLS.2020.3044364

    G. Orchard, A. Jayawant, G. K. Cohen, N. Thakor. Converting static image datasets
    to spiking neuromorphic datasets using saccades. Front. Neurosci. 9:437, 2015.
    doi:10.3389/fnins.2015.00437
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike.data.events import (
    AUDIO_EVENT_DTYPE,
    EVENT_DTYPE,
    pack_spikes,
    to_dense_batch,
    unpack_spikes,
)

__all__ = [
    "SHD_N_CHANNELS",
    "NMNIST_SENSOR_SIZE",
    "EventSamples",
    "read_shd",
    "write_shd",
    "read_nmnist_file",
    "write_nmnist_file",
    "read_nmnist",
    "SpikeDataset",
]

SHD_N_CHANNELS = 700
"""Number of cochlea channels in SHD and SSC."""

NMNIST_SENSOR_SIZE = (34, 34, 2)
"""N-MNIST sensor size in tonic's ``(W, H, P)`` convention."""

_NMNIST_OVERFLOW_Y = 240
_NMNIST_OVERFLOW_STEP = 1 << 13


class EventSamples(NamedTuple):
    """Event streams of a data set split.

    Attributes:
        events: one structured event array per sample (:mod:`jaxspike.data.events` layout).
        labels: ``int32`` class of each sample, shape ``(n_samples,)``.
        sensor_size: tonic-style sensor size, e.g. ``(700,)`` or ``(34, 34, 2)``.
    """

    events: list[np.ndarray]
    labels: np.ndarray
    sensor_size: tuple[int, ...]


def _import_h5py(fn: str) -> Any:
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{fn} needs h5py to read HDF5 files; install it with "
            "`pip install jaxspike[data]` (or `pip install h5py`)."
        ) from err
    return h5py


def _existing_file(fn: str, path: Any, expected: str) -> Path:
    """``path`` as a Path, or an error naming it when it is missing or a directory."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{fn}: {path} is a directory; expected {expected}.")
    if not path.is_file():
        raise FileNotFoundError(f"{fn}: no such file: {path} (expected {expected}).")
    return path


def _audio_dtype(n_channels: int) -> np.dtype:
    """:data:`AUDIO_EVENT_DTYPE`, with a wider ``x`` when channels exceed int16."""
    if n_channels - 1 <= np.iinfo(AUDIO_EVENT_DTYPE["x"]).max:
        return AUDIO_EVENT_DTYPE
    return np.dtype([("t", np.int64), ("x", np.int32), ("p", np.int8)])


def read_shd(
    path: str | os.PathLike[str],
    *,
    n_channels: int = SHD_N_CHANNELS,
    nonfinite: str = "drop",
    max_samples: int | None = None,
    time_rounding: str = "round",
) -> EventSamples:
    """Read an SHD or SSC HDF5 file (e.g. ``shd_train.h5``) into event streams.

    Spike times are converted from seconds to integer microseconds by rounding
    (``t = round(times * 1e6)``); the channel is the ``x`` field and ``p`` is 0. With
    more than 32768 channels ``x`` is ``int32`` instead of ``int16`` (never wrapped).

    Args:
        path: the ``.h5`` file.
        n_channels: number of channels; a unit outside ``[0, n_channels)`` is an error.
        nonfinite: what to do with NaN or infinite spike times: ``"drop"`` them or
            ``"raise"`` a ``ValueError``.
        max_samples: read only the first samples (for quick experiments); an int >= 0.
        time_rounding: ``"round"`` (default): ``t = round(times * 1e6)``, the nearest
            microsecond; ``"truncate"``: ``t = int(times * 1e6)`` toward zero, as
            tonic's ``SHD``/``SSC`` data sets do (a float32 time such as 0.0123 s is
            12299.999... us, so the two differ by 1 us on some spikes).

    Returns:
        :class:`EventSamples` with :data:`~jaxspike.data.events.AUDIO_EVENT_DTYPE` events,
        sorted by time within each sample as stored, and ``sensor_size=(n_channels,)``.

    Raises:
        ImportError: if h5py is missing.
        FileNotFoundError: if ``path`` does not exist.
        IsADirectoryError: if ``path`` is a directory.
        ValueError: if the file is not HDF5 (empty, truncated, garbage), lacks
            ``spikes/times``, ``spikes/units`` or ``labels``, or its arrays disagree;
            the message names the file and the expected layout.
    """
    fn = "read_shd"
    if time_rounding not in ("round", "truncate"):
        raise ValueError(
            f"{fn}: time_rounding must be 'round' or 'truncate', got {time_rounding!r}."
        )
    if nonfinite not in ("drop", "raise"):
        raise ValueError(f"{fn}: nonfinite must be 'drop' or 'raise', got {nonfinite!r}.")
    if max_samples is not None and (
        isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 0
    ):
        raise ValueError(f"{fn}: max_samples must be None or an int >= 0, got {max_samples!r}.")
    if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
        raise ValueError(f"{fn}: n_channels must be an int >= 1, got {n_channels!r}.")
    h5py = _import_h5py(fn)
    path = _existing_file(fn, path, "an SHD/SSC HDF5 file")
    try:
        handle = h5py.File(path, "r")
    except Exception as err:  # h5py raises OSError, or others for odd files
        raise ValueError(
            f"{fn}: {path} is not a readable HDF5 file; expected an SHD/SSC HDF5 file "
            f"with spikes/times, spikes/units and labels ({err})."
        ) from None
    with handle:
        for key in ("spikes/times", "spikes/units", "labels"):
            if key not in handle:
                raise ValueError(
                    f"{fn}: {path} has no dataset '{key}'; expected the SHD layout "
                    "spikes/times, spikes/units, labels."
                )
        try:
            n = len(handle["labels"])
            stop = n if max_samples is None else min(n, int(max_samples))
            labels = np.asarray(handle["labels"][:stop])
            times = handle["spikes/times"][:stop]
            units = handle["spikes/units"][:stop]
            n_times, n_units = len(handle["spikes/times"]), len(handle["spikes/units"])
        except Exception as err:  # a truncated file fails in h5py with several types
            raise ValueError(
                f"{fn}: could not read the arrays of {path}; expected the SHD layout "
                f"spikes/times, spikes/units (variable-length arrays) and labels ({err})."
            ) from None
    if not (n_times == n_units == n):
        raise ValueError(
            f"{fn}: {path} is inconsistent: {n_times} spike-time arrays, {n_units} unit "
            f"arrays and {n} labels."
        )
    event_dtype = _audio_dtype(n_channels)
    events = []
    for i in range(stop):
        try:
            ts = np.asarray(times[i], dtype=np.float64)
            us = np.asarray(units[i])
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{fn}: {path}, sample {i}: spikes/times and spikes/units must be numeric "
                f"arrays ({err})."
            ) from None
        if not np.issubdtype(us.dtype, np.integer):
            raise ValueError(
                f"{fn}: {path}, sample {i}: spikes/units must be integer channels, got {us.dtype}."
            )
        if ts.shape != us.shape or ts.ndim != 1:
            raise ValueError(
                f"{fn}: {path}, sample {i}: spikes/times has shape {ts.shape} but "
                f"spikes/units has shape {us.shape}."
            )
        finite = np.isfinite(ts)
        if not finite.all():
            if nonfinite == "raise":
                raise ValueError(
                    f"{fn}: {path}, sample {i} has {int((~finite).sum())} NaN/inf spike times."
                )
            ts, us = ts[finite], us[finite]
        if us.size and (us.min() < 0 or us.max() >= n_channels):
            raise ValueError(
                f"{fn}: {path}, sample {i}: units must lie in [0, {n_channels}), got values "
                f"in [{us.min()}, {us.max()}]."
            )
        ev = np.zeros(ts.shape, event_dtype)
        us_time = ts * 1e6
        ev["t"] = (np.round(us_time) if time_rounding == "round" else np.trunc(us_time)).astype(
            np.int64
        )
        ev["x"] = us
        events.append(ev)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{fn}: {path}: labels must be a 1-D integer array, got {labels.dtype} "
            f"of shape {labels.shape}."
        )
    return EventSamples(events, labels.astype(np.int32), (int(n_channels),))


def write_shd(
    path: str | os.PathLike[str],
    times: Sequence[Any],
    units: Sequence[Any],
    labels: Any,
    *,
    speakers: Any = None,
    keys: Sequence[str] | None = None,
    time_dtype: Any = np.float32,
) -> None:
    """Write spike trains to an HDF5 file in the SHD/SSC layout that :func:`read_shd` reads.

    The layout of Cramer et al. (2022): ``spikes/times`` and ``spikes/units`` hold one
    variable-length array per sample (times in seconds, channels as ``uint16``),
    ``labels`` the classes (``uint16``) and ``extra/speaker`` the speakers. Use it for
    synthetic data sets, tests and subsets of the real files.

    Args:
        path: the ``.h5`` file to create (overwritten).
        times: one 1-D array of spike times in seconds per sample.
        units: one 1-D array of channels per sample, matching ``times``.
        labels: one integer class per sample.
        speakers: one integer per sample for ``extra/speaker`` (default zeros).
        keys: the class names stored in ``extra/keys`` (default ``"0"``, ``"1"``, ... up
            to the largest label), which tonic's ``SHD`` data set reads.
        time_dtype: floating dtype of the stored times.

    Raises:
        ImportError: if h5py is missing.
        ValueError: if the numbers of samples or the lengths of a sample's arrays differ.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny.h5")
        >>> write_shd(path, [[0.001, 0.5]], [[3, 699]], [7])
        >>> data = read_shd(path)
        >>> data.events[0]["t"].tolist(), data.events[0]["x"].tolist(), data.labels.tolist()
        ([1000, 500000], [3, 699], [7])
    """
    fn = "write_shd"
    h5py = _import_h5py(fn)
    labels = np.asarray(labels)
    n = len(labels)
    if len(times) != n or len(units) != n:
        raise ValueError(
            f"{fn}: got {len(times)} spike-time arrays, {len(units)} unit arrays and {n} "
            "labels; give one of each per sample."
        )
    speakers = np.zeros(n, np.uint16) if speakers is None else np.asarray(speakers)
    if speakers.shape != (n,):
        raise ValueError(f"{fn}: speakers must have shape ({n},), got {speakers.shape}.")
    with h5py.File(path, "w") as f:
        group = f.create_group("spikes")
        t_set = group.create_dataset("times", (n,), dtype=h5py.vlen_dtype(np.dtype(time_dtype)))
        u_set = group.create_dataset("units", (n,), dtype=h5py.vlen_dtype(np.dtype(np.uint16)))
        for i, (ts, us) in enumerate(zip(times, units, strict=True)):
            ts, us = np.asarray(ts, time_dtype), np.asarray(us)
            if ts.ndim != 1 or ts.shape != us.shape:
                raise ValueError(
                    f"{fn}: sample {i}: times and units must be 1-D arrays of one length, "
                    f"got shapes {ts.shape} and {us.shape}."
                )
            t_set[i] = ts
            u_set[i] = us.astype(np.uint16)
        f.create_dataset("labels", data=labels.astype(np.uint16))
        extra = f.create_group("extra")
        extra.create_dataset("speaker", data=speakers.astype(np.uint16))
        if keys is None:
            keys = [str(i) for i in range(int(labels.max()) + 1 if n else 0)]
        extra.create_dataset("keys", data=np.asarray([k.encode() for k in keys], dtype="S"))


def read_nmnist_file(
    path: str | os.PathLike[str], *, sensor_size: Sequence[int] | None = NMNIST_SENSOR_SIZE
) -> np.ndarray:
    """Read one N-MNIST / N-Caltech101 ``.bin`` file into :data:`~jaxspike.data.events.EVENT_DTYPE`.

    Each event is 40 bits, most significant first: ``x`` (8 bits), ``y`` (8 bits),
    polarity (1 bit; 1 = ON -> ``p = 1``), timestamp in microseconds (23 bits). As in
    the data set authors' reference reader, a record with ``y = 240`` is not an event
    but marks a timestamp overflow: it is dropped and ``2**13`` us are added to every
    later timestamp.

    Args:
        path: the ``.bin`` file.
        sensor_size: ``(W, H, ...)``; an event outside it means a corrupt file. ``None``
            skips the check (N-Caltech101 recordings have varying sizes).

    Raises:
        ValueError: if the file is empty, its size is not a multiple of 5 bytes (a
            truncated file) or an event lies outside ``sensor_size``; the message names
            the file.
    """
    fn = "read_nmnist_file"
    path = _existing_file(fn, path, "an N-MNIST .bin file (5-byte events)")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0:
        raise ValueError(f"{fn}: {path} is empty; an N-MNIST file holds at least one event.")
    if raw.size % 5:
        raise ValueError(
            f"{fn}: {path} has {raw.size} bytes, not a multiple of 5 (40-bit events); the "
            "file is truncated or not in the N-MNIST format."
        )
    rec = raw.reshape(-1, 5).astype(np.int64)
    y = rec[:, 1]
    ts = ((rec[:, 2] & 0x7F) << 16) | (rec[:, 3] << 8) | rec[:, 4]
    overflow = y == _NMNIST_OVERFLOW_Y
    if overflow.any():
        ts = ts + _NMNIST_OVERFLOW_STEP * np.cumsum(overflow)
    keep = ~overflow
    ev = np.empty(int(keep.sum()), EVENT_DTYPE)
    ev["x"] = rec[keep, 0]
    ev["y"] = y[keep]
    ev["t"] = ts[keep]
    ev["p"] = rec[keep, 2] >> 7
    if sensor_size is not None and ev.size:
        width, height = int(sensor_size[0]), int(sensor_size[1])
        if ev["x"].max() >= width or ev["y"].max() >= height:
            raise ValueError(
                f"{fn}: {path} has events outside the {width}x{height} sensor (x up to "
                f"{ev['x'].max()}, y up to {ev['y'].max()}); the file is corrupt, or pass "
                "sensor_size=None for a larger sensor."
            )
    return ev


def write_nmnist_file(path: str | os.PathLike[str], events: Any) -> None:
    """Write events to an N-MNIST ``.bin`` file (the layout :func:`read_nmnist_file` reads).

    Each event becomes 40 bits: ``x`` (8 bits), ``y`` (8 bits), polarity (1 bit) and the
    time in microseconds (23 bits); a time of ``2**23`` us or later is written with
    overflow records (``y = 240``), each adding ``2**13`` us, as in the original files.

    Args:
        path: the ``.bin`` file to create (overwritten).
        events: structured array with fields ``x``, ``y``, ``t``, ``p``, sorted by time,
            with ``0 <= x, y < 240`` and ``p`` in ``{0, 1}``.

    Raises:
        ValueError: for unsorted times or fields out of range.

    Example:
        >>> import os, tempfile
        >>> from jaxspike.data.events import make_events
        >>> path = os.path.join(tempfile.mkdtemp(), "00001.bin")
        >>> write_nmnist_file(path, make_events(x=[1, 33], y=[2, 0], t=[5, 9_000_000], p=[1, 0]))
        >>> ev = read_nmnist_file(path)
        >>> ev["x"].tolist(), ev["t"].tolist(), ev["p"].tolist()
        ([1, 33], [5, 9000000], [1, 0])
    """
    fn = "write_nmnist_file"
    ev = np.asarray(events)
    names = ev.dtype.names or ()
    if not {"x", "y", "t", "p"} <= set(names):
        raise ValueError(f"{fn}: events need fields x, y, t, p, got {names}.")
    x, y, t, p = (ev[k].astype(np.int64) for k in ("x", "y", "t", "p"))
    if t.size and (np.any(np.diff(t) < 0) or t[0] < 0):
        raise ValueError(f"{fn}: event times must be >= 0 and sorted.")
    for name, col, top in (("x", x, 256), ("y", y, _NMNIST_OVERFLOW_Y), ("p", p, 2)):
        if col.size and (col.min() < 0 or col.max() >= top):
            raise ValueError(
                f"{fn}: {name} must lie in [0, {top}), got [{col.min()}, {col.max()}]."
            )
    records = []
    offset = 0
    for xe, ye, te, pe in zip(x, y, t, p, strict=True):
        while te - offset >= 1 << 23:
            offset += _NMNIST_OVERFLOW_STEP
            records.append((0, _NMNIST_OVERFLOW_Y, 0, 0, 0))
        rel = int(te - offset)
        records.append(
            (int(xe), int(ye), (int(pe) << 7) | (rel >> 16), (rel >> 8) & 0xFF, rel & 0xFF)
        )
    np.asarray(records, np.uint8).reshape(-1, 5).tofile(path)


def read_nmnist(root: str | os.PathLike[str]) -> EventSamples:
    """Read an N-MNIST split laid out as ``<root>/<digit>/<id>.bin`` (e.g. ``Train/``).

    Samples are ordered by label, then by file name.

    Raises:
        ValueError: if ``root`` holds no ``<digit>/*.bin`` files, or a file is corrupt.
    """
    fn = "read_nmnist"
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{fn}: no such directory: {root}")
    events, labels = [], []
    for sub in sorted(d for d in root.iterdir() if d.is_dir() and d.name.isdigit()):
        for file in sorted(sub.glob("*.bin")):
            events.append(read_nmnist_file(file))
            labels.append(int(sub.name))
    if not events:
        raise ValueError(f"{fn}: {root} holds no <label>/*.bin files.")
    return EventSamples(events, np.asarray(labels, np.int32), NMNIST_SENSOR_SIZE)


@functools.partial(jax.jit, static_argnames=("n_steps", "dtype"))
def _gather_unpack(
    packed: jax.Array, labels: jax.Array, idx: jax.Array, n_steps: int, dtype: Any
) -> tuple[jax.Array, jax.Array]:
    batch = jnp.take(packed, idx, axis=0)
    return unpack_spikes(batch, time_axis=1, n_steps=n_steps, dtype=dtype), labels[idx]


class SpikeDataset:
    """Binary spike trains bit-packed along time and held on one device.

    ``packed`` has shape ``[N, ceil(T/8), *features]`` (``uint8``): 8 time steps per
    byte, so SHD at 100 steps x 700 channels takes 8.8 kB per sample. Batches come out
    unpacked as ``[B, T, *features]`` (batch-major, as :func:`flax.nnx.RNN` expects).

    Example:
        >>> import jax, numpy as np
        >>> dense = np.zeros((4, 10, 3), np.uint8); dense[np.arange(4), np.arange(4), 0] = 1
        >>> ds = SpikeDataset.from_dense(dense, np.arange(4))
        >>> len(ds), ds.packed.shape
        (4, (4, 2, 3))
        >>> [x.shape for x, y in ds.batches(jax.random.key(0), 2)]
        [(2, 10, 3), (2, 10, 3)]
    """

    def __init__(self, packed: Any, labels: Any, n_steps: int) -> None:
        """Wrap already packed data; prefer :meth:`from_dense` or :meth:`from_events`."""
        fn = "SpikeDataset"
        packed = jnp.asarray(packed)
        labels = jnp.asarray(labels)
        if packed.dtype != jnp.uint8 or packed.ndim < 2:
            raise ValueError(
                f"{fn}: packed must be uint8 of shape [N, ceil(T/8), ...], got "
                f"{packed.dtype} of shape {packed.shape}."
            )
        if labels.shape != packed.shape[:1]:
            raise ValueError(
                f"{fn}: labels has shape {labels.shape} but there are {packed.shape[0]} samples."
            )
        if -(-int(n_steps) // 8) != packed.shape[1]:
            raise ValueError(
                f"{fn}: n_steps={n_steps} does not match {packed.shape[1]} packed bytes."
            )
        self.packed = packed
        self.labels = labels
        self.n_steps = int(n_steps)

    @classmethod
    def from_dense(cls, spikes: Any, labels: Any, *, device: Any = None) -> SpikeDataset:
        """Pack binary spikes ``[N, T, ...]`` (on the host) and move them to ``device``."""
        spikes = np.asarray(spikes)
        if spikes.ndim < 2:
            raise ValueError(
                f"SpikeDataset.from_dense: spikes must be [N, T, ...], got shape {spikes.shape}."
            )
        packed = pack_spikes(spikes, time_axis=1)
        return cls(
            jax.device_put(packed, device),
            jax.device_put(np.asarray(labels, np.int32), device),
            spikes.shape[1],
        )

    @classmethod
    def from_events(
        cls,
        events: Sequence[np.ndarray],
        labels: Any,
        *,
        sensor_size: Sequence[int],
        n_time_bins: int,
        chunk: int = 1024,
        device: Any = None,
        **to_dense_kwargs: Any,
    ) -> SpikeDataset:
        """Bin event streams (binary), pack and move them to ``device``.

        Conversion runs in chunks of ``chunk`` samples, so the host never holds more
        than one dense chunk. ``to_dense_kwargs`` go to
        :func:`~jaxspike.data.events.to_dense_batch` (``time_window``, ``spatial_factor``,
        ``merge_polarities``, ``t_start``, ``t_end``).

        Example:
            >>> from jaxspike.data.events import make_events
            >>> ev = [make_events(x=[0, 5], t=[0, 20_000]), make_events(x=[3], t=[9_999])]
            >>> ds = SpikeDataset.from_events(ev, [0, 1], sensor_size=(6,),
            ...                               n_time_bins=3, time_window=10_000)
            >>> ds.packed.shape, ds.n_steps
            ((2, 1, 6), 3)
        """
        events = list(events)
        labels = np.asarray(labels)
        if labels.shape != (len(events),):
            raise ValueError(
                f"SpikeDataset.from_events: labels has shape {labels.shape} but there are "
                f"{len(events)} event streams."
            )
        parts = []
        for start in range(0, max(len(events), 1), chunk):
            dense = to_dense_batch(
                events[start : start + chunk],
                sensor_size=sensor_size,
                n_time_bins=n_time_bins,
                binary=True,
                dtype=np.uint8,
                **to_dense_kwargs,
            )
            parts.append(pack_spikes(dense, time_axis=1))
        packed = np.concatenate(parts, axis=0)
        return cls(
            jax.device_put(packed, device),
            jax.device_put(labels.astype(np.int32), device),
            n_time_bins,
        )

    def __len__(self) -> int:
        """Number of samples."""
        return int(self.packed.shape[0])

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one time step of one sample."""
        return tuple(self.packed.shape[2:])

    def batches(
        self,
        key: jax.Array | None,
        batch_size: int,
        *,
        drop_last: bool = True,
        dtype: Any = jnp.float32,
    ) -> Iterator[tuple[jax.Array, jax.Array]]:
        """Yield ``(spikes [B, T, ...], labels [B])`` for one epoch.

        Args:
            key: PRNG key for the shuffle; ``None`` keeps the stored order.
            batch_size: samples per batch.
            drop_last: skip the last, smaller batch (keeps one compiled shape).
            dtype: dtype of the unpacked spikes.
        """
        fn = "SpikeDataset.batches"
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise ValueError(f"{fn}: batch_size must be a positive int, got {batch_size!r}.")
        n = len(self)
        order = jnp.arange(n) if key is None else jax.random.permutation(key, n)
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            idx = order[start : start + batch_size]
            yield _gather_unpack(self.packed, self.labels, idx, self.n_steps, jnp.dtype(dtype))

    def unpacked(self, dtype: Any = jnp.float32) -> jax.Array:
        """All samples unpacked, ``[N, T, ...]`` (needs 8x the packed memory or more)."""
        return unpack_spikes(self.packed, time_axis=1, n_steps=self.n_steps, dtype=dtype)
