"""Training helpers: optax + nnx.Optimizer, loss decreases, exact checkpoints."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxspike as js
import jaxspike.nnx as jsnn


def make_model(seed=0):
    rngs = nnx.Rngs(seed)
    return jsnn.Sequential(
        nnx.Linear(6, 16, rngs=rngs),
        jsnn.LIF(16, learn="decay", per_neuron=True, surrogate=js.FastSigmoid(slope=10.0)),
        nnx.Linear(16, 2, rngs=rngs),
        jsnn.LI(2),
    )


def loss_fn(model, batch):
    x, y = batch
    logits = jnp.mean(model(x), axis=1)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits


def toy_batch(n=32, steps=8):
    """Two classes: class 1 drives the first three inputs, class 0 the last three."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    p = np.where(y[:, None] == 1, [0.8] * 3 + [0.1] * 3, [0.1] * 3 + [0.8] * 3)
    x = (rng.random((n, steps, 6)) < p[:, None, :]).astype(np.float32)
    return jnp.asarray(x), jnp.asarray(y, jnp.int32)


@pytest.mark.parametrize("graph", [True, False])
@pytest.mark.parametrize(
    "tx", [optax.adam(0.02), optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.5))]
)
def test_training_reduces_the_loss(graph, tx, graph_mode):
    batch = toy_batch()
    with graph_mode(graph):
        model = make_model()
        optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
        losses = [float(jsnn.train_step(model, optimizer, batch, loss_fn)[0]) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert jsnn.evaluate(model, [batch], loss_fn)["accuracy"] > 0.9


def test_evaluate_matches_manual_accuracy():
    model = make_model()
    batch = toy_batch(20)
    got = jsnn.evaluate(
        model, [(batch[0][:8], batch[1][:8]), (batch[0][8:], batch[1][8:])], loss_fn
    )
    loss, logits = loss_fn(model, batch)
    acc = float(jnp.mean(jnp.argmax(logits, -1) == batch[1]))
    assert got["accuracy"] == pytest.approx(acc)
    assert got["loss"] == pytest.approx(float(loss), rel=1e-5)
    with pytest.raises(ValueError, match="empty"):
        jsnn.evaluate(model, [], loss_fn)


def test_checkpoint_round_trip_is_bit_identical(tmp_path):
    batch = toy_batch()
    model = make_model(seed=0)
    optimizer = nnx.Optimizer(model, optax.adam(0.02), wrt=nnx.Param)
    for _ in range(3):
        jsnn.train_step(model, optimizer, batch, loss_fn)
    jsnn.save_checkpoint(tmp_path / "model.msgpack", model)
    jsnn.save_checkpoint(tmp_path / "opt.msgpack", optimizer)

    fresh = make_model(seed=1)  # different initial weights
    assert not np.array_equal(fresh(batch[0]), model(batch[0]))
    jsnn.load_checkpoint(tmp_path / "model.msgpack", fresh)
    np.testing.assert_array_equal(fresh(batch[0]), model(batch[0]))
    for a, b in zip(
        jax.tree.leaves(nnx.state(fresh)), jax.tree.leaves(nnx.state(model)), strict=True
    ):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)

    # the optimizer resumes identically too
    fresh_opt = nnx.Optimizer(fresh, optax.adam(0.02), wrt=nnx.Param)
    jsnn.load_checkpoint(tmp_path / "opt.msgpack", fresh_opt)
    a = jsnn.train_step(model, optimizer, batch, loss_fn)[0]
    b = jsnn.train_step(fresh, fresh_opt, batch, loss_fn)[0]
    assert float(a) == float(b)
    np.testing.assert_array_equal(fresh(batch[0]), model(batch[0]))


def test_checkpoint_structure_mismatch_raises(tmp_path):
    jsnn.save_checkpoint(tmp_path / "m.msgpack", make_model())
    other = jsnn.Sequential(nnx.Linear(6, 2, rngs=nnx.Rngs(0)), jsnn.LI(2))
    with pytest.raises(ValueError, match="does not match"):
        jsnn.load_checkpoint(tmp_path / "m.msgpack", other)
