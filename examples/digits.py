"""Train a spiking classifier on the 8x8 handwritten digits (the README's first command).

    python examples/digits.py            # full run: >= 97% test accuracy, < 60 s on 2 CPU cores
    python examples/digits.py --smoke    # a few seconds, for the tests

Pipeline: pixel intensities -> Bernoulli rate code (``jaxspike.encoding.rate``) ->
Linear -> LIF -> Linear -> leaky-integrator readout -> mean membrane over time ->
softmax cross-entropy. Trained with surrogate gradients and Adam; deterministic from
``--seed``. Prints test accuracy and the throughput of jit-compiled batch inference.
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxspike as js
import jaxspike.nnx as jsnn
from jaxspike.datasets import load_digits, train_test_split
from jaxspike.encoding import rate


def build_model(hidden: int, *, rngs: nnx.Rngs) -> jsnn.Sequential:
    """64 inputs -> `hidden` LIF neurons -> 10 leaky integrators (one per class)."""
    return jsnn.Sequential(
        nnx.Linear(64, hidden, rngs=rngs),
        jsnn.LIF(hidden, decay=0.85, surrogate=js.FastSigmoid(slope=10.0)),
        nnx.Linear(hidden, 10, rngs=rngs),
        jsnn.LI(10, decay=0.9),
    )


def readout(v, how):
    """Class scores from the readout membrane ``v[B, T, 10]``."""
    return jnp.max(v, axis=1) if how == "max" else jnp.mean(v, axis=1)


def make_loss_fn(num_steps: int, how: str):
    """Return ``loss_fn(model, (images, labels, key)) -> (loss, logits)``."""

    def loss_fn(model, batch):
        images, labels, key = batch
        spikes = rate(key, images, num_steps, time_axis=1)  # [B, T, 64]
        logits = readout(model(spikes), how)  # [B, T, 10] -> [B, 10]
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        return loss, logits

    return loss_fn


def batches(x, y, batch_size, key, rng=None):
    """Yield ``(images, labels, key)`` batches, shuffled when ``rng`` is given."""
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for k, start in enumerate(range(0, len(x), batch_size)):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx], jax.random.fold_in(key, k)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--num-steps", type=int, default=20, help="time steps T")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak Adam step (cosine decay)")
    parser.add_argument("--readout", choices=("max", "mean"), default="mean")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for the tests")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.num_steps, args.hidden = 2, 5, 32
    t0 = time.perf_counter()

    images, labels = load_digits()
    x = (images.reshape(len(images), 64) / 16.0).astype(np.float32)
    y = labels.astype(np.int32)
    train_idx, test_idx = train_test_split(len(x), test_fraction=0.2, seed=args.seed)
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]

    model = build_model(args.hidden, rngs=nnx.Rngs(args.seed))
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    schedule = optax.cosine_decay_schedule(args.lr, steps)
    optimizer = nnx.Optimizer(
        model, optax.adamw(schedule, weight_decay=args.weight_decay), wrt=nnx.Param
    )
    loss_fn = make_loss_fn(args.num_steps, args.readout)
    key = jax.random.key(args.seed)
    rng = np.random.default_rng(args.seed)

    bar = jsnn.ProgressBar(range(args.epochs), desc="training")
    for epoch in bar:
        losses = [
            jsnn.train_step(model, optimizer, batch, loss_fn)[0]
            for batch in batches(
                x_train, y_train, args.batch_size, jax.random.fold_in(key, epoch), rng
            )
        ]
        bar.set_postfix(loss=float(np.mean(losses)))

    test_key = jax.random.fold_in(key, 10**6)
    metrics = jsnn.evaluate(model, batches(x_test, y_test, 512, test_key), loss_fn)
    train_time = time.perf_counter() - t0

    # Jit-compiled batch inference: spikes in, class predictions out.
    @nnx.jit
    def predict(model, spikes):
        return jnp.argmax(readout(model(spikes), args.readout), axis=-1)

    spikes = rate(test_key, jnp.asarray(x_test), args.num_steps, time_axis=1)
    predict(model, spikes).block_until_ready()  # compile
    repeats = 3 if args.smoke else 20
    start = time.perf_counter()
    for _ in range(repeats):
        predict(model, spikes).block_until_ready()
    throughput = repeats * len(x_test) / (time.perf_counter() - start)

    print(f"test accuracy: {100 * metrics['accuracy']:.2f}% ({len(x_test)} held-out digits)")
    print(f"train + evaluate time: {train_time:.1f} s (compilation included)")
    print(
        f"inference throughput: {throughput:,.0f} samples/s "
        f"(batch {len(x_test)}, T={args.num_steps})"
    )
    sys.stdout.flush()
    return {"accuracy": metrics["accuracy"], "time": train_time, "throughput": throughput}


if __name__ == "__main__":
    main()
