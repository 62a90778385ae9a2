"""NEURONS registry and create_neuron: every entry is consistent and equals direct calls."""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js


def test_registry_entries():
    assert set(js.NEURONS) == {
        "if",
        "lif",
        "ctlif",
        "cuba_lif",
        "alif",
        "adlif",
        "li",
        "izhikevich",
    }
    for name, model in js.NEURONS.items():
        assert isinstance(model, js.NeuronModel)
        params = model.params_cls()
        state = model.init(params, (2, 3))
        assert all(leaf.shape == (2, 3) for leaf in jax.tree.leaves(state)), name
        assert model.step.__name__.startswith(name), name
        assert "create" in vars(model.params_cls), name
        sig = inspect.signature(model.step)
        kinds = [p.kind for p in sig.parameters.values()]
        assert kinds[:3] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 3, name
        assert all(k == inspect.Parameter.KEYWORD_ONLY for k in kinds[3:]), name
        if model.spiking:
            shared = {"reset", "surrogate", "detach_reset", "threshold", "multi_spike", "v_min"}
            assert shared | {"reset_at", "refractory"} <= set(sig.parameters), name
            assert "pre_reset" not in sig.parameters, name


@pytest.mark.parametrize("name", sorted(js.NEURONS))
def test_create_neuron_equals_direct_call(name):
    model = js.NEURONS[name]
    kwargs = {"v_th": 0.8} if "v_th" in model.params_cls._fields else {}
    n = js.create_neuron(name, **kwargs)
    assert n.name == name
    direct = model.params_cls.create(**kwargs)
    for a, b in zip(n.params, direct, strict=True):
        np.testing.assert_array_equal(a, b)
    xs = jax.random.uniform(jax.random.key(0), (5, 4), maxval=20.0 if name == "izhikevich" else 1.0)
    _, ys = js.unroll(n.step, n.init((4,)), xs)
    _, ys_direct = js.unroll(functools.partial(model.step, direct), model.init(direct, (4,)), xs)
    np.testing.assert_array_equal(ys, ys_direct)


@pytest.mark.parametrize(
    ("leak_mode", "family"),
    [("multiplicative", "lif"), ("continuous", "ctlif"), ("subtractive", "if"), (None, "lif")],
)
def test_leak_modes(leak_mode, family):
    n = js.create_neuron("LIF", leak_mode=leak_mode)
    assert n.name == family
    assert type(n.params) is js.NEURONS[family].params_cls


def test_create_neuron_options_are_bound():
    n = js.create_neuron("ctlif", tau_mem=10.0, v_th=0.5, dt=0.5, method="euler", reset="subtract")
    state, s = n.step(n.init(()), jnp.asarray(3.0))
    # Euler: v = 0 + (0.5 / 10) * (3 - 0) = 0.15 < 0.5
    np.testing.assert_allclose(state.v, 0.15, rtol=1e-6)
    assert float(s) == 0.0
    state = n.init((), jnp.bfloat16)
    assert state.v.dtype == jnp.bfloat16
