"""Every option of the shared spike-and-reset rule against NumPy loops of the equations.

The references are written here from the published equations, not from jaxspike:

* threshold: ``>=`` (jaxspike's default) or strict ``>`` (NIR, snnTorch, Norse, Spyx);
* ``multi_spike``: sinabs' ``MultiSpike``: ``floor(v / v_th)`` spikes, subtract removes
  ``count * v_th``;
* ``v_min``: sinabs' ``min_v_mem`` (the membrane is clipped after the reset);
* ``reset_at="next_step"``: snnTorch ``Leaky(reset_delay=True)``: the stored membrane is
  the pre-reset one; ``_base_sub`` gives ``u_t = beta u_{t-1} + x_t - v_th s_{t-1}`` and
  ``_base_zero`` gives ``u_t = beta (1 - s_{t-1}) u_{t-1} + x_t``;
* ``refractory``: a neuron that fired holds its membrane and cannot fire for n steps.

The inputs and parameters of the linear families are dyadic rationals, so float32 is
exact and the membrane hits the threshold exactly, where ``>`` and ``>=`` differ.
"""

from __future__ import annotations

import functools
import itertools

import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js

T, N = 24, 6

PARAMS = {
    "if": js.IFParams(v_th=1.0, v_reset=0.0, leak=0.25, v_min=-np.inf),
    "lif": js.LIFParams(decay=0.5, v_th=1.0, v_reset=0.0),
    "ctlif": js.CTLIFParams(tau_mem=4.0, v_leak=0.0, r=1.0, i_bias=0.1, v_th=1.0, v_reset=0.0),
    "cuba_lif": js.CubaLIFParams(decay_syn=0.5, decay_mem=0.5, v_th=1.0, v_reset=0.0),
    "alif": js.ALIFParams(decay=0.5, decay_adapt=0.5, v_th=1.0, adapt=0.5, v_reset=0.0),
    "adlif": js.neurons.AdLIFParams(decay=0.5, decay_adapt=0.5, a=0.25, b=0.5, v_th=1.0),
    "izhikevich": js.IzhikevichParams(a=0.02, b=0.2, c=-65.0, d=8.0, v_th=30.0),
}
SPIKING = sorted(name for name, m in js.NEURONS.items() if m.spiking)


def test_every_spiking_family_is_covered():
    assert set(SPIKING) <= set(PARAMS)


def _inputs(name):
    rng = np.random.default_rng(7)
    if name == "izhikevich":
        return rng.uniform(0.0, 15.0, size=(T, N)).astype(np.float32)
    if name == "ctlif":
        return rng.uniform(-0.5, 3.0, size=(T, N)).astype(np.float32)
    levels = np.asarray([-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.25, 3.0], np.float32)
    return rng.choice(levels, size=(T, N)).astype(np.float32)


def _izh_dv(w, u, x):
    return np.float32(0.04) * w * w + np.float32(5.0) * w + np.float32(140.0) - u + x


