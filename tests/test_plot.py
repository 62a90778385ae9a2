"""Plots draw the right data (checked on the artists), headless with the Agg backend."""

import functools
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import jaxspike as js
from jaxspike import plot


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_import_does_not_import_matplotlib():
    code = "import sys, jaxspike, jaxspike.plot; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install jaxspike\[plot\]"):
        plot.raster(np.eye(2), time_axis=0)


def test_raster_offsets_are_spike_times_and_neurons():
    rng = np.random.default_rng(0)
    s = (rng.random((2, 10, 3)) < 0.3).astype(np.float32)  # [B, T, N] -> neurons b * 3 + n
    fig = plot.raster(jnp.asarray(s), time_axis=1, dt=0.5)
    assert isinstance(fig, matplotlib.figure.Figure)
    offsets = fig.axes[0].collections[0].get_offsets()
    b, t, n = np.nonzero(s)
    expected = sorted(zip((t * 0.5).tolist(), (b * 3 + n).tolist(), strict=True))
    assert sorted(map(tuple, np.asarray(offsets).tolist())) == expected
    assert len(expected) > 0


def test_raster_draws_on_given_axes():
    fig, ax = plt.subplots(1, 2)
    out = plot.raster(np.eye(3), time_axis=0, ax=ax[1])
    assert out is fig
    assert len(ax[1].collections) == 1 and len(ax[0].collections) == 0


def test_membrane_traces_threshold_and_spike_markers():
    v = np.array([[0.0, 0.5], [0.6, 0.9], [1.2, 0.1], [0.2, 1.4]], np.float32)  # [T, N]
    s = (v >= 1.0).astype(np.float32)
    fig = plot.membrane(v, time_axis=0, v_th=1.0, spikes=s, dt=2.0)
    ax = fig.axes[0]
    for n in range(2):
        np.testing.assert_array_equal(ax.lines[n].get_xdata(), [0.0, 2.0, 4.0, 6.0])
        np.testing.assert_array_equal(ax.lines[n].get_ydata(), v[:, n])
    assert list(ax.lines[2].get_ydata()) == [1.0, 1.0]  # the threshold line
    assert sorted(np.asarray(ax.collections[0].get_offsets()).tolist()) == [[4.0, 1.0], [6.0, 1.0]]
    # without a threshold the markers sit on the trace
    fig = plot.membrane(v, time_axis=0, spikes=s)
    assert sorted(np.asarray(fig.axes[0].collections[0].get_offsets()).tolist()) == [
        [2.0, pytest.approx(1.2)],
        [3.0, pytest.approx(1.4)],
    ]
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="spikes has shape"):
        plot.membrane(v, time_axis=0, spikes=s[:2])


def test_rate_histogram_heights():
    rng = np.random.default_rng(1)
    s = (rng.random((50, 40)) < rng.random(40)).astype(np.float32)  # [T, N]
    bins = np.linspace(0, 1, 6)
    fig = plot.rate_histogram(s, time_axis=0, bins=bins)
    heights = [p.get_height() for p in fig.axes[0].patches]
    expected, _ = np.histogram(s.mean(0), bins=bins)
    np.testing.assert_array_equal(heights, expected)
    assert sum(heights) == 40


def test_transfer_curve_is_staircase_relu_for_if_neuron():
    # the sinabs tutorial: an IF neuron's spike count vs constant current looks like a ReLU.
    # Subtractive reset, v_th = 1: after T steps the neuron has fired floor(T I) times
    # (I in [0, 1]); negative currents never fire. Currents k / 16 keep sums exact.
    p = js.IFParams.create()
    currents = jnp.arange(-8, 17) / 16.0
    T = 50
    fig = plot.transfer_curve(
        functools.partial(js.if_step, p), js.if_init(p, currents.shape), currents, num_steps=T
    )
    line = fig.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), np.asarray(currents))
    expected = np.floor(T * np.maximum(np.arange(-8, 17) / 16.0, 0))
    np.testing.assert_array_equal(line.get_ydata(), expected)


def test_plot_errors():
    with pytest.raises(ValueError, match="time_axis=2 is out of range"):
        plot.raster(np.eye(2), time_axis=2)
    with pytest.raises(ValueError, match="needs a time axis"):
        plot.rate_histogram(np.float32(1.0), time_axis=0)
    with pytest.raises(ValueError, match="1-D"):
        plot.transfer_counts(lambda s, x: (s, x), None, jnp.ones((2, 2)), num_steps=3)
