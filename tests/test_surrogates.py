"""Every surrogate: grad(spike) == g == S', documented peaks, no retrace, forward mode."""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js
from jaxspike.testing import check_surrogate


@js.surrogate_class
class Cosine(js.Surrogate):
    """A user-defined surrogate: g(x) = (pi / 2w) cos(pi x / w) on |x| < w/2."""

    width: float = 1.0

    def __call__(self, x):
        inside = jnp.abs(x) < self.width / 2
        return jnp.where(
            inside, math.pi / (2 * self.width) * jnp.cos(math.pi * x / self.width), 0.0
        )

    def smooth(self, x):
        xc = jnp.clip(x, -self.width / 2, self.width / 2)
        return 0.5 * jnp.sin(math.pi * xc / self.width)


# One registry: (surrogate, documented peak g(0) written from the docstring formula,
# kink positions to keep off the grid).
SURROGATES = [
    (js.FastSigmoid(slope=25.0), 1.0, [0.0]),
    (js.SuperSpike(slope=10.0), 1.0, [0.0]),
    (js.Sigmoid(slope=8.0), 8.0 / 4, []),
    (js.ATan(alpha=3.0), 3.0 / 2, []),
    (js.Triangle(width=0.7, height=0.3), 0.3, [0.0, -0.7, 0.7]),
    (js.Boxcar(width=1.3, height=0.5), 0.5, [-0.65, 0.65]),
    (js.StraightThrough(), 1.0, []),
    (js.Gaussian(sigma=0.4), 1.0 / (0.4 * math.sqrt(2 * math.pi)), []),
    (js.Exponential(alpha=2.0, beta=3.0), 2.0, [0.0]),
    (Cosine(width=1.5), math.pi / 3.0, [-0.75, 0.75]),
]
IDS = [f"{type(s).__name__}" for s, _, _ in SURROGATES]


def _grid(kinks):
    x = np.linspace(-2.0, 2.0, 81)
    keep = np.all(np.abs(x[:, None] - np.asarray([*kinks, 99.0])[None]) > 1e-3, axis=1)
    return jnp.asarray(x[keep], jnp.float32)


def test_registry_covers_every_builtin_surrogate():
    builtins = {
        obj
        for obj in vars(js).values()
        if isinstance(obj, type) and issubclass(obj, js.Surrogate) and obj is not js.Surrogate
    }
    builtins.discard(js.ForwardMode)
    assert builtins <= {type(s) for s, _, _ in SURROGATES}
    assert len(builtins) == 8
    assert js.SuperSpike is js.FastSigmoid


@pytest.mark.parametrize(("surrogate", "peak", "kinks"), SURROGATES, ids=IDS)
def test_grad_spike_equals_surrogate_equals_grad_smooth(surrogate, peak, kinks):
    x = _grid(kinks)
    d_spike = jax.vmap(jax.grad(lambda v: js.spike(v, surrogate)))(x)
    d_smooth = jax.vmap(jax.grad(surrogate.smooth))(x)
    g = surrogate(x)
    np.testing.assert_allclose(d_spike, g, rtol=1e-6, atol=0)
    np.testing.assert_allclose(d_smooth, g, rtol=2e-5, atol=1e-6)
    assert g.shape == x.shape
    assert np.all(np.asarray(g) >= 0)


@pytest.mark.parametrize(("surrogate", "peak", "kinks"), SURROGATES, ids=IDS)
def test_documented_peak(surrogate, peak, kinks):
    del kinks
    np.testing.assert_allclose(float(surrogate(jnp.asarray(0.0))), peak, rtol=1e-6)
    np.testing.assert_allclose(
        float(jax.grad(lambda v: js.spike(v, surrogate))(0.0)), peak, rtol=1e-6
    )


@pytest.mark.parametrize(("surrogate", "peak", "kinks"), SURROGATES, ids=IDS)
def test_check_surrogate_passes(surrogate, peak, kinks):
    del peak
    check_surrogate(surrogate, _grid(kinks))


def test_smooth_derivative_at_zero_for_kinked_primitives():
    # S' at 0 is well defined for these even though g has a kink there; autodiff must
    # give the peak, not a one-sided value (Exponential used sign/abs before).
    for s in (js.Exponential(alpha=2.0, beta=3.0), js.FastSigmoid(), js.Triangle()):
        np.testing.assert_allclose(float(jax.grad(s.smooth)(0.0)), float(s(0.0)), rtol=1e-6)


def test_check_surrogate_rejects_inconsistent_surrogate():
    @js.surrogate_class
    class Wrong(js.Surrogate):
        slope: float = 1.0

        def __call__(self, x):
            return 1.0 / (1.0 + self.slope * jnp.abs(x)) ** 2

        def smooth(self, x):  # derivative of this is 2x the surrogate
            return 2 * x / (1.0 + self.slope * jnp.abs(x))

    with pytest.raises(AssertionError, match="smooth"):
        check_surrogate(Wrong())
    with pytest.raises(TypeError, match="Surrogate"):
        check_surrogate(lambda x: x)