def _reference(name, p, xs, *, reset, threshold, multi_spike, v_min, reset_at, refractory):
    """NumPy loop: the family's published integration + the conventions listed above."""
    p = {k: np.float32(v) for k, v in p._asdict().items()}
    f32 = np.float32
    v = np.full(N, p["c"], f32) if name == "izhikevich" else np.zeros(N, f32)
    u = (p["b"] * v).astype(f32) if name == "izhikevich" else None
    i = np.zeros(N, f32)
    a = np.zeros(N, f32)
    w = np.zeros(N, f32)
    ref = np.zeros(N, f32)
    s_prev = np.zeros(N, f32)
    v_reset = p.get("v_reset", p.get("c"))
    out, stored = [], []
    for t in range(T):
        x = xs[t]
        theta = p["v_th"] + p["adapt"] * a if name == "alif" else np.full(N, p["v_th"], f32)
        fired_prev = s_prev > 0
        jump = np.zeros(N, f32)
        if reset_at == "next_step" and reset == "zero":
            v = np.where(fired_prev, v_reset, v).astype(f32)
            jump = fired_prev.astype(f32)
        # the family's integration, from its paper / docs page
        if name == "if":
            new = np.maximum(v + x - p["leak"], p["v_min"])
        elif name == "lif":
            new = p["decay"] * v + x
        elif name == "ctlif":
            v_inf = p["v_leak"] + p["r"] * (x + p["i_bias"])
            new = v_inf + (v - v_inf) * np.exp(f32(-1.0) / p["tau_mem"])
        elif name == "cuba_lif":
            i = p["decay_syn"] * i + x
            new = p["decay_mem"] * v + i
        elif name == "alif":
            new = p["decay"] * v + x
        elif name == "adlif":  # Bittar & Garner 2022, w already holds w_t
            new = p["decay"] * v + (1 - p["decay"]) * (x - w)
        else:  # Izhikevich 2003, two half steps of 0.5 ms for v
            half = v + f32(0.5) * _izh_dv(v, u, x)
            new = half + f32(0.5) * _izh_dv(half, u, x)
        new = new.astype(f32)
        if reset_at == "next_step" and reset == "subtract":
            new = new - s_prev * theta
            v = v - s_prev * theta
            jump = s_prev
        if v_min is not None:
            new = np.maximum(new, f32(v_min))
        active = ref <= 0
        if refractory:
            new = np.where(active, new, v)
        fire = (new >= theta) if threshold == ">=" else (new > theta)
        fire &= active
        count = np.floor(new / theta) if multi_spike else np.ones(N, f32)
        s = np.where(fire, count, 0.0).astype(f32)
        if name == "izhikevich":
            u = u + f32(1.0) * p["a"] * (p["b"] * new - u)
        if reset_at == "same_step":
            post = new
            if reset == "subtract":
                post = new - s * theta
                jump = fire.astype(f32)
            elif reset == "zero":
                post = np.where(fire, v_reset, new)
                jump = fire.astype(f32)
            if v_min is not None:
                post = np.maximum(post, f32(v_min))
        else:
            post = new
        if name == "izhikevich" and reset != "none":
            u = u + p["d"] * jump
        if name == "alif":
            a = p["decay_adapt"] * a + (1 - p["decay_adapt"]) * s
        if name == "adlif":  # w_{t+1} = beta w_t + a u_t + b s_t (u_t pre-reset)
            w = (p["decay_adapt"] * w + p["a"] * new + p["b"] * s).astype(f32)
        if refractory:
            ref = np.where(s > 0, f32(refractory), np.maximum(ref - 1, 0)).astype(f32)
        v = post.astype(f32)
        s_prev = s
        out.append(s)
        stored.append(v)
    return np.asarray(out), np.asarray(stored)


OPTION_SETS = [
    dict(),
    dict(threshold=">"),
    dict(reset="zero"),
    dict(reset="zero", threshold=">"),
    dict(reset="none"),
    dict(multi_spike=True),
    dict(multi_spike=True, threshold=">"),
    dict(v_min=-0.25),
    dict(reset="zero", v_min=0.25),
    dict(reset_at="next_step"),
    dict(reset_at="next_step", reset="zero"),
    dict(reset_at="next_step", threshold=">", refractory=1),
    dict(refractory=2),
    dict(refractory=1, reset="zero", threshold=">"),
]


def _full(name, opts):
    default_reset = "zero" if name in ("ctlif", "izhikevich") else "subtract"
    full = dict(
        reset=default_reset,
        threshold=">=",
        multi_spike=False,
        v_min=None,
        reset_at="same_step",
        refractory=0,
    )
    full.update(opts)
    if name == "izhikevich" and full["v_min"] is not None:
        full["v_min"] = -70.0
    return full


@pytest.mark.parametrize(("name", "opts"), list(itertools.product(SPIKING, OPTION_SETS)))
def test_option_against_numpy_loop(name, opts):
    if name == "izhikevich" and opts.get("reset") == "none":
        pytest.skip("Izhikevich's quadratic membrane diverges without a reset")
    p = PARAMS[name]
    xs = _inputs(name)
    full = _full(name, opts)
    ref_s, ref_v = _reference(name, p, xs, **full)
    model = js.NEURONS[name]
    step = functools.partial(model.step, p, **full)
    _, (s, v) = js.unroll(
        lambda st, x: (lambda new, out: (new, (out, new.v)))(*step(st, x)),
        model.init(p, (N,)),
        jnp.asarray(xs),
    )
    assert ref_s.sum() > 0, "the case must spike"
    np.testing.assert_array_equal(np.asarray(s), ref_s)
    exact = name not in ("ctlif", "izhikevich")
    tol = dict(rtol=0, atol=0) if exact else dict(rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.asarray(v), ref_v, **tol)


