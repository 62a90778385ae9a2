"""Delays: exact integer shifts, ring-buffer memory, fractional kernels and their gradients."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike.delays import (
    DelayState,
    delay_init,
    delay_kernel,
    delay_sequence,
    delay_step,
    delay_steps,
    fractional_delay,
    fractional_delay_dense,
    synaptic_delay_step,
)


def shift_reference(x, d):
    """y[t, ..., i] = x[t - d_i, ..., i], zero before the start (NumPy, per element)."""
    x = np.asarray(x)
    d = np.broadcast_to(np.asarray(d), x.shape[1:])
    y = np.zeros_like(x)
    for idx in np.ndindex(*x.shape[1:]):
        k = int(d[idx])
        if k < x.shape[0]:
            y[(slice(k, None), *idx)] = x[(slice(0, x.shape[0] - k), *idx)]
    return y


def run_ring(delays, max_delay, xs, step=delay_step):
    state = delay_init(max_delay, xs.shape[1:])
    return js.unroll(functools.partial(step, delays), state, xs)


def test_spike_arrives_exactly_d_steps_later_per_neuron():
    max_delay, n, t0, n_steps = 9, 10, 3, 20
    delays = jnp.arange(n) % (max_delay + 1)  # 0..9
    xs = jnp.zeros((n_steps, n)).at[t0].set(1.0)
    _, ys = run_ring(delays, max_delay, xs)
    for i in range(n):
        arrivals = np.flatnonzero(np.asarray(ys[:, i]))
        assert arrivals.tolist() == [t0 + int(delays[i])], f"neuron {i}"


def test_spike_arrives_exactly_d_steps_later_per_synapse():
    n_in, n_out, max_delay, t0 = 3, 4, 6, 2
    rng = np.random.default_rng(0)
    delays = jnp.asarray(rng.integers(0, max_delay + 1, (n_in, n_out)))
    for i in range(n_in):  # one presynaptic spike at a time
        xs = jnp.zeros((15, n_in)).at[t0, i].set(1.0)
        _, ys = run_ring(delays, max_delay, xs, synaptic_delay_step)
        assert ys.shape == (15, n_in, n_out)
        for j in range(n_out):
            assert np.flatnonzero(np.asarray(ys[:, i, j])).tolist() == [t0 + int(delays[i, j])]
        others = np.delete(np.asarray(ys), i, axis=1)
        assert not others.any()


def test_ring_buffer_matches_shift_on_random_input_with_batch():
    rng = np.random.default_rng(1)
    xs = jnp.asarray(rng.normal(size=(30, 2, 5)), jnp.float32)
    delays = jnp.asarray(rng.integers(0, 8, (5,)))  # per neuron, shared over the batch
    _, ys = run_ring(delays, 7, xs)
    np.testing.assert_array_equal(np.asarray(ys), shift_reference(xs, delays))
    np.testing.assert_array_equal(
        np.asarray(delay_sequence(xs, delays, time_axis=0)), shift_reference(xs, delays)
    )
    # batch-major layout through time_axis=1
    xb = jnp.swapaxes(xs, 0, 1)
    np.testing.assert_array_equal(
        np.asarray(delay_sequence(xb, delays, time_axis=1)),
        np.swapaxes(shift_reference(xs, delays), 0, 1),
    )


def test_synaptic_with_weight_matches_reference():
    rng = np.random.default_rng(2)
    n_in, n_out, max_delay = 4, 3, 5
    xs = jnp.asarray(rng.normal(size=(25, 2, n_in)), jnp.float32)
    delays = rng.integers(0, max_delay + 1, (n_in, n_out))
    w = rng.normal(size=(n_in, n_out)).astype(np.float32)
    state = delay_init(max_delay, (2, n_in))
    step = functools.partial(synaptic_delay_step, jnp.asarray(delays), weight=w)
    _, ys = js.unroll(step, state, xs)
    want = np.zeros((25, 2, n_out), np.float32)
    x = np.asarray(xs)
    for i in range(n_in):
        for j in range(n_out):
            want[:, :, j] += w[i, j] * shift_reference(x[:, :, i], delays[i, j])
    np.testing.assert_allclose(np.asarray(ys), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n_steps", [5, 500])
def test_buffer_memory_independent_of_sequence_length(n_steps):
    max_delay, shape = 4, (3, 7)
    state = delay_init(max_delay, shape)
    assert state.buffer.shape == (max_delay + 1, *shape)
    final, _ = js.unroll(
        functools.partial(delay_step, 2), state, jnp.ones((n_steps, *shape), jnp.float32)
    )
    assert isinstance(final, DelayState)
    assert final.buffer.shape == (max_delay + 1, *shape)
    assert int(final.pos) == n_steps % (max_delay + 1)


def test_delay_step_jit_and_traced_delays():
    xs = jnp.zeros((8, 2)).at[0].set(1.0)

    @jax.jit
    def run(delays):
        return run_ring(delays, 3, xs)[1]

    ys = run(jnp.array([1, 3]))
    assert np.flatnonzero(np.asarray(ys[:, 0])).tolist() == [1]
    assert np.flatnonzero(np.asarray(ys[:, 1])).tolist() == [3]


def test_integer_delay_errors():
    state = delay_init(3, (2,))
    with pytest.raises(ValueError, match=r"delay_step: delays must lie in \[0, 3\]"):
        delay_step(jnp.array([1, 4]), state, jnp.zeros(2))
    with pytest.raises(ValueError, match="whole numbers of steps"):
        delay_step(jnp.array([1.5, 1.0]), state, jnp.zeros(2))
    with pytest.raises(ValueError, match="x has shape"):
        delay_step(1, state, jnp.zeros(3))
    with pytest.raises(ValueError, match="does not broadcast"):
        delay_step(jnp.array([1, 1, 1]), state, jnp.zeros(2))
    with pytest.raises(ValueError, match=r"\(N_in, N_out\)"):
        synaptic_delay_step(jnp.array([1, 1]), state, jnp.zeros(2))
    with pytest.raises(ValueError, match="max_delay must be >= 0"):
        delay_init(-1, (2,))


def test_kernel_definitions():
    k = np.asarray(delay_kernel(jnp.array([0.0, 2.0, 1.25, 5.0]), max_delay=5, kernel="triangle"))
    np.testing.assert_allclose(k.sum(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(k[:, 0], np.eye(6)[0], atol=1e-7)
    np.testing.assert_allclose(k[:, 1], np.eye(6)[2], atol=1e-7)
    np.testing.assert_allclose(k[:, 2], [0, 0.75, 0.25, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(k[:, 3], np.eye(6)[5], atol=1e-7)
    # Gaussian: normalised exp(-(tau - d)^2 / (2 sigma^2)), centre of mass d far from edges
    d, sigma = 10.3, 1.5
    g = np.asarray(delay_kernel(jnp.asarray(d), max_delay=20, sigma=sigma))
    tau = np.arange(21)
    ref = np.exp(-((tau - d) ** 2) / (2 * sigma**2))
    np.testing.assert_allclose(g, ref / ref.sum(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose((tau * g).sum(), d, atol=1e-4)
    with pytest.raises(ValueError, match="kernel must be"):
        delay_kernel(1.0, max_delay=2, kernel="box")
    with pytest.raises(ValueError, match="sigma must be > 0"):
        delay_kernel(1.0, max_delay=2, sigma=0.0)


def test_fractional_delay_triangle_is_exact_at_integers_and_interpolates():
    rng = np.random.default_rng(3)
    xs = jnp.asarray(rng.normal(size=(20, 2, 4)), jnp.float32)
    d_int = jnp.array([0.0, 1.0, 3.0, 6.0])
    y = fractional_delay(xs, d_int, max_delay=6, kernel="triangle", time_axis=0)
    np.testing.assert_allclose(np.asarray(y), shift_reference(xs, [0, 1, 3, 6]), atol=1e-6)
    y = fractional_delay(xs, 1.5, max_delay=6, kernel="triangle", time_axis=0)
    x = np.asarray(xs)
    want = 0.5 * shift_reference(x, 1) + 0.5 * shift_reference(x, 2)
    np.testing.assert_allclose(np.asarray(y), want, atol=1e-6)


def test_fractional_delay_gaussian_matches_convolution_reference():
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(16, 3)).astype(np.float32)
    d, sigma, max_delay = np.array([0.7, 2.2, 4.9]), 0.8, 6
    y = fractional_delay(
        jnp.asarray(xs), jnp.asarray(d), max_delay=max_delay, sigma=sigma, time_axis=0
    )
    tau = np.arange(max_delay + 1)[:, None]
    k = np.exp(-((tau - d) ** 2) / (2 * sigma**2))
    k /= k.sum(axis=0)
    want = np.zeros_like(xs)
    for t in range(16):
        for lag in range(max_delay + 1):
            if t - lag >= 0:
                want[t] += k[lag] * xs[t - lag]
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-6)


def test_fractional_delay_is_causal():
    def f(x):
        return fractional_delay(x, 2.3, max_delay=5, sigma=1.0, time_axis=0)

    jac = np.asarray(jax.jacfwd(f)(jnp.ones(12)))
    assert not np.triu(jac, k=1).any()  # y_t never depends on x_{t'} with t' > t


def test_dense_delay_matches_ring_buffer_and_reference():
    rng = np.random.default_rng(5)
    n_in, n_out, max_delay = 4, 3, 5
    xs = jnp.asarray(rng.normal(size=(18, 2, n_in)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(n_in, n_out)), jnp.float32)
    d_int = rng.integers(0, max_delay + 1, (n_in, n_out))
    y = fractional_delay_dense(
        xs, w, jnp.asarray(d_int, jnp.float32), max_delay=max_delay, kernel="triangle", time_axis=0
    )
    step = functools.partial(synaptic_delay_step, jnp.asarray(d_int), weight=w)
    _, y_ring = js.unroll(step, delay_init(max_delay, (2, n_in)), xs)
    np.testing.assert_allclose(np.asarray(y), np.asarray(y_ring), rtol=1e-5, atol=1e-5)
    # Gaussian per-synapse kernel against a NumPy sum over synapses and lags
    d = rng.uniform(0, max_delay, (n_in, n_out))
    y = fractional_delay_dense(
        jnp.swapaxes(xs, 0, 1), w, jnp.asarray(d), max_delay=max_delay, sigma=1.2, time_axis=1
    )
    tau = np.arange(max_delay + 1)[:, None, None]
    k = np.exp(-((tau - d) ** 2) / (2 * 1.2**2))
    k /= k.sum(axis=0)
    x = np.asarray(xs)
    want = np.zeros((18, 2, n_out))
    for lag in range(max_delay + 1):
        want[lag:] += np.einsum("tbi,ij->tbj", x[: 18 - lag], np.asarray(w) * k[lag])
    np.testing.assert_allclose(np.asarray(y), np.swapaxes(want, 0, 1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel", ["gaussian", "triangle"])
def test_fractional_gradients_finite(kernel):
    rng = np.random.default_rng(6)
    xs = jnp.asarray(rng.random((20, 2, 3)) < 0.3, jnp.float32)
    w = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)

    def loss(d_chan, d_syn, w):
        a = fractional_delay(xs, d_chan, max_delay=6, sigma=1.0, kernel=kernel, time_axis=0)
        b = fractional_delay_dense(a, w, d_syn, max_delay=6, kernel=kernel, time_axis=0)
        return jnp.sum(jnp.tanh(b) ** 2)

    # whole-step delays included: the triangle kernel still has a (one-sided) gradient
    d_chan = jnp.array([0.0, 2.0, 3.4])
    d_syn = jnp.asarray(rng.uniform(0, 6, (3, 4)).round(), jnp.float32)
    grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(d_chan, d_syn, w)
    for g in grads:
        assert np.isfinite(np.asarray(g)).all()
    assert np.abs(np.asarray(grads[0])).sum() > 0
    assert np.abs(np.asarray(grads[1])).sum() > 0


@pytest.mark.parametrize(
    ("kernel", "sigma", "start", "lr", "tol"),
    [("gaussian", 2.0, 3.0, 0.5, 0.3), ("triangle", 1.0, 6.0, 0.01, 0.05)],
)
def test_gradient_descent_moves_delay_to_target(kernel, sigma, start, lr, tol):
    """Toy task: learn to delay random spike trains by 7 steps."""
    target_delay = 7
    xs = jnp.asarray(np.random.default_rng(7).random((60, 4)) < 0.15, jnp.float32)
    target = delay_sequence(xs, target_delay, time_axis=0)

    @jax.jit
    def loss_grad(d):
        def loss(d):
            y = fractional_delay(xs, d, max_delay=12, sigma=sigma, kernel=kernel, time_axis=0)
            return jnp.sum((y - target) ** 2)

        return jax.value_and_grad(loss)(d)

    d = jnp.full((4,), start)
    loss0, _ = loss_grad(d)
    for _ in range(150):
        loss, g = loss_grad(d)
        assert np.isfinite(np.asarray(g)).all()
        d = d - lr * g
    err = np.abs(np.asarray(d) - target_delay)
    assert (err < tol).all(), d
    assert (err < abs(start - target_delay) - 0.5).all()  # moved closer by a clear margin
    assert float(loss) < float(loss0)


def test_fractional_errors():
    xs = jnp.zeros((5, 1, 4))
    with pytest.raises(ValueError, match="fractional_delay: delays has shape"):
        fractional_delay(xs, jnp.zeros((2, 4)), max_delay=2, time_axis=0)
    with pytest.raises(ValueError, match="fractional_delay: delays has shape"):
        fractional_delay(xs, jnp.zeros(3), max_delay=2, time_axis=0)
    with pytest.raises(TypeError, match="floating dtype"):
        fractional_delay(jnp.zeros((5, 4), jnp.int32), 1.0, max_delay=2, time_axis=0)
    with pytest.raises(ValueError, match="delays must have the weight's shape"):
        fractional_delay_dense(xs, jnp.ones((4, 2)), jnp.ones((2, 4)), max_delay=2, time_axis=0)
    with pytest.raises(ValueError, match="time axis other than the last"):
        fractional_delay_dense(xs, jnp.ones((4, 2)), jnp.ones((4, 2)), max_delay=2, time_axis=2)


def test_delay_steps_exact_mapping():
    assert delay_steps([0.0, 0.003, 0.01], dt=0.001).tolist() == [0, 3, 10]
    with pytest.raises(ValueError, match="whole, non-negative"):
        delay_steps([0.0015], dt=0.001)
    with pytest.raises(ValueError, match="whole, non-negative"):
        delay_steps([-0.001], dt=0.001)
