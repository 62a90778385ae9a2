"""Encoders: statistics of random codes, formulas of deterministic ones, shapes, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxspike import encoding, readout

# ---------------------------------------------------------------- rate (Bernoulli)


def test_rate_mean_matches_intensity_within_confidence_bound():
    p = np.array([0.05, 0.3, 0.5, 0.9])
    n_neurons, T = 400, 100
    x = jnp.asarray(np.repeat(p[:, None], n_neurons, axis=1), jnp.float32)  # [4, 400]
    s = np.asarray(encoding.rate(jax.random.key(1), x, T, time_axis=0))
    assert s.shape == (T, 4, n_neurons)
    n = T * n_neurons
    mean = s.mean(axis=(0, 2))
    bound = 5.0 * np.sqrt(p * (1 - p) / n)  # 5 sigma of a binomial proportion
    np.testing.assert_array_less(np.abs(mean - p), bound)
    # independence over time: counts are Binomial(T, p), variance T p (1 - p)
    counts = s.sum(axis=0)
    var = counts.var(axis=1, ddof=1)
    expected = T * p * (1 - p)
    # the sample variance of 400 draws has relative s.d. about sqrt(2 / 399) ~ 7%
    np.testing.assert_allclose(var, expected, rtol=0.35)


def test_rate_output_contract():
    x = jnp.array([[0.2, -1.0, 3.0]])  # [B=1, N=3]
    s = encoding.rate(jax.random.key(0), x, 7, time_axis=1)
    assert s.shape == (1, 7, 3)
    assert s.dtype == jnp.float32
    assert set(np.unique(np.asarray(s)).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.asarray(s[0, :, 1]), 0.0)  # clipped to p = 0
    np.testing.assert_array_equal(np.asarray(s[0, :, 2]), 1.0)  # clipped to p = 1
    assert encoding.rate(jax.random.key(0), x, 7, time_axis=-1).shape == (1, 3, 7)


def test_rate_gain_and_keys():
    x = jnp.full((2000,), 0.25)
    s = encoding.rate(jax.random.key(3), x, 10, time_axis=0, gain=2.0)
    assert abs(float(s.mean()) - 0.5) < 5 * math.sqrt(0.25 / 20000)
    a = encoding.rate(jax.random.key(3), x, 10, time_axis=0)
    b = encoding.rate(jax.random.key(3), x, 10, time_axis=0)
    c = encoding.rate(jax.random.key(4), x, 10, time_axis=0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rate_jit_equals_eager():
    x = jnp.linspace(0, 1, 6)
    f = jax.jit(lambda k, x: encoding.rate(k, x, 5, time_axis=0))
    np.testing.assert_array_equal(
        f(jax.random.key(2), x), encoding.rate(jax.random.key(2), x, 5, time_axis=0)
    )


# ---------------------------------------------------------------- poisson


def test_poisson_binary_probability_is_one_minus_exp():
    lam = np.array([0.1, 0.5, 2.0])
    n = 60000
    x = jnp.asarray(np.repeat(lam[:, None], n // 20, axis=1), jnp.float32)
    s = np.asarray(encoding.poisson(jax.random.key(5), x, 20, time_axis=0))
    p = 1 - np.exp(-lam)
    mean = s.mean(axis=(0, 2))
    np.testing.assert_array_less(np.abs(mean - p), 5 * np.sqrt(p * (1 - p) / n))
    assert s.max() == 1.0


def test_poisson_counts_mean_and_variance():
    gain, dt = 4.0, 0.5  # lambda = x * gain * dt
    x = jnp.full((3000,), 0.75)
    n = np.asarray(
        encoding.poisson(jax.random.key(6), x, 10, time_axis=0, gain=gain, dt=dt, binary=False)
    )
    lam = 0.75 * gain * dt
    assert abs(n.mean() - lam) < 5 * math.sqrt(lam / n.size)
    assert abs(n.var() / lam - 1) < 0.05
    assert np.all(n == np.round(n))


def test_poisson_negative_is_silent():
    s = encoding.poisson(jax.random.key(0), -jnp.ones((4,)), 9, time_axis=1)
    assert s.shape == (4, 9)
    assert float(s.sum()) == 0.0


# ---------------------------------------------------------------- latency


def _np_latency_steps(x, T, method, tau, theta):
    """Independent re-implementation of the documented formula."""
    xc = np.clip(np.asarray(x, np.float64), 0, 1)
    out = np.full(xc.shape, T, dtype=np.int64)
    for idx, v in np.ndenumerate(xc):
        if v <= theta:
            continue
        t = tau * (1 - v) if method == "linear" else tau * math.log(v / (v - theta))
        k = math.floor(t + 0.5)
        if k < T:
            out[idx] = k
    return out


@pytest.mark.parametrize("method", ["linear", "log"])
@pytest.mark.parametrize("tau", [None, 3.0])
def test_latency_spike_times_match_formula(method, tau):
    T = 12
    x = np.array([0.0, 0.005, 0.01, 0.02, 0.05, 0.13, 0.3, 0.5, 0.77, 0.9, 1.0, 1.7, -0.4])
    s = np.asarray(encoding.latency(x, T, time_axis=0, method=method, tau=tau))
    assert s.shape == (T, x.size)
    assert np.all(s.sum(axis=0) <= 1)  # at most one spike per input
    tau_ = T - 1 if tau is None else tau
    expected = _np_latency_steps(x.astype(np.float32), T, method, tau_, 0.01)
    got = np.where(s.any(axis=0), s.argmax(axis=0), T)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(encoding.latency_times(x, T, method=method, tau=tau), expected)


def test_latency_linear_known_values():
    # tau = T - 1 = 4: x = 1 at 0, x = 0.5 at 2, x = 0.25 at 3, threshold-silent at 0.01
    k = encoding.latency_times(jnp.array([1.0, 0.5, 0.25, 0.01, 0.0]), 5)
    assert k.tolist() == [0, 2, 3, 5, 5]


def test_latency_log_known_value():
    # RC charging: t = tau ln(x / (x - theta)); x = 0.4, theta = 0.2 -> tau ln 2
    k = encoding.latency_times(jnp.array([0.4]), 20, method="log", tau=10.0, threshold=0.2)
    assert k.tolist() == [round(10 * math.log(2))]


def test_latency_threshold_silences():
    s = encoding.latency(jnp.array([0.3, 0.31]), 10, time_axis=0, threshold=0.3)
    assert s[:, 0].sum() == 0 and s[:, 1].sum() == 1


def test_latency_time_axis_and_first_spike_readout_agree():
    x = jax.random.uniform(jax.random.key(0), (3, 4))
    for axis in (0, 1, 2, -1):
        s = encoding.latency(x, 9, time_axis=axis)
        assert s.shape[axis] == 9
        np.testing.assert_array_equal(
            readout.first_spike_time(s, time_axis=axis), encoding.latency_times(x, 9)
        )


# ---------------------------------------------------------------- direct


def test_direct_repeats_input():
    x = jnp.array([[0.5, -2.0]], jnp.bfloat16)
    out = encoding.direct(x, 4, time_axis=1)
    assert out.shape == (1, 4, 2) and out.dtype == jnp.bfloat16
    for t in range(4):
        np.testing.assert_array_equal(out[:, t], x)


# ---------------------------------------------------------------- delta


def test_delta_matches_numpy_on_off():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 30, 3)).cumsum(axis=1).astype(np.float32)  # [B, T, N]
    theta = 0.5
    out = np.asarray(encoding.delta(x, time_axis=1, threshold=theta))
    assert out.shape == (2, 30, 3, 2)
    d = np.zeros_like(x)
    d[:, 1:] = x[:, 1:] - x[:, :-1]
    np.testing.assert_array_equal(out[..., 0], (d >= theta).astype(np.float32))
    np.testing.assert_array_equal(out[..., 1], (d <= -theta).astype(np.float32))
    signed = np.asarray(encoding.delta(x, time_axis=1, threshold=theta, channels="signed"))
    np.testing.assert_array_equal(signed, out[..., 0] - out[..., 1])
    on = encoding.delta(x, time_axis=1, threshold=theta, channels="on")
    np.testing.assert_array_equal(on, out[..., 0])


def test_delta_initial_zero_fires_on_onset():
    x = jnp.array([1.0, 1.0, 0.0])
    assert encoding.delta(x, time_axis=0, channels="signed").tolist() == [0.0, 0.0, -1.0]
    got = encoding.delta(x, time_axis=0, channels="signed", initial="zero")
    assert got.tolist() == [1.0, 0.0, -1.0]


# ---------------------------------------------------------------- population


def test_population_gaussian_fields():
    x = np.array([[0.1, 0.62]], np.float32)
    r = np.asarray(encoding.population(x, 5, low=-1.0, high=1.0))
    assert r.shape == (1, 2, 5)
    mu = np.linspace(-1, 1, 5)
    sigma = 0.5
    expected = np.exp(-((x[..., None] - mu) ** 2) / (2 * sigma**2))
    np.testing.assert_allclose(r, expected, rtol=1e-6)
    r2 = np.asarray(encoding.population(x, 5, sigma=0.1))
    np.testing.assert_allclose(
        r2, np.exp(-((x[..., None] - np.linspace(0, 1, 5)) ** 2) / 0.02), rtol=1e-5
    )


def test_population_round_trip_through_latency_and_value_decoder():
    # fields every 0.25 on [-1, 2]: the values sit >= 5 sigma from the ends, so the
    # activity is symmetric around them (to e^-12.5) and the centre of mass is exact
    x = jnp.array([0.5, 0.25, 0.8, 0.1])
    act = encoding.population(x, 13, low=-1.0, high=2.0)
    np.testing.assert_allclose(readout.population_value(act, low=-1.0, high=2.0), x, atol=1e-4)
    # near an end the fields are cut off and the estimate is pulled inward
    edge = readout.population_value(encoding.population(jnp.array([0.0]), 5))
    # by hand: weights 1, e^-0.5, e^-2, e^-4.5, e^-8 on centres 0, .25, .5, .75, 1
    w = [1.0, math.exp(-0.5), math.exp(-2), math.exp(-4.5), math.exp(-8)]
    hand = sum(wi * c for wi, c in zip(w, [0, 0.25, 0.5, 0.75, 1.0], strict=True)) / sum(w)
    assert abs(float(edge[0]) - hand) < 1e-5 and 0.12 < hand < 0.14
    s = encoding.latency(act, 16, time_axis=0)
    assert s.shape == (16, 4, 13)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: encoding.rate(jax.random.key(0), jnp.ones(3), 4, time_axis=2), "time_axis=2"),
        (lambda: encoding.direct(jnp.ones(3), 0, time_axis=0), "num_steps"),
        (lambda: encoding.direct(jnp.ones(3), 2.0, time_axis=0), "num_steps"),
        (lambda: encoding.latency(jnp.ones(3), 4, time_axis=0, method="exp"), "method"),
        (lambda: encoding.latency(jnp.ones(3), 4, time_axis=0, method="log", threshold=0), ">"),
        (lambda: encoding.delta(jnp.ones(3), time_axis=1), "time_axis=1"),
        (lambda: encoding.delta(jnp.ones(3), time_axis=0, threshold=-1.0), "threshold"),
        (lambda: encoding.population(jnp.ones(3), 1), "num_neurons"),
        (lambda: encoding.poisson(jax.random.key(0), jnp.ones(3), 4, time_axis=0, dt=0), "dt"),
    ],
)
def test_errors_name_function_and_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_time_axis_must_be_int():
    with pytest.raises(TypeError, match="time_axis"):
        encoding.direct(jnp.ones(3), 2, time_axis=None)  # type: ignore[arg-type]


def test_dtypes():
    x = jnp.linspace(0, 1, 5, dtype=jnp.bfloat16)
    assert encoding.rate(jax.random.key(0), x, 3, time_axis=0, dtype=jnp.bfloat16).dtype == (
        jnp.bfloat16
    )
    assert encoding.latency(x, 3, time_axis=0).dtype == jnp.float32
    assert encoding.latency_times(x, 3).dtype == jnp.int32
    assert encoding.population(x, 4).dtype == jnp.bfloat16
