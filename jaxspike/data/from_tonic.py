r"""tonic's binning and collation rules, computed with jaxspike (tonic itself is optional).

tonic (Lenz et al., 2021) is how most users load SHD, N-MNIST or DVS Gesture. Its events
are structured arrays with the fields jaxspike reads (``x``, ``y``, ``t``, ``p``), so
:func:`jaxspike.data.events.to_dense` accepts them unchanged, including after tonic's
``Denoise`` or ``Downsample``. Two rules differ by default:

* **Time windows.** tonic's ``ToFrame(time_window=w)`` starts the first window at the
  first event and keeps only complete windows
  (:math:`T = \lfloor (t_{last} - t_{first} - w) / w \rfloor + 1`); ``to_dense`` starts
  at ``t_start=0`` and keeps the last, partial window. ``ToFrame(n_time_bins=T)`` uses
  the integer width :math:`w = \lfloor (t_{last} - t_{first}) / T \rfloor` from the
  first event (events after :math:`T w` are dropped); ``to_dense`` splits
  :math:`[0, t_{last} + 1)` into :math:`T` bins. :func:`to_frame` applies tonic's rule.
* **SHD spike times.** tonic truncates ``times * 1e6`` to integer microseconds;
  :func:`jaxspike.data.readers.read_shd` rounds unless ``time_rounding="truncate"``.

:func:`pad_batch` is tonic's ``PadTensors`` collation (zero-pad every sample to the
longest along time, then stack) without PyTorch, giving JAX arrays.

Reference:
    G. Lenz, K. Chaney, S. B. Shrestha, et al. Tonic: event-based datasets and
    transformations. Zenodo, 2021. doi:10.5281/zenodo.5079802.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxspike.data.events import to_dense

__all__ = [
    "to_frame",
    "pad_batch",
]


def to_frame(
    events: np.ndarray,
    *,
    sensor_size: Sequence[int],
    time_window: int | None = None,
    n_time_bins: int | None = None,
    merge_polarities: bool = False,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Bin events with the rule of tonic's ``ToFrame`` (see the module docstring).

    Args:
        events: structured array sorted by ``t`` (any event stream tonic or jaxspike
            gives), with at least one event.
        sensor_size: tonic's ``(W, H, P)``, or ``(N,)`` / ``(N, 1, 1)`` for audio.
        time_window: window width in microseconds (complete windows from the first event).
        n_time_bins: number of windows of the integer width
            ``(t_last - t_first) // n_time_bins`` from the first event.
        merge_polarities: sum the polarities into one channel.
        dtype: output dtype.

    Returns:
        jaxspike's layout: ``[T, C, H, W]`` for 2-D sensors, ``[T, N]`` for 1-D ones
        (tonic's ``ToFrame`` gives ``[T, P, N]`` for the latter).

    Raises:
        ValueError: unless exactly one of ``time_window`` and ``n_time_bins`` is given,
            or when ``events`` is empty.

    Example:
        >>> from jaxspike.data.events import make_events
        >>> ev = make_events(x=[0, 1, 1, 2], t=[100, 1099, 1100, 2500])
        >>> to_frame(ev, sensor_size=(3,), time_window=1000).tolist()
        [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """
    fn = "to_frame"
    if (time_window is None) == (n_time_bins is None):
        raise ValueError(
            f"{fn}: give exactly one of time_window and n_time_bins, got "
            f"time_window={time_window!r}, n_time_bins={n_time_bins!r}."
        )
    t = np.asarray(events["t"], np.int64)
    if t.size == 0:
        raise ValueError(f"{fn}: events is empty; tonic's ToFrame needs at least one event.")
    first, span = int(t[0]), int(t[-1] - t[0])
    if time_window is not None:
        n = max(int(np.floor((span - time_window) / time_window)) + 1, 1)
        width: Any = time_window
    else:
        n, width = int(n_time_bins), span // int(n_time_bins)  # type: ignore[arg-type]
        if width == 0:
            raise ValueError(
                f"{fn}: the events span {span} us, less than one microsecond per bin for "
                f"n_time_bins={n}."
            )
    return to_dense(
        events,
        sensor_size=sensor_size,
        time_window=width,
        n_time_bins=n,
        t_start=first,
        merge_polarities=merge_polarities,
        dtype=dtype,
    )


def pad_batch(batch: Sequence[tuple[Any, Any]], *, batch_first: bool = True) -> tuple[Any, Any]:
    """Collate ``(frames, target)`` pairs as tonic's ``PadTensors``, into JAX arrays.

    Every ``frames[T_i, ...]`` is zero-padded at the end to the longest ``T`` and the
    samples are stacked: ``[B, T, ...]`` (``batch_first``, jaxspike's default layout) or
    ``[T, B, ...]`` (for ``time_major=True`` layers).

    Raises:
        ValueError: for an empty batch or samples whose trailing shapes differ.

    Example:
        >>> x, y = pad_batch([(np.ones((2, 3)), 0), (np.ones((4, 3)), 1)])
        >>> x.shape, x[0, :, 0].tolist(), y.tolist()
        ((2, 4, 3), [1.0, 1.0, 0.0, 0.0], [0, 1])
    """
    fn = "pad_batch"
    if not batch:
        raise ValueError(f"{fn}: batch is empty.")
    samples = [np.asarray(s) for s, _ in batch]
    tails = {s.shape[1:] for s in samples}
    if len(tails) != 1 or any(s.ndim < 1 for s in samples):
        raise ValueError(
            f"{fn}: every sample must be [T, ...] with the same trailing shape, got shapes "
            f"{[s.shape for s in samples]}."
        )
    longest = max(s.shape[0] for s in samples)
    padded = np.stack(
        [np.pad(s, [(0, longest - s.shape[0])] + [(0, 0)] * (s.ndim - 1)) for s in samples]
    )
    targets = jnp.asarray(np.asarray([t for _, t in batch]))
    x = jnp.asarray(padded)
    return (x if batch_first else jnp.swapaxes(x, 0, 1)), targets
