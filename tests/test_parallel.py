"""Data-parallel training over 4 (forced host) devices equals single-device training."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from jaxspike.nnx._parallel import data_mesh, replicate, shard_batch

SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np, optax
    from flax import nnx
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    from jaxspike.nnx import LIF, Sequential, train_step
    from jaxspike.nnx._parallel import data_mesh, replicate, shard_batch

    assert len(jax.devices()) == 4, jax.devices()

    def make():
        rngs = nnx.Rngs(0)
        model = Sequential(
            nnx.Linear(12, 16, kernel_init=nnx.initializers.normal(1.0), rngs=rngs),
            LIF(16), nnx.Linear(16, 5, rngs=rngs), LIF(5), time_major=True)
        return model, nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    def loss_fn(model, batch):
        counts = model(batch[0]).sum(0)
        return optax.softmax_cross_entropy_with_integer_labels(counts, batch[1]).mean(), counts

    rng = np.random.default_rng(0)
    batches = [((rng.random((9, 8, 12)) < 0.3).astype(np.float32),
                rng.integers(0, 5, 8).astype(np.int32)) for _ in range(4)]

    single, opt1 = make()
    for b in batches:
        train_step(single, opt1, (jnp.asarray(b[0]), jnp.asarray(b[1])), loss_fn)

    mesh = data_mesh()
    multi, opt4 = make()
    replicate(multi, opt4, mesh=mesh)
    for b in batches:
        sharded = shard_batch(b, mesh, batch_axis=1)
        assert tuple(sharded[0].sharding.spec)[:2] == (None, "data"), sharded[0].sharding
        assert len(sharded[0].addressable_shards) == 4
        loss, _ = train_step(multi, opt4, sharded, loss_fn)

    k = multi.layers[0].layer.kernel[...]
    assert k.sharding.is_fully_replicated and len(k.devices()) == 4, k.sharding
    p1 = jax.tree.leaves(nnx.state(single, nnx.Param))
    p4 = jax.tree.leaves(nnx.state(multi, nnx.Param))
    moved = max(float(jnp.abs(a - b).max()) for a, b in zip(
        p1, jax.tree.leaves(nnx.state(make()[0], nnx.Param))))
    assert moved > 1e-3, moved  # training changed the parameters
    for a, b in zip(p1, p4, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)

    # tensor-parallel recipe (docs/benchmarks.md): hidden neurons split over a 'model' axis
    mesh2 = Mesh(np.asarray(jax.devices()).reshape(2, 2), ("data", "model"))
    tp, _ = make()
    w = tp.layers[0].layer.kernel
    w.set_value(jax.device_put(w[...], NamedSharding(mesh2, P(None, "model"))))
    x = jax.device_put(jnp.asarray(batches[0][0]), NamedSharding(mesh2, P(None, "data")))
    out = nnx.jit(lambda m, x: m(x))(tp, x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(make()[0](jnp.asarray(batches[0][0]))))
    print("OK")
    """
)


def test_data_parallel_equals_single_device():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


def test_shard_batch_checks_divisibility():
    mesh = data_mesh(jax.devices()[:1])
    x = shard_batch({"x": jnp.ones((3, 2))}, mesh)
    assert x["x"].shape == (3, 2)
    with pytest.raises(ValueError, match="shard_batch: an array of shape"):
        shard_batch(jnp.asarray(1.0), mesh)


def test_replicate_places_model_on_mesh():
    model = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
    replicate(model, mesh=data_mesh())
    assert model.kernel[...].sharding.is_fully_replicated
    with pytest.raises(ValueError, match="devices is empty"):
        data_mesh([])
