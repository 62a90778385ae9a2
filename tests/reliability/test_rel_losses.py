"""Reliability, category *losses/readouts/encoders* (issue 16, items 3, 9, 10)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspike import encoding, losses, readout, regularizers

LOGITS = jnp.asarray([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])


def _numpy_ce(logits, labels):
    z = np.asarray(logits, np.float64)
    logp = z - z.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    return -np.mean(logp[np.arange(len(labels)), labels])


def test_out_of_range_labels_under_jit_give_nan_loss():
    # issue: jax.jit(cross_entropy)(logits, [7, 9]) on 3 classes returned -0.0
    assert np.isnan(float(jax.jit(losses.cross_entropy)(LOGITS, jnp.asarray([7, 9]))))
    assert np.isnan(float(jax.jit(losses.cross_entropy)(LOGITS, jnp.asarray([0, -1]))))


def test_out_of_range_labels_under_jit_give_nan_weight_gradient():
    x = jnp.asarray([[1.0, 0.0], [0.5, 2.0]])

    def loss(w, labels):
        return losses.cross_entropy(x @ w, labels)

    w = jnp.ones((2, 3))
    g = jax.jit(jax.grad(loss))(w, jnp.asarray([1, 3]))
    assert np.isnan(np.asarray(g)).all()  # an optimizer step would not go unnoticed
    assert np.isfinite(np.asarray(jax.jit(jax.grad(loss))(w, jnp.asarray([1, 2])))).all()


def test_valid_labels_under_jit_match_numpy():
    got = float(jax.jit(losses.cross_entropy)(LOGITS, jnp.asarray([1, 2])))
    assert got == pytest.approx(_numpy_ce(LOGITS, [1, 2]), rel=1e-6)


def test_out_of_range_labels_eager_raise():
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: labels must lie in \[0, 3\), got values "
        r"in \[7, 9\]",
    ):
        losses.cross_entropy(LOGITS, jnp.asarray([7, 9]))


@pytest.mark.parametrize(
    "fn",
    [
        losses.accuracy_count,
        losses.accuracy_max_membrane,
        losses.accuracy_first_spike,
        losses.ce_count,
        losses.ce_max_membrane,
        losses.ce_first_spike,
    ],
    ids=lambda f: f.__name__,
)
def test_readout_losses_and_accuracies_under_jit(fn):
    spikes = jnp.zeros((4, 2, 3)).at[:, :, 1].set(1.0)
    bad = jax.jit(lambda s, y: fn(s, y, time_axis=0))(spikes, jnp.asarray([1, 5]))
    good = jax.jit(lambda s, y: fn(s, y, time_axis=0))(spikes, jnp.asarray([1, 1]))
    assert np.isnan(float(bad)) and np.isfinite(float(good))


def test_mse_with_integer_targets_under_jit():
    spikes = jnp.zeros((4, 2, 3))
    out = jax.jit(lambda s, y: losses.mse_rate(s, y, time_axis=0))(spikes, jnp.asarray([0, 3]))
    assert np.isnan(float(out))


@pytest.mark.parametrize(
    "call",
    [
        lambda: losses.cross_entropy(jnp.zeros((0, 3)), jnp.zeros((0,), jnp.int32)),
        lambda: losses.accuracy_count(
            jnp.zeros((5, 0, 3)), jnp.zeros((0,), jnp.int32), time_axis=0
        ),
        lambda: losses.ce_count(jnp.zeros((5, 0, 3)), jnp.zeros((0,), jnp.int32), time_axis=0),
        lambda: losses.mse_rate(jnp.zeros((5, 0, 3)), jnp.zeros((0,), jnp.int32), time_axis=0),
    ],
    ids=["cross_entropy", "accuracy_count", "ce_count", "mse_rate_labels"],
)
def test_empty_batch_is_an_error(call):
    with pytest.raises(ValueError, match=r"the batch is empty \(labels has shape \(0,\)\)"):
        call()


def test_empty_batch_with_float_targets():
    with pytest.raises(ValueError, match=r"mse_rate: the batch is empty"):
        losses.mse_rate(jnp.zeros((5, 0, 3)), jnp.zeros((0, 3)), time_axis=0)
    with pytest.raises(ValueError, match=r"mse_membrane: v is empty"):
        losses.mse_membrane(jnp.zeros((5, 0, 3)), jnp.zeros((0, 3)), time_axis=0)


@pytest.mark.parametrize(
    "fn",
    [
        readout.spike_rate,
        readout.final_membrane,
        readout.max_membrane,
        readout.spike_count,
        readout.first_spike_time,
        readout.membrane_integral,
    ],
    ids=lambda f: f.__name__,
)
def test_zero_time_steps_is_an_error(fn):
    with pytest.raises(ValueError, match=fn.__name__ + r": \w+ has 0 time steps \(shape \(0, 3\)"):
        fn(jnp.zeros((0, 3)), time_axis=0)


def test_rate_regularizer_zero_time_steps():
    with pytest.raises(ValueError, match=r"has 0 time steps"):
        regularizers.rate_upper_bound(jnp.zeros((0, 2, 3)), time_axis=0, batch_axis=1, max_rate=0.5)


def test_first_spike_time_of_graded_spikes():
    s = np.asarray([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, 3.0, 0.0]], np.float32)
    # reference: index of the first nonzero entry, T for a silent neuron
    ref = [np.flatnonzero(s[:, j])[0] if s[:, j].any() else len(s) for j in range(3)]
    assert readout.first_spike_time(jnp.asarray(s), time_axis=0).tolist() == ref


@pytest.mark.parametrize("x", [np.inf, 1e30], ids=["inf", "1e30"])
def test_poisson_counts_out_of_range_raise(x):
    with pytest.raises(
        ValueError,
        match=r"poisson: with binary=False the mean count gain \* x \* "
        r"dt must be finite and <= 1e\+09",
    ):
        encoding.poisson(jax.random.key(0), jnp.asarray([x]), 3, time_axis=0, binary=False)


def test_poisson_counts_out_of_range_under_jit_are_nan():
    f = jax.jit(lambda x: encoding.poisson(jax.random.key(0), x, 2, time_axis=0, binary=False))
    out = np.asarray(f(jnp.asarray([np.inf, 1e30, 0.0])))
    assert np.isnan(out[:, :2]).all() and (out[:, 2] == 0).all()


def test_poisson_nan_intensity_raises():
    with pytest.raises(ValueError, match=r"poisson: x holds NaN"):
        encoding.poisson(jax.random.key(0), jnp.asarray([np.nan]), 3, time_axis=0)


def test_poisson_large_valid_mean_is_close_to_the_mean():
    lam = 1e6  # mean and variance 1e6: 6 sigma = 6e3
    out = encoding.poisson(jax.random.key(1), jnp.asarray([lam]), 4, time_axis=0, binary=False)
    assert np.all(np.abs(np.asarray(out) - lam) < 6e3)
