"""Bad input raises the right exception, naming the function and the argument."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js

STEPS = {
    "if_step": (js.if_step, js.IFParams(), js.if_init),
    "lif_step": (js.lif_step, js.LIFParams(), js.lif_init),
    "ctlif_step": (js.ctlif_step, js.CTLIFParams(), js.lif_init),
    "cuba_lif_step": (js.cuba_lif_step, js.CubaLIFParams(), js.cuba_lif_init),
    "alif_step": (js.alif_step, js.ALIFParams(), js.alif_init),
    "li_step": (js.li_step, js.LIParams(), js.li_init),
    "izhikevich_step": (js.izhikevich_step, js.IzhikevichParams(), js.izhikevich_init),
}
SPIKING = [k for k in STEPS if k != "li_step"]


@pytest.mark.parametrize("fn", list(STEPS))
def test_shape_mismatch(fn):
    step, p, init = STEPS[fn]
    with pytest.raises(
        ValueError, match=rf"{fn}: x has shape \(3, 5\) but the state has shape \(3, 4\)"
    ):
        step(p, init(p, (3, 4)), jnp.zeros((3, 5)))
    # no silent broadcasting either
    with pytest.raises(ValueError, match=rf"{fn}: x has shape \(4,\)"):
        step(p, init(p, (3, 4)), jnp.zeros((4,)))


@pytest.mark.parametrize("fn", list(STEPS))
def test_integer_input(fn):
    step, p, init = STEPS[fn]
    with pytest.raises(TypeError, match=rf"{fn}: x must have a floating dtype, got int32"):
        step(p, init(p, (3,)), jnp.zeros((3,), jnp.int32))


@pytest.mark.parametrize("fn", SPIKING)
def test_unknown_surrogate_name(fn):
    step, p, init = STEPS[fn]
    with pytest.raises(ValueError, match=rf"{fn}: .*unknown surrogate 'nope'"):
        step(p, init(p, (3,)), jnp.zeros(3), surrogate="nope")
    with pytest.raises(TypeError, match=rf"{fn}: surrogate must be"):
        step(p, init(p, (3,)), jnp.zeros(3), surrogate=1.5)


@pytest.mark.parametrize("fn", ["if_step", "lif_step", "ctlif_step", "cuba_lif_step", "alif_step"])
def test_unknown_reset(fn):
    step, p, init = STEPS[fn]
    with pytest.raises(ValueError, match=rf"{fn}: reset must be one of .*got 'soft'"):
        step(p, init(p, (3,)), jnp.zeros(3), reset="soft")


def test_unknown_ctlif_method():
    p = js.CTLIFParams()
    with pytest.raises(ValueError, match="ctlif_step: method must be one of"):
        js.ctlif_step(p, js.lif_init(p, ()), jnp.asarray(0.0), method="rk4")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: js.LIFParams.from_tau(0.0), r"LIFParams.from_tau: tau_mem must be > 0, got 0.0"),
        (lambda: js.LIFParams.from_tau(-3.0), r"LIFParams.from_tau: tau_mem must be > 0"),
        (lambda: js.LIFParams.from_tau(5.0, dt=0.0), r"LIFParams.from_tau: dt must be > 0"),
        (lambda: js.CTLIFParams.create(tau_mem=0.0), r"CTLIFParams: tau_mem must be > 0"),
        (lambda: js.CTLIFParams.create(tau_mem=[1.0, -1.0]), r"CTLIFParams: tau_mem must be > 0"),
        (
            lambda: js.CubaLIFParams.from_tau(0.0, 5.0),
            r"CubaLIFParams.from_tau: tau_syn must be > 0",
        ),
        (
            lambda: js.CubaLIFParams.from_tau(5.0, -1.0),
            r"CubaLIFParams.from_tau: tau_mem must be > 0",
        ),
        (
            lambda: js.CubaLIFParams.from_tau(5.0, 5.0, dt=-1.0),
            r"CubaLIFParams.from_tau: dt must be > 0",
        ),
        (lambda: js.LIParams.from_tau(-1.0), r"LIParams.from_tau: tau_mem must be > 0"),
        (lambda: js.LIParams.from_tau(1.0, dt=math.nan), r"LIParams.from_tau: dt must be > 0"),
    ],
)
def test_non_positive_tau_and_dt(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("dt", [0.0, -0.5, math.nan])
def test_step_dt(dt):
    p = js.CTLIFParams()
    with pytest.raises(ValueError, match="ctlif_step: dt must be > 0"):
        js.ctlif_step(p, js.lif_init(p, ()), jnp.asarray(1.0), dt=dt)
    q = js.IzhikevichParams()
    with pytest.raises(ValueError, match="izhikevich_step: dt must be > 0"):
        js.izhikevich_step(q, js.izhikevich_init(q, ()), jnp.asarray(1.0), dt=dt)
    with pytest.raises(ValueError, match="ctlif_step: dt must be a scalar"):
        js.ctlif_step(p, js.lif_init(p, ()), jnp.asarray(1.0), dt=jnp.ones(2))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: js.LIFParams.create(decay=1.5),
            r"LIFParams: decay must lie in \[0.0, 1.0\], got 1.5",
        ),
        (lambda: js.LIFParams.create(decay=-0.1), r"LIFParams: decay must lie in \[0.0, 1.0\]"),
        (lambda: js.LIFParams.create(decay=[0.5, 1.01]), r"LIFParams: decay must lie in"),
        (lambda: js.CubaLIFParams.create(decay_syn=2.0), r"CubaLIFParams: decay_syn must lie in"),
        (lambda: js.CubaLIFParams.create(decay_mem=-1.0), r"CubaLIFParams: decay_mem must lie in"),
        (lambda: js.ALIFParams.create(decay=1.2), r"ALIFParams: decay must lie in"),
        (lambda: js.ALIFParams.create(decay_adapt=-0.2), r"ALIFParams: decay_adapt must lie in"),
        (lambda: js.LIParams.create(decay=3.0), r"LIParams: decay must lie in"),
    ],
)
def test_decay_out_of_range(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    ("cls", "field"),
    [
        (js.IFParams, "v_th"),
        (js.IFParams, "v_reset"),
        (js.IFParams, "leak"),
        (js.IFParams, "v_min"),
        (js.LIFParams, "decay"),
        (js.LIFParams, "v_th"),
        (js.LIFParams, "v_reset"),
        (js.CTLIFParams, "tau_mem"),
        (js.CTLIFParams, "v_leak"),
        (js.CTLIFParams, "r"),
        (js.CTLIFParams, "i_bias"),
        (js.CTLIFParams, "v_th"),
        (js.CubaLIFParams, "decay_syn"),
        (js.CubaLIFParams, "v_th"),
        (js.ALIFParams, "adapt"),
        (js.ALIFParams, "v_reset"),
        (js.LIParams, "decay"),
        (js.IzhikevichParams, "a"),
        (js.IzhikevichParams, "d"),
        (js.IzhikevichParams, "v_th"),
    ],
)
def test_nan_parameters(cls, field):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: {field} must not be NaN"):
        cls.create(**{field: [1.0, math.nan] if field != "leak" else math.nan})


def test_negative_if_leak():
    with pytest.raises(ValueError, match="IFParams: leak must be >= 0"):
        js.IFParams.create(leak=-1.0)


@pytest.mark.parametrize("fn", list(STEPS))
def test_per_neuron_param_that_would_grow_the_state(fn):
    step, p, init = STEPS[fn]
    field = p._fields[0]
    grown = p._replace(**{field: jnp.full((2, 3), 0.5)})
    with pytest.raises(
        ValueError, match=rf"{fn}: parameter {field} has shape \(2, 3\), which does not broadcast"
    ):
        step(grown, init(p, (3,)), jnp.zeros(3))
    wrong = p._replace(**{field: jnp.full((4,), 0.5)})
    with pytest.raises(ValueError, match=rf"{fn}: parameter {field} has shape \(4,\)"):
        step(wrong, init(p, (2, 3)), jnp.zeros((2, 3)))


def test_izhikevich_preset_unknown():
    with pytest.raises(ValueError, match=r"IzhikevichParams\.preset: unknown preset 'XX'"):
        js.IzhikevichParams.preset("XX")


def test_create_neuron_errors():
    with pytest.raises(ValueError, match="create_neuron: unknown neuron 'hodgkin'"):
        js.create_neuron("hodgkin")
    with pytest.raises(
        ValueError, match=r"create_neuron: unknown keyword\(s\) \['tau'\] for 'lif'"
    ):
        js.create_neuron("lif", tau=3.0)
    with pytest.raises(ValueError, match="create_neuron: leak_mode must be one of"):
        js.create_neuron("lif", leak_mode="quadratic")
    with pytest.raises(ValueError, match="create_neuron: leak_mode applies to 'lif' only"):
        js.create_neuron("if", leak_mode="subtractive")
    with pytest.raises(ValueError, match="LIFParams: decay must lie in"):
        js.create_neuron("lif", decay=2.0)
    with pytest.raises(ValueError, match=r"create_neuron: unknown keyword\(s\) \['dt'\]"):
        js.create_neuron("cuba_lif", dt=2.0)


def test_unroll_errors():
    p = js.LIFParams()
    step = functools.partial(js.lif_step, p)
    state = js.lif_init(p, (3,))
    with pytest.raises(ValueError, match="unroll: inputs disagree on the number of time steps"):
        js.unroll(lambda s, x: (s, x[0] + x[1]), state, (jnp.zeros((4, 3)), jnp.zeros((5, 3))))
    with pytest.raises(ValueError, match="unroll: every input needs a time axis at position 0"):
        js.unroll(step, js.lif_init(p, ()), jnp.asarray(1.0))
    with pytest.raises(ValueError, match="unroll: xs must contain at least one array"):
        js.unroll(step, state, ())
    with pytest.raises(ValueError, match="unroll: checkpoint must be a bool or an int >= 1, got 0"):
        js.unroll(step, state, jnp.zeros((4, 3)), checkpoint=0)
    with pytest.raises(
        ValueError, match="unroll_batch_major: every input needs a time axis at position 1"
    ):
        js.unroll_batch_major(step, state, jnp.zeros((3,)))
    with pytest.raises(ValueError, match="unroll_batch_major: inputs disagree"):
        js.unroll_batch_major(lambda s, x: (s, x[0]), state, (jnp.zeros((3, 4)), jnp.zeros((3, 2))))
    # a step whose state changes shape is caught by lax.scan at trace time
    with pytest.raises(TypeError):
        js.unroll(lambda s, x: (jnp.concatenate([s, x]), x), jnp.zeros(1), jnp.zeros((2, 1)))


def test_errors_are_raised_at_trace_time_under_jit():
    p = js.LIFParams()
    with pytest.raises(ValueError, match="lif_step: x has shape"):
        jax.jit(js.lif_step)(p, js.lif_init(p, (3,)), jnp.zeros(4))
    with pytest.raises(TypeError, match="lif_step: x must have a floating dtype"):
        jax.jit(js.lif_step)(p, js.lif_init(p, (3,)), jnp.zeros(3, jnp.int32))


def test_get_surrogate_rejects_kwargs_with_instance():
    with pytest.raises(TypeError, match="get_surrogate: keyword arguments only apply to a name"):
        js.get_surrogate(js.ATan(), alpha=1.0)


@pytest.mark.parametrize("fn", list(STEPS))
def test_input_dtype_that_would_change_the_state_dtype(fn):
    step, p, init = STEPS[fn]
    with pytest.raises(
        TypeError, match=rf"{fn}: x has dtype float32 but the state has dtype bfloat16"
    ):
        step(p, init(p, (3,), jnp.bfloat16), jnp.zeros(3, jnp.float32))
    # mixed precision the other way keeps the float32 state; Python scalars are weak.
    state, _ = step(p, init(p, (3,)), jnp.zeros(3, jnp.bfloat16))
    assert state.v.dtype == jnp.float32
    state, _ = step(p, init(p, (), jnp.bfloat16), 1.0)
    assert state.v.dtype == jnp.bfloat16


def test_lif_next_step_reset_with_zero_decay():
    """decay = 0 with reset_at="next_step" (old decay_reset=False): u_t = x_t - v_th s_{t-1}.

    The old convention divided by the decay and refused 0; the stored pre-reset membrane
    needs no division, so the sequence is finite and follows the equation.
    """
    p = js.LIFParams.create(decay=[0.5, 0.0])
    step = functools.partial(js.lif_step, p, decay_reset=False)
    state, s = step(js.lif_init(p, (2,)), jnp.full(2, 1.5))
    np.testing.assert_array_equal(s, [1.0, 1.0])
    state, s = step(state, jnp.full(2, 0.25))
    np.testing.assert_allclose(state.v, [0.5 * 1.5 + 0.25 - 1.0, 0.25 - 1.0])
    np.testing.assert_array_equal(s, [0.0, 0.0])
