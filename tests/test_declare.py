"""One declaration per family: what the layers derive from it (issues 13, 15 and 16)."""

from __future__ import annotations

import functools
import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxspike as js
from jaxspike import linen as jln
from jaxspike import nnx as jnnx

LAYERS = ["IF", "LIF", "CTLIF", "CubaLIF", "ALIF", "AdLIF", "LI", "Izhikevich"]


def _linen_init(layer, f=3):
    x = jnp.ones((1, 2, f))
    return layer.init(jax.random.key(0), x)


@pytest.mark.parametrize(
    ("layer", "kwargs", "match"),
    [
        ("LIF", dict(decay=1.2), r"decay must lie in \[0.0, 1.0\], got 1.2"),
        ("LIF", dict(decay=math.nan), "decay must not be NaN, got nan"),
        ("CTLIF", dict(tau_mem=-5.0), "tau_mem must be > 0, got -5.0"),
        ("CubaLIF", dict(decay_syn=-0.1), r"decay_syn must lie in \[0.0, 1.0\], got -0.1"),
        ("IF", dict(leak=-1.0), "leak must be >= 0, got -1.0"),
        ("Izhikevich", dict(a=0.0), "a must be > 0, got 0.0"),
        ("LIF", dict(tau_mem=0.0), "tau_mem must be > 0, got 0.0"),
        ("ALIF", dict(v_th=math.nan), "v_th must not be NaN"),
    ],
)
def test_fixed_parameters_are_validated_like_create(layer, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(jnnx, layer)(3, **kwargs)
    with pytest.raises(ValueError, match=match):
        _linen_init(getattr(jln, layer)(3, **kwargs))
    field = next(iter(kwargs))
    model = getattr(jnnx, layer).cell_type
    decl = js.NEURONS[
        {"IF": "if", "LIF": "lif", "CTLIF": "ctlif", "CubaLIF": "cuba_lif", "ALIF": "alif"}.get(
            layer, layer.lower()
        )
    ]
    if field in decl.params_cls._fields:  # the functional constructor says the same
        with pytest.raises(ValueError, match=match):
            decl.params_cls.create(**kwargs)
    assert model is not None


@pytest.mark.parametrize("layer", LAYERS)
def test_signatures_are_explicit(layer):
    for mod in (jnnx, jln):
        cls = getattr(mod, layer)
        params = inspect.signature(cls).parameters
        assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()), cls
        fields = js.NEURONS[cls.model if hasattr(cls, "model") else cls.cell_type.model]
        assert set(fields.params_cls._fields) <= set(params), cls


def test_alif_signature_lists_its_neuron_arguments():
    params = inspect.signature(jnnx.ALIF).parameters
    for name in ("decay", "decay_adapt", "adapt", "tau_adapt", "refractory", "time_major"):
        assert name in params


@pytest.mark.parametrize(
    ("layer", "taus", "fields"),
    [
        ("LIF", dict(tau_mem=10.0), dict(decay=math.exp(-0.5 / 10.0))),
        ("LI", dict(tau_mem=4.0), dict(decay=math.exp(-0.5 / 4.0))),
        (
            "CubaLIF",
            dict(tau_syn=5.0, tau_mem=20.0),
            dict(decay_syn=math.exp(-0.5 / 5.0), decay_mem=math.exp(-0.5 / 20.0)),
        ),
        (
            "ALIF",
            dict(tau_mem=20.0, tau_adapt=200.0),
            dict(decay=math.exp(-0.5 / 20.0), decay_adapt=math.exp(-0.5 / 200.0)),
        ),
    ],
)
def test_time_constants_on_layers(layer, taus, fields):
    """beta = exp(-dt / tau), fixed or learnable in log-tau, NNX and Linen alike."""
    x = jax.random.uniform(jax.random.key(1), (2, 12, 3), maxval=1.5)
    want = getattr(jnnx, layer)(3, **fields)(x)
    got = getattr(jnnx, layer)(3, **taus, dt=0.5)(x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    learned = getattr(jnnx, layer)(3, **taus, dt=0.5, learn=tuple(taus))
    for tau, value in taus.items():
        np.testing.assert_allclose(getattr(learned.cell, f"{tau}_log")[...], math.log(value))
    np.testing.assert_allclose(learned(x), want, rtol=1e-5, atol=1e-5)
    lin = getattr(jln, layer)(3, **taus, dt=0.5, learn=tuple(taus))
    variables = _linen_init(lin)
    assert set(variables["params"]) == {f"{t}_log" for t in taus}
    np.testing.assert_allclose(lin.apply(variables, x), want, rtol=1e-5, atol=1e-5)


def test_tau_and_decay_together_are_refused():
    with pytest.raises(ValueError, match="give tau_mem or decay, not both"):
        jnnx.LIF(3, tau_mem=10.0, decay=0.5)
    with pytest.raises(ValueError, match="give tau_mem or decay, not both"):
        _linen_init(jln.LIF(3, tau_mem=10.0, decay=0.5))


def test_learning_a_tau_that_was_not_given_says_how():
    with pytest.raises(ValueError, match=r"give it: e.g. tau_mem=10.0, dt=1.0"):
        jnnx.LIF(3, learn="tau_mem")


def test_learnable_decay_of_one_is_refused_with_a_way_out():
    with pytest.raises(ValueError, match=r"learnable decay must be in \(0, 1\).*tau_mem"):
        jnnx.LIF(3, decay=1.0, learn="decay")


def _grad_at(layer, attr, value):
    x = jax.random.uniform(jax.random.key(2), (2, 20, 3), maxval=1.5)
    getattr(layer.cell, attr)[...] = jnp.full_like(getattr(layer.cell, attr)[...], value)

    def loss(m):
        out = m(x)
        return jnp.sum(out * jnp.arange(20)[None, :, None])

    grads = nnx.grad(loss)(layer)
    return np.asarray(getattr(grads.cell, attr)[...]), layer.cell.neuron_params()


@pytest.mark.parametrize("stored", [-120.0, -30.0, 0.0, 30.0, 120.0])
def test_decay_logit_gradients_finite_everywhere(stored):
    g, p = _grad_at(jnnx.LIF(3, decay=0.5, learn="decay"), "decay_logit", stored)
    assert np.all(np.isfinite(g))
    assert 0.0 <= float(p.decay) <= 1.0


@pytest.mark.parametrize("stored", [-100.0, -10.0, 0.0, 10.0, 100.0])
def test_log_tau_gradients_finite_everywhere(stored):
    g, p = _grad_at(jnnx.LIF(3, tau_mem=5.0, learn="tau_mem"), "tau_mem_log", stored)
    assert np.all(np.isfinite(g))
    assert 0.0 <= float(p.decay) <= 1.0
    g, p = _grad_at(jnnx.CTLIF(3, tau_mem=5.0, learn="tau_mem"), "tau_mem_log", stored)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(np.asarray(p.tau_mem)))


