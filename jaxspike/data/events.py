r"""Event streams and their conversion to dense spike tensors.

An event camera or a silicon cochlea emits a list of events rather than frames. Here an
event stream is a NumPy structured array with one record per event, the layout the
tonic library produces:

* vision (:data:`EVENT_DTYPE`): ``x``, ``y`` (pixel), ``t`` (microseconds, int64),
  ``p`` (polarity: 0 = OFF, 1 = ON);
* audio (:data:`AUDIO_EVENT_DTYPE`): ``t`` (microseconds), ``x`` (channel), ``p``.

Functions read fields by name, so any structured array with these fields (in any order
and of any integer dtype, as tonic's data sets give them) is accepted unchanged.

:func:`to_dense` bins the events of one stream into a count tensor, in this order:

.. math::
   k_e &= \lfloor (t_e - t_0) / w \rfloor \quad\text{(time bin; events with
      } k_e \notin [0, T) \text{ are dropped)} \\
   x'_e &= \lfloor x_e / f \rfloor, \quad y'_e = \lfloor y_e / f \rfloor
      \quad\text{(spatial downsampling by the factor } f\text{)} \\
   S[k, c, y', x'] &= \#\{e : k_e = k,\ c_e = c,\ y'_e = y',\ x'_e = x'\}

with :math:`c_e = p_e` (one channel per polarity) or :math:`c_e = 0` (merged). The
bin width :math:`w` is ``time_window``, or :math:`(t_{end} - t_0)/T` when only
``n_time_bins`` is given. The output is ``[T, C, H', W']`` for 2-D sensors and
``[T, N']`` for 1-D (audio) sensors. :func:`to_dense_batch` does the same for many
streams at once with a single ``np.bincount``. :func:`to_indices` gives the
same binary bins as per-step lists of active feature indices, the input of the
event-driven layers (:func:`jaxspike.event_matmul`).

:func:`pack_spikes` stores binary spikes with 8 time steps per byte (an 8x smaller
array that fits a whole data set on the accelerator); :func:`unpack_spikes` restores
them inside :func:`jax.jit`.

References:
    G. Lenz, K. Chaney, S. B. Shrestha, et al. Tonic: event-based datasets and
    transformations. Zenodo, 2021. doi:10.5281/zenodo.5079802 (the event layout).

    K. M. Heckel, T. Nowotny. Spyx: a library for just-in-time compiled optimization of
    spiking neural networks. arXiv:2402.18994, 2024 (bit-packed on-device data sets).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike._validate import is_concrete

__all__ = [
    "EVENT_DTYPE",
    "AUDIO_EVENT_DTYPE",
    "make_events",
    "to_dense",
    "to_dense_batch",
    "to_indices",
    "packed_length",
    "pack_spikes",
    "unpack_spikes",
]

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
"""Events of a 2-D sensor: pixel ``x``, ``y``, time ``t`` in microseconds, polarity ``p``."""

AUDIO_EVENT_DTYPE = np.dtype([("t", np.int64), ("x", np.int16), ("p", np.int8)])
"""Events of a 1-D sensor (e.g. a cochlea): time ``t`` in microseconds, channel ``x``."""


def make_events(
    *, x: Any, t: Any, y: Any = None, p: Any = None, dtype: np.dtype | None = None
) -> np.ndarray:
    """Build a structured event array from columns (``y=None`` gives 1-D audio events).

    Args:
        x: pixel column or channel of each event.
        t: time of each event in microseconds (integers).
        y: pixel row of each event; ``None`` for a 1-D sensor.
        p: polarity of each event (0 or 1); ``None`` means all 0.
        dtype: the structured dtype; defaults to :data:`EVENT_DTYPE` or
            :data:`AUDIO_EVENT_DTYPE`.

    Returns:
        A structured array of shape ``(n_events,)``.

    Example:
        >>> ev = make_events(x=[1, 2], y=[0, 3], t=[10, 20], p=[1, 0])
        >>> ev["t"].tolist(), ev.dtype.names
        ([10, 20], ('x', 'y', 't', 'p'))
    """
    fn = "make_events"
    if dtype is None:
        dtype = AUDIO_EVENT_DTYPE if y is None else EVENT_DTYPE
    columns = {"x": np.asarray(x), "t": np.asarray(t)}
    if y is not None:
        columns["y"] = np.asarray(y)
    columns["p"] = np.zeros_like(columns["t"]) if p is None else np.asarray(p)
    n = columns["t"].shape
    for name, col in columns.items():
        if col.ndim != 1 or col.shape != n:
            raise ValueError(
                f"{fn}: every column must be 1-D with {n[0] if n else '?'} entries "
                f"(the length of t), but {name} has shape {col.shape}."
            )
        if np.issubdtype(col.dtype, np.floating) and not np.all(col == np.round(col)):
            raise ValueError(
                f"{fn}: {name} must hold integers (t in microseconds), got fractional values."
            )
    dtype = np.dtype(dtype)
    if dtype.names is None:
        raise TypeError(f"{fn}: dtype must be a structured dtype such as EVENT_DTYPE, got {dtype}.")
    out = np.empty(n, dtype=dtype)
    for name in dtype.names:
        if name not in columns:
            raise ValueError(f"{fn}: dtype has field {name!r}, which was not given.")
        out[name] = columns[name]
    return out


def _check_events(fn: str, events: Any, need_y: bool | None = None) -> np.ndarray:
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        raise TypeError(
            f"{fn}: events must be a NumPy structured array with fields x, t (and y, p), "
            f"got {type(events).__name__}; build one with jaxspike.data.events.make_events."
        )
    names = events.dtype.names
    for field in ("x", "t"):
        if field not in names:
            raise ValueError(f"{fn}: events need a field {field!r}, got fields {names}.")
    if need_y and "y" not in names:
        raise ValueError(f"{fn}: a 2-D sensor_size needs events with a 'y' field, got {names}.")
    if events.ndim != 1:
        raise ValueError(f"{fn}: events must be 1-D, got shape {events.shape}.")
    return events


def _sensor(fn: str, sensor_size: Any) -> tuple[tuple[int, ...], int]:
    """Normalize ``sensor_size`` to ``(spatial dims as (W,) or (W, H), n_polarities)``."""
    try:
        size = tuple(int(s) for s in sensor_size)
    except TypeError:
        raise TypeError(
            f"{fn}: sensor_size must be a tuple such as (34, 34, 2) (width, height, "
            f"polarities) or (700,), got {sensor_size!r}."
        ) from None
    if len(size) not in (1, 2, 3) or any(s < 1 for s in size):
        raise ValueError(
            f"{fn}: sensor_size must be (N,), (W, H) or (W, H, P) with positive entries, "
            f"got {sensor_size!r}."
        )
    if len(size) == 1:
        return size, 1
    width, height = size[0], size[1]
    n_pol = size[2] if len(size) == 3 else 1
    if height == 1 and len(size) == 3 and n_pol == 1:
        return (width,), 1  # tonic writes audio sensors as (N, 1, 1)
    return (width, height), n_pol


def _factor(fn: str, spatial_factor: Any) -> Fraction:
    if isinstance(spatial_factor, bool) or not isinstance(spatial_factor, (int, float, Fraction)):
        raise TypeError(f"{fn}: spatial_factor must be a number >= 1, got {spatial_factor!r}.")
    if not spatial_factor >= 1:
        raise ValueError(f"{fn}: spatial_factor must be >= 1, got {spatial_factor!r}.")
    return Fraction(spatial_factor).limit_denominator(1_000_000)


def _plan(
    fn: str,
    sensor_size: Any,
    spatial_factor: Any,
    merge_polarities: bool,
    n_time_bins: int | None,
    time_window: Any,
) -> tuple[tuple[int, ...], int, Fraction, tuple[int, ...]]:
    """Validate the options; return (sensor dims, polarities, factor, output feature shape)."""
    dims, n_pol = _sensor(fn, sensor_size)
    f = _factor(fn, spatial_factor)
    out_dims = tuple(-((-d * f.denominator) // f.numerator) for d in dims)
    n_chan = 1 if merge_polarities else n_pol
    if n_time_bins is None and time_window is None:
        raise ValueError(f"{fn}: give n_time_bins, time_window or both; got neither.")
    if n_time_bins is not None and (isinstance(n_time_bins, bool) or int(n_time_bins) < 1):
        raise ValueError(f"{fn}: n_time_bins must be a positive int, got {n_time_bins!r}.")
    if time_window is not None and not time_window > 0:
        raise ValueError(f"{fn}: time_window must be > 0 microseconds, got {time_window!r}.")
    if len(dims) == 1:
        feat = out_dims if n_chan == 1 else (n_chan, *out_dims)
    else:
        feat = (n_chan, out_dims[1], out_dims[0])  # [C, H, W]
    return dims, n_pol, f, feat


def _flat_index(
    fn: str,
    events: Mapping[str, np.ndarray],
    dims: tuple[int, ...],
    n_pol: int,
    f: Fraction,
    feat: tuple[int, ...],
    merge_polarities: bool,
) -> np.ndarray:
    """Flat feature index of every event (before the time bin is added)."""
    x = events["x"].astype(np.int64)
    cols = [("x", x, dims[0])]
    y = None
    if len(dims) == 2:
        y = events["y"].astype(np.int64)
        cols.append(("y", y, dims[1]))
    num, den = f.numerator, f.denominator
    down = (lambda a: a) if num == den else (lambda a: (a * den) // num)
    for name, col, size in cols:
        if col.size and (col.min() < 0 or col.max() >= size):
            raise ValueError(
                f"{fn}: event {name} must lie in [0, {size}) for this sensor_size, got "
                f"values in [{col.min()}, {col.max()}]."
            )
    xd = down(x)
    c = None
    if not (merge_polarities or n_pol == 1):
        if "p" not in events:
            raise ValueError(f"{fn}: {n_pol} polarity channels need events with a 'p' field.")
        c = events["p"].astype(np.int64)
        if c.size and (c.min() < 0 or c.max() >= n_pol):
            raise ValueError(
                f"{fn}: polarity p must lie in [0, {n_pol}), got values in [{c.min()}, {c.max()}]; "
                "map -1/+1 polarities to 0/1 first."
            )
    if y is None:
        return xd if c is None else c * feat[-1] + xd
    _, h_out, w_out = feat
    cy = down(y) if c is None else c * h_out + down(y)
    return cy * w_out + xd


def _time_bins(
    fn: str,
    t: np.ndarray,
    t0: np.ndarray | int,
    t_end: np.ndarray | int | None,
    n_time_bins: int | None,
    time_window: Any,
) -> np.ndarray:
    """Time bin of every event; out-of-range events get -1."""
    dt = t - t0
    if time_window is not None:
        w = Fraction(time_window).limit_denominator(1_000_000)
        k = (dt * w.denominator) // w.numerator
    else:
        span = np.asarray(t_end) - t0
        if np.any(span <= 0):
            raise ValueError(f"{fn}: t_end must be later than t_start, got a span of {span}.")
        k = (dt * int(n_time_bins)) // span  # type: ignore[arg-type, operator]
    if n_time_bins is not None:
        k = np.where((k >= 0) & (k < n_time_bins), k, -1)
    else:
        k = np.where(k >= 0, k, -1)
    return k


def _finish(counts: np.ndarray, dtype: Any, binary: bool) -> np.ndarray:
    if binary:
        counts = np.minimum(counts, 1)
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        counts = np.minimum(counts, np.iinfo(dtype).max)
    return counts.astype(dtype)


def _bin_events(
    fn: str,
    events: Any,
    dims: tuple[int, ...],
    n_pol: int,
    f: Fraction,
    feat: tuple[int, ...],
    merge_polarities: bool,
    n_time_bins: int | None,
    time_window: Any,
    t_start: int | None,
    t_end: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Flat feature index and time bin (-1: dropped) of every event of one stream."""
    events = _check_events(fn, events, need_y=len(dims) == 2)
    t = events["t"].astype(np.int64)
    if t_start is None:
        t_start = int(t.min()) if t.size else 0
    if time_window is None and t_end is None:
        t_end = int(t.max()) + 1 if t.size else t_start + 1
    cols = {name: events[name] for name in events.dtype.names or ()}
    feat_index = _flat_index(fn, cols, dims, n_pol, f, feat, merge_polarities)
    return feat_index, _time_bins(fn, t, t_start, t_end, n_time_bins, time_window)


