"""spike: Heaviside forward with H(0) = 1, dtype follows the input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxspike as js

X = [-2.0, -1e-3, 0.0, 1e-3, 0.5, 3.0]
H = [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]  # H(x) = 1[x >= 0]


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_heaviside_forward_and_dtype(dtype):
    x = jnp.asarray(X, dtype)
    s = js.spike(x, js.FastSigmoid())
    assert s.dtype == dtype
    assert s.shape == x.shape
    np.testing.assert_array_equal(np.asarray(s, np.float32), H)
    g = jax.grad(lambda v: js.spike(v, js.ATan()).sum())(x)
    assert g.dtype == dtype


def test_heaviside_float64(x64):
    x = jnp.asarray(X, jnp.float64)
    s = js.spike(x, js.Gaussian())
    assert s.dtype == jnp.float64
    np.testing.assert_array_equal(s, H)
    # the smallest positive float64 fires, the largest negative one does not.
    tiny = np.finfo(np.float64).tiny
    np.testing.assert_array_equal(js.spike(jnp.asarray([-tiny, tiny]), js.Boxcar()), [0.0, 1.0])
    g = jax.grad(lambda v: js.spike(v, js.Sigmoid(slope=4.0)).sum())(x)
    assert g.dtype == jnp.float64
    np.testing.assert_allclose(g[2], 1.0)  # k/4 with k=4


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 2, 2, 3)])
def test_shapes_and_surrogate_names(shape):
    x = jnp.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape)
    s = js.spike(x, "atan")
    assert s.shape == shape
    np.testing.assert_array_equal(s, (np.asarray(x) >= 0).astype(np.float32))


def test_spike_in_jit_vmap_grad():
    x = jnp.asarray([[-0.3, 0.0], [0.2, -1.0]])
    s = jax.jit(jax.vmap(lambda v: js.spike(v, js.Triangle(width=1.0))))(x)
    np.testing.assert_array_equal(s, [[0.0, 1.0], [1.0, 0.0]])
    g = jax.jit(jax.vmap(jax.grad(lambda v: js.spike(v, js.Triangle(width=1.0)).sum())))(x)
    np.testing.assert_allclose(g, np.maximum(0.0, 1.0 - np.abs(np.asarray(x))), rtol=1e-6)


def test_cotangent_is_multiplied_by_surrogate():
    x = jnp.asarray([0.1, -0.2])
    w = jnp.asarray([3.0, -2.0])
    g = jax.grad(lambda v: jnp.sum(w * js.spike(v, js.StraightThrough())))(x)
    np.testing.assert_array_equal(g, w)


def test_integer_input_raises():
    with pytest.raises(TypeError, match="floating dtype"):
        js.spike(jnp.asarray([1, 2]), js.FastSigmoid())