@pytest.mark.parametrize("name", ["if", "lif", "cuba_lif", "alif"])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_linear_cases_contain_exact_ties(name, reset):
    """The dyadic inputs hit the threshold exactly: ``>`` and ``>=`` give other spikes."""
    xs = _inputs(name)
    ge, _ = _reference(name, PARAMS[name], xs, **_full(name, {"reset": reset}))
    gt, _ = _reference(name, PARAMS[name], xs, **_full(name, {"reset": reset, "threshold": ">"}))
    assert not np.array_equal(ge, gt)


@pytest.mark.parametrize("name", SPIKING)
def test_exact_tie_differs_between_comparisons(name):
    """Threshold set to the exact pre-reset membrane: ``>=`` fires, ``>`` does not."""
    p = PARAMS[name]
    model = js.NEURONS[name]
    x = jnp.asarray(_inputs(name)[0])
    high = p._replace(v_th=jnp.full((N,), 1e9, jnp.float32))
    _, tr = js.neurons.step_with_trace(functools.partial(model.step, high))(
        model.init(high, (N,)), x
    )
    tie = p._replace(v_th=tr.v_pre)
    state0 = model.init(tie, (N,))
    _, s_ge = model.step(tie, state0, x, threshold=">=")
    _, s_gt = model.step(tie, state0, x, threshold=">")
    np.testing.assert_array_equal(s_ge, np.ones(N))
    np.testing.assert_array_equal(s_gt, np.zeros(N))


@pytest.mark.parametrize("name", SPIKING)
def test_multi_spike_gradient_is_the_single_spike_surrogate(name):
    p = PARAMS[name]
    model = js.NEURONS[name]
    x = jnp.asarray(_inputs(name)[3])
    sur = js.FastSigmoid(slope=5.0)

    def out(xx, multi):
        return model.step(p, model.init(p, (N,)), xx, surrogate=sur, multi_spike=multi)[1].sum()

    import jax

    np.testing.assert_array_equal(jax.grad(out)(x, True), jax.grad(out)(x, False))


def test_step_with_trace_records_pre_and_post_reset():
    p = PARAMS["lif"]
    xs = jnp.asarray(_inputs("lif"))
    step = js.neurons.step_with_trace(functools.partial(js.lif_step, p))
    _, tr = js.unroll(step, js.lif_init(p, (N,)), xs)
    s, v_pre, v_post = (np.asarray(a) for a in (tr.spikes, tr.v_pre, tr.state.v))
    np.testing.assert_array_equal(v_post, v_pre - s * 1.0)
    prev = np.concatenate([np.zeros((1, N), np.float32), v_post[:-1]])
    np.testing.assert_array_equal(v_pre, 0.5 * prev + np.asarray(xs))


def test_step_with_trace_of_a_non_spiking_step_reports_its_output():
    p = js.LIParams(decay=0.5)
    _, tr = js.neurons.step_with_trace(functools.partial(js.li_step, p))(
        js.li_init(p, (2,)), jnp.ones(2)
    )
    np.testing.assert_array_equal(tr.v_pre, tr.spikes)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(threshold=">>"), "threshold"),
        (dict(reset_at="later"), "reset_at"),
        (dict(refractory=-1), "refractory must be an int >= 0"),
        (dict(refractory=1.5), "refractory must be an int >= 0"),
        (dict(v_min=float("nan")), "v_min must be a number or None"),
    ],
)
def test_bad_options(kw, match):
    p = js.LIFParams()
    with pytest.raises(ValueError, match=f"lif_step: .*{match}"):
        js.lif_step(p, js.lif_init(p, (2,)), jnp.ones(2), **kw)


def test_multi_spike_must_be_bool():
    p = js.LIFParams()
    with pytest.raises(TypeError, match="lif_step: multi_spike must be a bool, got 1"):
        js.lif_step(p, js.lif_init(p, (2,)), jnp.ones(2), multi_spike=1)


@pytest.mark.parametrize("name", SPIKING)
def test_wrong_carry_type(name):
    model = js.NEURONS[name]
    p = PARAMS[name]
    other = js.li_init(js.LIParams(), (N,))
    with pytest.raises(TypeError, match=rf"{model.step.__name__}: state must be a \w+State"):
        model.step(p, other, jnp.ones(N))
    with pytest.raises(TypeError, match=r"state must be a .*got tuple"):
        model.step(p, (jnp.zeros(N), jnp.zeros(N)), jnp.ones(N))