def to_dense(
    events: np.ndarray,
    *,
    sensor_size: Sequence[int],
    n_time_bins: int | None = None,
    time_window: float | None = None,
    t_start: int | None = 0,
    t_end: int | None = None,
    spatial_factor: float = 1,
    merge_polarities: bool = False,
    binary: bool = False,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Bin one event stream into a dense count tensor (equations in the module docstring).

    Args:
        events: structured array with fields ``x``, ``t`` (microseconds) and, for 2-D
            sensors, ``y``; ``p`` is needed when polarities are kept.
        sensor_size: tonic's convention: ``(W, H, P)`` for a 2-D sensor with ``P``
            polarities, ``(N,)`` or ``(N, 1, 1)`` for a 1-D sensor with ``N`` channels.
        n_time_bins: number of time bins ``T``. Alone, the span ``[t_start, t_end)`` is
            split into ``T`` equal bins; with ``time_window``, it fixes ``T`` and events
            after ``t_start + T * time_window`` are dropped.
        time_window: bin width in microseconds. Alone, ``T`` covers up to the last event.
        t_start: time of the first bin's left edge; ``None`` uses the first event's time.
            The default 0 suits recordings whose clock starts at the stimulus (SHD,
            N-MNIST).
        t_end: with ``n_time_bins`` alone, the right edge of the last bin; ``None`` uses
            the last event's time + 1 us.
        spatial_factor: downsample x (and y) by this factor ``f >= 1``, which may be
            fractional (700 SHD channels to 128 is ``f = 700/128``). The output has
            ``ceil(N / f)`` channels.
        merge_polarities: sum all polarities into one channel.
        binary: clip counts at 1 (spikes rather than counts).
        dtype: output dtype; integer dtypes saturate at their maximum.

    Returns:
        ``[T, C, H', W']`` for 2-D sensors (``C`` polarity channels), ``[T, N']`` for 1-D
        sensors (``[T, P, N']`` if a 1-D sensor has ``P > 1`` polarities).

    Example:
        >>> ev = make_events(x=[0, 3, 3], t=[0, 1500, 1600])
        >>> to_dense(ev, sensor_size=(4,), time_window=1000).tolist()
        [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]
    """
    fn = "to_dense"
    dims, n_pol, f, feat = _plan(
        fn, sensor_size, spatial_factor, merge_polarities, n_time_bins, time_window
    )
    feat_index, k = _bin_events(
        fn, events, dims, n_pol, f, feat, merge_polarities, n_time_bins, time_window, t_start, t_end
    )
    if n_time_bins is None:
        n_bins = int(k.max()) + 1 if (k >= 0).any() else 0
    else:
        n_bins = int(n_time_bins)
    n_feat = math.prod(feat)
    keep = k >= 0
    flat = k[keep] * n_feat + feat_index[keep]
    counts = np.bincount(flat, minlength=n_bins * n_feat).reshape((n_bins, *feat))
    return _finish(counts, dtype, binary)


def to_dense_batch(
    events: Sequence[np.ndarray],
    *,
    sensor_size: Sequence[int],
    n_time_bins: int,
    time_window: float | None = None,
    t_start: int | None = 0,
    t_end: int | None = None,
    spatial_factor: float = 1,
    merge_polarities: bool = False,
    binary: bool = False,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Bin many event streams at once into ``[B, T, ...]`` (one ``np.bincount`` for all).

    Arguments are those of :func:`to_dense`, applied to every stream; ``n_time_bins`` is
    required so that every sample has the same ``T``. With ``t_start=None`` or
    ``t_end=None`` each stream uses its own first/last event time.

    Example:
        >>> a = make_events(x=[0, 1], t=[0, 999])
        >>> b = make_events(x=[1], t=[1000])
        >>> to_dense_batch([a, b], sensor_size=(2,), n_time_bins=2,
        ...                time_window=1000, binary=True).tolist()
        [[[1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]]
    """
    fn = "to_dense_batch"
    if n_time_bins is None:
        raise ValueError(f"{fn}: n_time_bins is required so every sample has the same length.")
    dims, n_pol, f, feat = _plan(
        fn, sensor_size, spatial_factor, merge_polarities, n_time_bins, time_window
    )
    events = list(events)
    for i, ev in enumerate(events):
        _check_events(f"{fn} (sample {i})", ev, need_y=len(dims) == 2)
    n_bins = int(n_time_bins)
    out = np.zeros((len(events), n_bins, *feat), np.dtype(dtype))
    lengths = np.asarray([len(ev) for ev in events], dtype=np.int64)
    # Chunks of about _CHUNK_EVENTS events keep the temporaries in cache.
    bounds, start, acc = [], 0, 0
    for i, n in enumerate(lengths.tolist()):
        acc += n
        if acc >= _CHUNK_EVENTS:
            bounds.append((start, i + 1))
            start, acc = i + 1, 0
    if start < len(events):
        bounds.append((start, len(events)))
    opts = (dims, n_pol, f, feat, merge_polarities, n_bins, time_window, t_start, t_end)
    for a, b in bounds:
        counts = _counts_batch(fn, events[a:b], lengths[a:b], *opts)
        out[a:b] = _finish(counts, dtype, binary)
    return out


def to_indices(
    events: np.ndarray,
    *,
    capacity: int,
    sensor_size: Sequence[int],
    n_time_bins: int,
    time_window: float | None = None,
    t_start: int | None = 0,
    t_end: int | None = None,
    spatial_factor: float = 1,
    merge_polarities: bool = False,
) -> np.ndarray:
    """Bin one event stream straight into per-step spike indices for event-driven layers.

    The same binning as :func:`to_dense` with ``binary=True``, flattened over the
    features, but returned as the indices of the active features of each time bin
    (what :func:`jaxspike.spike_indices` computes from the dense array), without
    building the dense array. Feed the result to :func:`jaxspike.event_matmul` or
    ``SpikeLinear(..., inputs="indices")``.

    Args:
        events: as for :func:`to_dense`.
        capacity: index slots per time bin ``K``.
        sensor_size: as for :func:`to_dense`.
        n_time_bins: number of time bins ``T`` (required).
        time_window: as for :func:`to_dense`.
        t_start: as for :func:`to_dense`.
        t_end: as for :func:`to_dense`.
        spatial_factor: as for :func:`to_dense`.
        merge_polarities: as for :func:`to_dense`.

    Returns:
        ``int32 [T, K]``: in each row the active flat feature indices in increasing order,
        padded with ``F`` (the number of features, ``prod`` of :func:`to_dense`'s feature
        shape).

    Raises:
        ValueError: if a time bin has more than ``capacity`` active features (nothing
            is dropped silently).

    Example:
        >>> ev = make_events(x=[0, 3, 3, 1], t=[0, 1500, 1600, 1700])
        >>> to_indices(ev, capacity=3, sensor_size=(4,), n_time_bins=2,
        ...            time_window=1000).tolist()
        [[0, 4, 4], [1, 3, 4]]
    """
    fn = "to_indices"
    if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 1:
        raise ValueError(f"{fn}: capacity must be an int >= 1, got {capacity!r}.")
    if n_time_bins is None:
        raise ValueError(f"{fn}: n_time_bins is required so every sample has the same length.")
    dims, n_pol, f, feat = _plan(
        fn, sensor_size, spatial_factor, merge_polarities, n_time_bins, time_window
    )
    feat_index, k = _bin_events(
        fn, events, dims, n_pol, f, feat, merge_polarities, n_time_bins, time_window, t_start, t_end
    )
    n_bins, n_feat = int(n_time_bins), math.prod(feat)
    keep = k >= 0
    # unique (bin, feature) pairs in increasing order: binary spikes, sorted per bin
    flat = np.unique(k[keep] * n_feat + feat_index[keep])
    rows, feats = flat // n_feat, flat % n_feat
    per_bin = np.bincount(rows, minlength=n_bins)
    if per_bin.size and per_bin.max() > capacity:
        worst = int(per_bin.argmax())
        raise ValueError(
            f"{fn}: time bin {worst} has {int(per_bin[worst])} active features, more than "
            f"capacity={capacity}; raise capacity."
        )
    first = np.concatenate([[0], np.cumsum(per_bin)[:-1]])
    slot = np.arange(flat.size) - first[rows]
    out = np.full((n_bins, int(capacity)), n_feat, np.int32)
    out[rows, slot] = feats
    return out


_CHUNK_EVENTS = 1 << 16


def _counts_batch(
    fn: str,
    events: list[np.ndarray],
    lengths: np.ndarray,
    dims: tuple[int, ...],
    n_pol: int,
    f: Fraction,
    feat: tuple[int, ...],
    merge_polarities: bool,
    n_bins: int,
    time_window: Any,
    t_start: int | None,
    t_end: int | None,
) -> np.ndarray:
    """Counts ``[B, T, *feat]`` of a few streams with one ``np.bincount``."""
    n_feat = math.prod(feat)
    candidates = ("t", "x", "y", "p") if len(dims) == 2 else ("t", "x", "p")
    names = tuple(n for n in candidates if all(n in (ev.dtype.names or ()) for ev in events))
    cols = {n: np.concatenate([ev[n] for ev in events]) for n in names}
    sample = np.repeat(np.arange(len(events), dtype=np.int64), lengths)
    t = cols["t"].astype(np.int64)
    nonempty = lengths > 0
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if t_start is None:
        first = np.zeros(len(events), np.int64)
        if t.size:
            first[nonempty] = np.minimum.reduceat(t, starts[nonempty])
        t0: Any = first[sample]
    else:
        t0 = int(t_start)
    end: Any = None
    if time_window is None:
        if t_end is None:
            last = np.ones(len(events), np.int64)
            if t.size:
                last[nonempty] = np.maximum.reduceat(t, starts[nonempty]) + 1
            end = last[sample]
        else:
            end = int(t_end)
    feat_index = _flat_index(fn, cols, dims, n_pol, f, feat, merge_polarities)
    k = _time_bins(fn, t, t0, end, n_bins, time_window)
    n_total = len(events) * n_bins * n_feat
    # Events outside [0, T) go to one extra bin that is cut off (no boolean compaction).
    flat = np.where(k >= 0, (sample * n_bins + k) * n_feat + feat_index, n_total)
    counts = np.bincount(flat, minlength=n_total + 1)[:n_total]
    return counts.reshape((len(events), n_bins, *feat))


def packed_length(n_steps: int) -> int:
    """Number of bytes that hold ``n_steps`` bit-packed time steps: ``ceil(n_steps / 8)``."""
    return -(-int(n_steps) // 8)


def pack_spikes(spikes: Any, *, time_axis: int) -> Any:
    """Pack binary spikes 8 time steps per byte along ``time_axis`` (big-endian bits).

    NumPy input is packed on the host (``np.packbits``), JAX input on its device. The
    last byte is zero-padded when the number of steps is not a multiple of 8; keep the
    step count to unpack.

    Args:
        spikes: array of 0/1 values (bool, int or float), time on ``time_axis``.
        time_axis: the axis to pack.

    Returns:
        ``uint8`` array with ``ceil(T / 8)`` entries on ``time_axis``.

    Raises:
        ValueError: if a concrete input holds values other than 0 and 1.

    Example:
        >>> import numpy as np
        >>> pack_spikes(np.array([1, 0, 0, 0, 0, 0, 0, 1, 1]), time_axis=0).tolist()
        [129, 128]
    """
    fn = "pack_spikes"
    is_jax = isinstance(spikes, jax.Array)
    xp = jnp if is_jax else np
    if not is_jax:
        spikes = np.asarray(spikes)
    ndim = spikes.ndim
    if not -ndim <= time_axis < ndim:
        raise ValueError(f"{fn}: time_axis {time_axis} is out of range for shape {spikes.shape}.")
    if is_concrete(spikes):
        arr = np.asarray(spikes)
        if arr.dtype != np.bool_ and arr.size and not np.isin(arr, (0, 1)).all():
            raise ValueError(
                f"{fn}: spikes must hold only 0 and 1, got values up to {arr.max()}; "
                "use binary=True in to_dense or clip the counts first."
            )
    return xp.packbits(spikes.astype(xp.uint8), axis=time_axis)


def unpack_spikes(packed: Any, *, time_axis: int, n_steps: int, dtype: Any = jnp.float32) -> Any:
    """Inverse of :func:`pack_spikes`; works inside :func:`jax.jit` (``n_steps`` static).

    Args:
        packed: ``uint8`` array from :func:`pack_spikes`.
        time_axis: the packed axis.
        n_steps: the number of time steps before packing.
        dtype: dtype of the returned spikes.

    Returns:
        A JAX array with ``n_steps`` entries on ``time_axis``.

    Example:
        >>> import jax, numpy as np
        >>> packed = np.array([129, 128], np.uint8)
        >>> f = jax.jit(lambda a: unpack_spikes(a, time_axis=0, n_steps=9))
        >>> f(packed).tolist()
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    """
    fn = "unpack_spikes"
    packed = jnp.asarray(packed)
    if packed.dtype != jnp.uint8:
        raise TypeError(f"{fn}: packed must be uint8 (from pack_spikes), got {packed.dtype}.")
    ndim = packed.ndim
    if not -ndim <= time_axis < ndim:
        raise ValueError(f"{fn}: time_axis {time_axis} is out of range for shape {packed.shape}.")
    n_bytes = packed.shape[time_axis]
    if packed_length(n_steps) != n_bytes:
        raise ValueError(
            f"{fn}: n_steps={n_steps} needs {packed_length(n_steps)} bytes on time_axis, "
            f"but packed has {n_bytes} (shape {packed.shape})."
        )
    return jnp.unpackbits(packed, axis=time_axis, count=int(n_steps)).astype(dtype)