@pytest.mark.parametrize(("surrogate", "peak", "kinks"), SURROGATES, ids=IDS)
def test_equal_instances_do_not_retrace(surrogate, peak, kinks):
    del peak, kinks
    twin = dataclasses.replace(surrogate)
    assert twin is not surrogate and twin == surrogate and hash(twin) == hash(surrogate)
    traces = []

    def f(x, s):
        traces.append(None)
        return jax.grad(lambda v: js.spike(v, s).sum())(x)

    x = jnp.linspace(-1.0, 1.0, 5)
    as_arg = jax.jit(f)
    as_arg(x, surrogate)
    as_arg(x, twin)
    assert len(traces) == 1
    as_static = jax.jit(f, static_argnums=1)
    as_static(x, surrogate)
    as_static(x, twin)
    assert len(traces) == 2
    if dataclasses.fields(surrogate):
        # Hyperparameters are pytree leaves: new values do not retrace either.
        field = dataclasses.fields(surrogate)[0].name
        as_arg(x, dataclasses.replace(surrogate, **{field: 0.77}))
        assert len(traces) == 2


def test_get_surrogate_names_and_unknown():
    assert js.get_surrogate("atan", alpha=4.0) == js.ATan(alpha=4.0)
    assert js.get_surrogate("superspike") == js.FastSigmoid()
    assert js.get_surrogate("slayer") == js.Exponential()
    s = js.Boxcar()
    assert js.get_surrogate(s) is s
    with pytest.raises(ValueError, match="unknown surrogate 'no_such'"):
        js.get_surrogate("no_such")
    with pytest.raises(TypeError, match="surrogate"):
        js.get_surrogate(3.0)
    with pytest.raises(ValueError, match="unknown surrogate"):
        js.spike(jnp.zeros(3), "no_such")


# ---------------------------------------------------------------- forward mode


def _network(w, x_seq, surrogate):
    """A two-layer LIF network run by ``unroll``; loss = weighted spikes + membranes."""
    p = js.LIFParams(decay=0.8, v_th=0.5, v_reset=0.0)
    w1, w2 = w
    step = functools.partial(js.lif_step, p, surrogate=surrogate, detach_reset=False)

    def layers(carry, x):
        s1, s2 = carry
        s1, z1 = step(s1, x @ w1)
        s2, z2 = step(s2, z1 @ w2)
        return (s1, s2), jnp.sum(z2 * jnp.arange(1.0, w2.shape[1] + 1)) + 0.1 * jnp.sum(s1.v)

    init = (js.lif_init(p, (w1.shape[1],)), js.lif_init(p, (w2.shape[1],)))
    (_, s2), per_step = js.unroll(layers, init, x_seq)
    return jnp.sum(per_step) + jnp.sum(s2.v)


@pytest.mark.parametrize(
    "surrogate",
    [
        js.FastSigmoid(slope=5.0),
        pytest.param(js.ATan(), marks=pytest.mark.slow),
        pytest.param(Cosine(), marks=pytest.mark.slow),
    ],
    ids=str,
)
def test_forward_mode_matches_reverse_mode(surrogate):
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    w = (jax.random.normal(k1, (3, 4)), jax.random.normal(k2, (4, 2)))
    x_seq = jax.random.uniform(k3, (6, 3), minval=0.0, maxval=1.0)
    fwd = js.ForwardMode(surrogate)
    grad = jax.jit(jax.grad(_network))
    rev_vjp = grad(w, x_seq, surrogate)
    rev_jvp = grad(w, x_seq, fwd)
    for a, b in zip(jax.tree.leaves(rev_vjp), jax.tree.leaves(rev_jvp), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(np.any(np.asarray(a) != 0) for a in jax.tree.leaves(rev_vjp))
    # forward mode: jacfwd and jvp agree with the reverse-mode gradient.
    of_w1 = lambda a: _network((a, w[1]), x_seq, fwd)
    jf = jax.jit(jax.jacfwd(of_w1))(w[0])
    np.testing.assert_allclose(jf, rev_vjp[0], rtol=1e-5, atol=1e-6)
    tangent = jax.random.normal(jax.random.key(5), w[0].shape)
    _, jvp_out = jax.jit(lambda a, t: jax.jvp(of_w1, (a,), (t,)))(w[0], tangent)
    np.testing.assert_allclose(jvp_out, jnp.sum(rev_vjp[0] * tangent), rtol=1e-5, atol=1e-5)
    # the forward value is the same whichever rule is used.
    assert float(_network(w, x_seq, fwd)) == float(_network(w, x_seq, surrogate))


def test_forward_mode_wrapper_is_a_consistent_surrogate():
    check_surrogate(js.ForwardMode(js.Gaussian(sigma=0.3)))
    x = jnp.asarray(0.2)
    with pytest.raises(TypeError):
        jax.jvp(lambda v: js.spike(v, js.FastSigmoid()), (x,), (x,))