@pytest.mark.parametrize("stored", [-100.0, -5.0, 0.0, 5.0, 100.0])
def test_euler_tau_stays_above_dt_by_construction(stored):
    layer = jnnx.CTLIF(3, tau_mem=5.0, dt=0.5, method="euler", learn="tau_mem")
    np.testing.assert_allclose(float(layer.cell.neuron_params().tau_mem), 5.0, rtol=1e-6)
    g, p = _grad_at(layer, "tau_mem_excess", stored)
    assert np.all(np.isfinite(g))
    assert float(p.tau_mem) >= 0.5


def test_euler_learnable_tau_below_dt_is_refused():
    with pytest.raises(ValueError, match=r"learnable tau_mem must be > dt = 2.0"):
        jnnx.CTLIF(3, tau_mem=1.5, dt=2.0, method="euler", learn="tau_mem")


def test_sgd_cannot_push_li_decay_to_zero():
    layer = jnnx.LI(2, decay=0.5, learn="decay")
    x = jnp.ones((1, 5, 2))
    for _ in range(50):
        g = nnx.grad(lambda m: jnp.sum(m(x)))(layer)
        layer.cell.decay_logit[...] = layer.cell.decay_logit[...] + 100.0 * g.cell.decay_logit[...]
        layer.cell.decay_logit[...] = layer.cell.decay_logit[...] - 200.0 * jnp.abs(
            g.cell.decay_logit[...]
        )
    d = float(layer.cell.neuron_params().decay)
    assert 0.0 <= d < 1.0 and np.isfinite(d)


def test_wrong_carry_type_in_a_layer():
    layer = jnnx.LIF(3)
    bad = js.li_init(js.LIParams(), (2, 3))
    with pytest.raises(TypeError, match=r"lif_step: state must be a LIFState"):
        layer(jnp.ones((2, 4, 3)), initial_carry=bad)


def test_create_and_from_tau_derive_from_the_declaration():
    p = js.CubaLIFParams.from_tau(5.0, 20.0, dt=0.5, v_th=2.0)
    np.testing.assert_allclose(p.decay_syn, math.exp(-0.1), rtol=1e-6)
    np.testing.assert_allclose(p.decay_mem, math.exp(-0.025), rtol=1e-6)
    assert float(p.v_th) == 2.0
    p = js.ALIFParams.from_tau(tau_mem=20.0, tau_adapt=100.0)
    np.testing.assert_allclose(p.decay_adapt, math.exp(-0.01), rtol=1e-6)
    with pytest.raises(TypeError, match="unknown field 'tau'"):
        js.LIFParams.create(tau=3.0)
    with pytest.raises(TypeError, match="missing time constant"):
        js.CubaLIFParams.from_tau(5.0)
    step = functools.partial(js.lif_step, js.LIFParams.create())
    assert step is not None
