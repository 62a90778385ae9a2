"""Train a convolutional spiking network on the 8x8 digits: Conv -> LIF -> pool -> Linear -> LI.

    python examples/digits_conv.py
    python examples/digits_conv.py --smoke    # a few seconds, for the tests

Images are rate coded into ``[B, T, 8, 8, 1]`` spike movies. ``nnx.Conv``, pooling and
``nnx.Linear`` run once on the ``[B*T, ...]`` batch (time folded into the batch by
``jaxspike.nnx.Sequential``); only the neurons are scanned over time.
"""

from __future__ import annotations

import argparse
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

import jaxspike as js
import jaxspike.nnx as jsnn
from jaxspike.data.datasets import load_digits, train_test_split
from jaxspike.encoding import rate
from jaxspike.losses import cross_entropy
from jaxspike.readout import membrane_integral


def build_model(channels: int, *, rngs: nnx.Rngs) -> jsnn.Sequential:
    """Conv(3x3) -> LIF on (B, H, W, C) -> 2x2 max pool -> flatten -> Linear -> LI."""
    surrogate = js.FastSigmoid(slope=10.0)
    return jsnn.Sequential(
        nnx.Conv(1, channels, (3, 3), rngs=rngs),
        jsnn.LIF(channels, decay=0.85, surrogate=surrogate),
        functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2)),
        lambda x: x.reshape(x.shape[0], -1),
        nnx.Linear(4 * 4 * channels, 10, rngs=rngs),
        jsnn.LI(10, decay=0.9),
    )


def make_loss_fn(num_steps: int):
    """Return ``loss_fn(model, (images, labels, key)) -> (loss, logits)``."""

    def loss_fn(model, batch):
        images, labels, key = batch
        spikes = rate(key, images, num_steps, time_axis=1)  # [B, T, 8, 8, 1]
        # mean readout membrane over time: its integral over a presentation of length 1
        logits = membrane_integral(model(spikes), time_axis=1, dt=1.0 / num_steps)
        return cross_entropy(logits, labels), logits

    return loss_fn


def batches(x, y, batch_size, key, rng=None):
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for k, start in enumerate(range(0, len(x), batch_size)):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx], jax.random.fold_in(key, k)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--num-steps", type=int, default=10, help="time steps T")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-3, help="peak Adam step (cosine decay)")
    parser.add_argument("--smoke", action="store_true", help="tiny run for the tests")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.num_steps, args.channels = 1, 3, 4
    t0 = time.perf_counter()

    images, labels = load_digits()
    x = (images[..., None] / 16.0).astype(np.float32)  # (N, 8, 8, 1)
    y = labels.astype(np.int32)
    train_idx, test_idx = train_test_split(len(x), test_fraction=0.2, seed=args.seed)
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]

    model = build_model(args.channels, rngs=nnx.Rngs(args.seed))
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    optimizer = nnx.Optimizer(
        model, optax.adam(optax.cosine_decay_schedule(args.lr, steps)), wrt=nnx.Param
    )
    loss_fn = make_loss_fn(args.num_steps)
    key = jax.random.key(args.seed)
    rng = np.random.default_rng(args.seed)

    bar = tqdm(range(args.epochs), desc="training")
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

    @nnx.jit
    def predict(model, spikes):
        scores = membrane_integral(model(spikes), time_axis=1, dt=1.0 / args.num_steps)
        return jnp.argmax(scores, axis=-1)

    spikes = rate(test_key, jnp.asarray(x_test), args.num_steps, time_axis=1)
    predict(model, spikes).block_until_ready()  # compile
    repeats = 2 if args.smoke else 10
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
    return {"accuracy": metrics["accuracy"], "time": train_time, "throughput": throughput}


if __name__ == "__main__":
    main()
