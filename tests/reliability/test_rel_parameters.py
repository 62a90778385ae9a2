"""Reliability, category *parameters*: neuron parameters in layers (issue 16, items 4-6, 10).

Fixed parameters are range-checked in the layers exactly as in the functional
constructors; learnable ones are reparameterised so that they cannot leave their range
and their gradients stay finite at every stored value; a carry of the wrong type and a
nested time-major container give a clear error or the right answer.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from flax import nnx

import jaxspike as js
import jaxspike.linen as jsl
import jaxspike.nnx as jsnn


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: jsnn.LIF(1, decay=1.5), r"decay must lie in \[0.0, 1.0\], got 1.5"),
        (lambda: jsnn.LIF(1, decay=math.nan), "decay must not be NaN"),
        (lambda: jsnn.CTLIF(1, tau_mem=-5.0), "tau_mem must be > 0, got -5.0"),
        (lambda: jsnn.LIF(3, decay=1.2), r"decay must lie in \[0.0, 1.0\], got 1.2"),
    ],
)
def test_fixed_layer_parameters_are_range_checked(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_fixed_parameter_message_equals_the_functional_constructor():
    with pytest.raises(ValueError, match=r"decay must lie in \[0.0, 1.0\], got 1.2"):
        js.LIFParams.create(decay=1.2)


@pytest.mark.parametrize("stored", [-120.0, 120.0])
def test_saturated_decay_logit_has_finite_gradients_and_stays_in_range(stored):
    layer = jsnn.LI(2, decay=0.5, learn="decay")
    layer.cell.decay_logit[...] = jnp.full_like(layer.cell.decay_logit[...], stored)
    x = jnp.ones((1, 5, 2))
    g = nnx.grad(lambda m: jnp.sum(m(x)))(layer)
    assert np.all(np.isfinite(np.asarray(g.cell.decay_logit[...])))
    decay = float(layer.cell.neuron_params().decay)
    assert 0.0 <= decay <= 1.0


@pytest.mark.parametrize("stored", [-100.0, 100.0])
def test_euler_tau_cannot_fall_below_dt(stored):
    layer = jsnn.CTLIF(2, tau_mem=5.0, dt=0.5, method="euler", learn="tau_mem")
    layer.cell.tau_mem_excess[...] = jnp.full_like(layer.cell.tau_mem_excess[...], stored)
    x = jnp.ones((1, 5, 2))
    g = nnx.grad(lambda m: jnp.sum(m(x)))(layer)
    assert np.all(np.isfinite(np.asarray(g.cell.tau_mem_excess[...])))
    assert float(layer.cell.neuron_params().tau_mem) >= 0.5


def test_carry_of_another_model_raises_a_type_error_naming_the_step():
    layer = jsnn.LIF(3)
    with pytest.raises(TypeError, match=r"lif_step: state must be a LIFState"):
        layer(jnp.ones((2, 4, 3)), initial_carry=js.li_init(js.LIParams(), (2, 3)))


def test_tuple_carry_raises_a_type_error_in_the_core():
    p = js.LIFParams()
    with pytest.raises(TypeError, match=r"lif_step: state must be a LIFState"):
        js.lif_step(p, (jnp.zeros(3), jnp.zeros(3)), jnp.ones(3))


def test_linen_nested_time_major_sequential_equals_the_flat_model():
    x = np.random.default_rng(0).uniform(0.0, 0.6, (2, 7, 3)).astype(np.float32)
    flat = jsl.Sequential([nn.Dense(4), jsl.LIF(4, decay=0.8)])
    nested = jsl.Sequential([jsl.Sequential([nn.Dense(4), jsl.LIF(4, decay=0.8)], time_major=True)])
    params = flat.init(jax.random.key(0), x)
    inner = {"params": {"layers_0": params["params"]}}
    out_flat = flat.apply(params, x)
    out_nested = nested.apply(inner, x)
    np.testing.assert_array_equal(np.asarray(out_nested), np.asarray(out_flat))
