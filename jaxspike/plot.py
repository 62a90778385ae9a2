r"""Plots of spiking activity (needs matplotlib: ``pip install jaxspike[plot]``).

matplotlib is imported inside each function, never when this module is imported.
Every function draws on ``ax`` when given (and returns its figure) or on a new
``pyplot`` figure, and returns the :class:`matplotlib.figure.Figure`; nothing is shown,
so the functions work headless (e.g. with the ``Agg`` backend). Arrays may be JAX or
NumPy arrays; time is chosen with the keyword-only ``time_axis``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxspike import readout

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "membrane",
    "raster",
    "rate_histogram",
    "transfer_counts",
    "transfer_curve",
]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "jaxspike.plot needs matplotlib; install it with `pip install jaxspike[plot]`."
        ) from err
    return plt


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is None:
        return _pyplot().subplots()
    _pyplot()
    return ax.figure, ax  # type: ignore[return-value]


def _time_major_2d(fn: str, x: Any, time_axis: int, name: str) -> np.ndarray:
    """``x`` as a NumPy array ``[T, N]``: time first, every other axis flattened."""
    arr = np.asarray(x)
    if arr.ndim == 0:
        raise ValueError(f"{fn}: {name} needs a time axis, got a scalar.")
    if not isinstance(time_axis, int) or isinstance(time_axis, bool):
        raise TypeError(f"{fn}: time_axis must be an int, got {time_axis!r}.")
    if not -arr.ndim <= time_axis < arr.ndim:
        raise ValueError(
            f"{fn}: time_axis={time_axis} is out of range for {name} of shape {arr.shape}."
        )
    axis = time_axis % arr.ndim
    arr = np.moveaxis(arr, axis, 0)
    return arr.reshape(arr.shape[0], -1)


def raster(
    spikes: Any,
    *,
    time_axis: int,
    dt: float = 1.0,
    ax: Axes | None = None,
    **scatter_kwargs: Any,
) -> Figure:
    """Spike raster: a tick at ``(t * dt, n)`` for every spike of neuron ``n`` at step ``t``.

    Args:
        spikes: spike train with a time axis; every other axis is flattened (C order)
            into the neuron index.
        time_axis: the time axis of ``spikes``.
        dt: duration of one step (the x axis is ``t * dt``).
        ax: axes to draw on (default: a new figure).
        **scatter_kwargs: passed to :meth:`matplotlib.axes.Axes.scatter`.

    Returns:
        The figure. The spikes are its first :class:`~matplotlib.collections.PathCollection`,
        whose offsets are the ``(time, neuron)`` pairs.

    Example:
        >>> import numpy as np
        >>> fig = raster(np.eye(3), time_axis=0)
        >>> fig.axes[0].collections[0].get_offsets().tolist()
        [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
    """
    fn = "raster"
    s = _time_major_2d(fn, spikes, time_axis, "spikes")
    t, n = np.nonzero(s)
    fig, axes = _axes(ax)
    kwargs = {"marker": "|", "s": 40, "color": "k", "linewidths": 1.0, **scatter_kwargs}
    axes.scatter(t * dt, n, **kwargs)
    axes.set_xlim(-0.5 * dt, (s.shape[0] - 0.5) * dt)
    axes.set_ylim(-0.5, s.shape[1] - 0.5)
    axes.set_xlabel("time" if dt == 1.0 else "time (t * dt)")
    axes.set_ylabel("neuron")
    return fig


def membrane(
    v: Any,
    *,
    time_axis: int,
    v_th: float | None = None,
    spikes: Any = None,
    dt: float = 1.0,
    ax: Axes | None = None,
) -> Figure:
    """Membrane trace(s), with the threshold as a dashed line and spikes as markers.

    Args:
        v: membrane with a time axis; one line per neuron (other axes flattened).
        time_axis: the time axis of ``v`` (and of ``spikes``).
        v_th: threshold, drawn as a horizontal dashed line when given.
        spikes: spikes of ``v``'s shape; each spike is marked at ``(t * dt, y)`` with
            ``y = v_th`` when given, else the membrane value at that step.
        dt: duration of one step.
        ax: axes to draw on (default: a new figure).

    Returns:
        The figure. ``ax.lines`` holds one trace per neuron (in order), then the
        threshold line; the spike markers are ``ax.collections[0]``.

    Example:
        >>> import numpy as np
        >>> fig = membrane(np.array([0.0, 0.6, 1.2, 0.2]), time_axis=0, v_th=1.0,
        ...                spikes=np.array([0.0, 0.0, 1.0, 0.0]))
        >>> fig.axes[0].collections[0].get_offsets().tolist()
        [[2.0, 1.0]]
    """
    fn = "membrane"
    trace = _time_major_2d(fn, v, time_axis, "v")
    fig, axes = _axes(ax)
    t = np.arange(trace.shape[0]) * dt
    for n in range(trace.shape[1]):
        axes.plot(t, trace[:, n], lw=1.2, label=f"v[{n}]" if trace.shape[1] > 1 else "v")
    if v_th is not None:
        axes.axhline(v_th, ls="--", color="0.4", lw=1.0, label="threshold")
    if spikes is not None:
        s = _time_major_2d(fn, spikes, time_axis, "spikes")
        if s.shape != trace.shape:
            raise ValueError(
                f"{fn}: spikes has shape {np.shape(spikes)} but v has shape {np.shape(v)}."
            )
        ts, ns = np.nonzero(s)
        ys = np.full(ts.shape, v_th, dtype=float) if v_th is not None else trace[ts, ns]
        axes.scatter(ts * dt, ys, marker="v", color="C3", zorder=3, label="spike")
    axes.set_xlabel("time" if dt == 1.0 else "time (t * dt)")
    axes.set_ylabel("membrane v")
    return fig


def rate_histogram(
    spikes: Any,
    *,
    time_axis: int,
    bins: Any = 20,
    dt: float = 1.0,
    ax: Axes | None = None,
) -> Figure:
    """Histogram of per-neuron firing rates (:func:`jaxspike.readout.spike_rate`).

    Args:
        spikes: spike train with a time axis; every other axis is a neuron.
        time_axis: the time axis of ``spikes``.
        bins: passed to :meth:`matplotlib.axes.Axes.hist`.
        dt: duration of one step (rates are per ``dt``; 1: spikes per step).
        ax: axes to draw on (default: a new figure).

    Returns:
        The figure; the bars are ``ax.patches``, their heights the neuron counts.

    Example:
        >>> import numpy as np
        >>> fig = rate_histogram(np.array([[1.0, 0.0], [1.0, 0.0]]), time_axis=0, bins=[0, 0.5, 1])
        >>> [float(p.get_height()) for p in fig.axes[0].patches]
        [1.0, 1.0]
    """
    fn = "rate_histogram"
    s = _time_major_2d(fn, spikes, time_axis, "spikes")
    rates = s.sum(axis=0) / (s.shape[0] * dt)
    fig, axes = _axes(ax)
    axes.hist(rates, bins=bins, color="C0", edgecolor="white")
    axes.set_xlabel("firing rate (spikes per step)" if dt == 1.0 else "firing rate (1 / dt)")
    axes.set_ylabel("neurons")
    return fig


def transfer_counts(
    step: Callable[[Any, Any], tuple[Any, Any]],
    state: Any,
    currents: Any,
    *,
    num_steps: int,
) -> jax.Array:
    r"""Spike count of a neuron driven by each constant current for ``num_steps`` steps.

    .. math:: n(I) = \sum_{t=0}^{T-1} s_t \quad \text{with } x_t = I.

    Neurons are elementwise, so the currents are simulated side by side as a vector of
    independent neurons in one :func:`jaxspike.unroll`.

    Args:
        step: ``step(state, x) -> (state, spikes)``, e.g.
            ``functools.partial(jaxspike.if_step, params)``.
        state: initial state with the shape of ``currents``.
        currents: 1-D array of input currents.
        num_steps: number of steps ``T``.

    Returns:
        Counts of shape ``currents.shape``.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> p = js.IFParams()
        >>> I = jnp.array([-0.5, 0.0, 0.25, 0.5])
        >>> transfer_counts(functools.partial(js.if_step, p), js.if_init(p, I.shape), I,
        ...                 num_steps=8).tolist()
        [0.0, 0.0, 2.0, 4.0]
    """
    from jaxspike import unroll

    currents = jnp.asarray(currents)
    if currents.ndim != 1:
        raise ValueError(f"transfer_counts: currents must be 1-D, got shape {currents.shape}.")
    xs = jnp.broadcast_to(currents[None, :], (num_steps, currents.shape[0]))
    _, spikes = unroll(step, state, xs)
    return readout.spike_count(spikes, time_axis=0)


def transfer_curve(
    step: Callable[[Any, Any], tuple[Any, Any]],
    state: Any,
    currents: Any,
    *,
    num_steps: int,
    ax: Axes | None = None,
    **plot_kwargs: Any,
) -> Figure:
    r"""Input-current-to-spike-count transfer curve: a neuron's "activation function".

    Plots :func:`transfer_counts` against the currents. For an integrate-and-fire
    neuron with subtractive reset the curve is :math:`\lfloor T I / v_{th} \rfloor`
    for :math:`I \ge 0` and 0 below: a staircase ReLU.

    Args:
        step: ``step(state, x) -> (state, spikes)``.
        state: initial state with the shape of ``currents``.
        currents: 1-D array of input currents.
        num_steps: number of steps ``T``.
        ax: axes to draw on (default: a new figure).
        **plot_kwargs: passed to :meth:`matplotlib.axes.Axes.plot`.

    Returns:
        The figure; ``ax.lines[0]`` holds ``(currents, counts)``.

    Example:
        >>> import functools, jax.numpy as jnp, jaxspike as js
        >>> p = js.IFParams()
        >>> I = jnp.array([-0.5, 0.0, 0.5])
        >>> fig = transfer_curve(functools.partial(js.if_step, p), js.if_init(p, I.shape), I,
        ...                      num_steps=4)
        >>> fig.axes[0].lines[0].get_ydata().tolist()
        [0.0, 0.0, 2.0]
    """
    counts = transfer_counts(step, state, currents, num_steps=num_steps)
    fig, axes = _axes(ax)
    axes.plot(np.asarray(currents), np.asarray(counts), **{"marker": ".", **plot_kwargs})
    axes.set_xlabel("input current")
    axes.set_ylabel(f"spike count in {num_steps} steps")
    return fig
