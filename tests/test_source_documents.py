"""The documents jaxspike was built from, reproduced: the sinabs tutorial "A quick (and
over-simplified) introduction to spiking neurons", snnpytorch's SpikingNeuronLayer and the
SpikeSEG documentation (IGARSS 2023)."""

import functools
import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js


def test_continuous_lif_spikes_at_47_and_94():
    """The sinabs tutorial's LIF: Euler, tau 20, threshold 10, reset to 0, input 11, T = 100.

    The tutorial's loop checks the threshold at the *top* of iteration ``t`` on
    ``vmem[t]``, which iteration ``t - 1`` computed, and reports spikes at ``t`` =
    47 and 94. jaxspike spikes in the same step that integrates (no lag): its step
    ``k`` computes the tutorial's ``vmem[k + 1]``, so tutorial step ``t`` is jaxspike step
    ``t - 1``: 46 and 93. Analytically (Euler, v_0 = 0):
    ``vmem[n] = 11 (1 - (19/20)^n)`` first reaches 10 at n = ceil(ln 11 / ln(20/19)) = 47,
    and the reset to 0 restarts the same trajectory, so the next spike is 47 later.
    """
    first = math.ceil(math.log(11) / math.log(20 / 19))
    assert first == 47
    p = js.CTLIFParams.create(tau_mem=20.0, v_leak=0.0, r=1.0, v_th=10.0, v_reset=0.0)
    step = functools.partial(js.ctlif_step, p, dt=1.0, method="euler", reset="zero")
    _, s = js.unroll(step, js.lif_init(p, ()), jnp.full((100,), 11.0))
    tutorial_steps = [47, 94]
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(s)), [t - 1 for t in tutorial_steps])


def _if_count(bias, dtype=jnp.float32, t_sim=100):
    p = js.IFParams.create(v_th=1.0, dtype=dtype)
    step = functools.partial(js.if_step, p, reset="subtract")
    xs = jnp.broadcast_to(jnp.asarray(bias, dtype), (t_sim, len(bias)))
    _, s = js.unroll(step, js.if_init(p, (len(bias),), dtype), xs)
    return np.asarray(s.sum(axis=0))


def _analytic_if_count(b, t_sim=100):
    """Spike count of IF (threshold 1, subtractive reset, H(0) = 1, v_0 = 0) under bias b.

    The pre-reset membrane at step k is (k + 1) b - N_{k-1} (N: spikes so far). For
    0 <= b <= 1 induction gives N_k = floor((k + 1) b): the step fires iff
    floor((k + 1) b) > floor(k b). For b >= 1 every step fires (the residual only
    grows), and for b <= 0 the membrane never rises. So the count is
    clip(floor(t_sim * b), 0, t_sim).
    """
    return np.clip(np.floor(t_sim * b), 0, t_sim)


def test_if_transfer_function_is_relu_like():
    """The sinabs tutorial's IAF transfer function: biases np.arange(-5, 5, 0.2), 100 steps.

    Every tutorial bias is (up to float rounding) a multiple of 0.2, so t_sim * b sits on
    an integer where one rounding decides whether the last crossing happens within
    the 100 steps: there the count may be the analytic value or one less, never
    anything else.
    """
    biases = np.arange(-5, 5, 0.2)
    counts = _if_count(biases)
    exact = _analytic_if_count(biases)
    on_multiple = np.isclose(100 * biases, np.round(100 * biases), atol=1e-6)
    assert np.all(counts[biases <= 1e-9] == 0)
    assert np.all((counts == exact) | (on_multiple & (counts == exact - 1)))
    assert np.all(counts[biases >= 1.0 + 1e-9] == 100)
    assert np.all(np.diff(counts) >= 0)  # monotone, like a ReLU clipped at the rate 1


def test_if_transfer_function_off_grid_is_exact():
    """Away from exact multiples the analytic count holds exactly."""
    biases = np.asarray([-0.37, 0.0, 0.013, 0.237, 0.4551, 0.6789, 0.99, 1.37, 4.2])
    np.testing.assert_array_equal(_if_count(biases), _analytic_if_count(biases))


def test_if_transfer_function_float64(x64):
    biases = np.arange(-5, 5, 0.2)
    counts = _if_count(biases, jnp.float64)
    exact = _analytic_if_count(biases)
    assert np.all((counts == exact) | (counts == exact - 1))
    assert np.all(counts[biases <= 1e-9] == 0)


def test_soft_reset_equation():
    """snnpytorch's soft reset: u_t = λ u_{t-1} + i_t − v o_{t-1}, o_t = 1[u_t > v].

    ``lif_step(..., reset="subtract", reset_at="next_step", threshold=">")`` stores the
    pre-reset membrane u_t (snnpytorch's ``SpikingNeuronLayer`` soft reset); the
    equation must hold at every step.
    """
    lam, v = 0.7, 1.0
    p = js.LIFParams.create(decay=lam, v_th=v)
    rng = np.random.default_rng(3)
    i = rng.uniform(0.0, 0.9, size=(60, 5)).astype(np.float32)
    step = functools.partial(js.lif_step, p, reset="subtract", reset_at="next_step", threshold=">")
    _, (o, u) = js.unroll(
        lambda st, x: (lambda new, s: (new, (s, new.v)))(*step(st, x)),
        js.lif_init(p, (5,)),
        jnp.asarray(i),
    )
    u, o = np.asarray(u, np.float64), np.asarray(o, np.float64)
    assert np.min(np.abs(u - v)) > 1e-4
    np.testing.assert_array_equal(o, (u > v).astype(np.float64))
    assert 10 < o.sum() < o.size / 2
    u_prev = np.concatenate([np.zeros((1, 5)), u[:-1]])
    o_prev = np.concatenate([np.zeros((1, 5)), o[:-1]])
    np.testing.assert_allclose(u, lam * u_prev + i - v * o_prev, rtol=1e-5, atol=1e-5)
    # an independent NumPy run of the document's equation gives the same spikes.
    un, on, spikes = np.zeros(5), np.zeros(5), []
    for t in range(60):
        un = lam * un + i[t] - v * on
        on = (un > v).astype(np.float64)
        spikes.append(on)
    np.testing.assert_array_equal(o, np.asarray(spikes))


@pytest.mark.parametrize("leak", [9.0, 1.0])  # 90% and 10% of the threshold (IGARSS 2023)
def test_igarss_subtractive_leak(leak):
    """SpikeSEG (IGARSS 2023): LIF in subtractive mode, threshold 10, leak 9 or 1.

    ``create_neuron("lif", leak_mode="subtractive", ...)`` must follow
    v_t = v_{t-1} + I_t - λ, fire when v_t >= θ and reset the membrane to 0, and give
    SpikeSEG's (spikes, membrane after reset, membrane before reset).
    """
    n = js.create_neuron("lif", leak_mode="subtractive", v_th=10.0, leak=leak, reset="zero")
    assert n.name == "if"
    rng = np.random.default_rng(0)
    current = rng.choice([0.0, 4.0, 11.0, 19.0, 25.0], size=(40, 6)).astype(np.float32)
    final, (s, v_pre, states) = js.unroll(
        js.neurons.step_with_trace(n.step), n.init((6,)), jnp.asarray(current)
    )
    v, ref_s, ref_pre, ref_post = np.zeros(6), [], [], []
    for t in range(40):
        v = v + current[t] - leak
        ref_pre.append(v.copy())
        fired = v >= 10.0
        ref_s.append(fired.astype(np.float64))
        v = np.where(fired, 0.0, v)
        ref_post.append(v.copy())
    np.testing.assert_array_equal(s, np.asarray(ref_s))
    assert np.asarray(ref_s).sum() > 5
    np.testing.assert_allclose(v_pre, np.asarray(ref_pre), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(states.v, np.asarray(ref_post), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(final.v, ref_post[-1], rtol=1e-5, atol=1e-4)


def test_igarss_output_layer_is_plain_if():
    """The IGARSS output layer: IF with zero leak integrates evidence until threshold."""
    n = js.create_neuron("if", v_th=10.0, reset="zero")
    _, s = js.unroll(n.step, n.init(()), jnp.full((10,), 3.0))
    # 3, 6, 9, 12 -> fire at step 3, then 3, 6, 9, 12 again -> step 7.
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(s)), [3, 7])
