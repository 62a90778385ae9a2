"""Convert a trained ReLU network on the 8x8 digits into integrate-and-fire neurons.

    python examples/ann_to_snn.py            # MLP and CNN, about 30 s on 2 CPU cores
    python examples/ann_to_snn.py --smoke    # MLP only, a few seconds, for the tests

Trains an ANN with ordinary backpropagation (an MLP 64-128-10 and a small CNN with batch
norm and average pooling), converts it with ``jaxspike.nnx.convert.convert`` (per-layer
scales from the 99.9th percentile of the activations on the training images), runs the
spiking network for up to ``T`` steps and prints the test accuracy after each ``T`` of a
list, next to the ANN's, and the correlation between the spike rates of the hidden IF
neurons and the ANN's ReLU activations on the test images.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jaxspike.data.datasets import load_digits, train_test_split
from jaxspike.nnx import convert

STEPS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def build_mlp(hidden: int, *, rngs: nnx.Rngs) -> nnx.Sequential:
    """64 -> hidden -> 10 ReLU network."""
    return nnx.Sequential(
        nnx.Linear(64, hidden, rngs=rngs), nnx.relu, nnx.Linear(hidden, 10, rngs=rngs)
    )


def build_cnn(channels: int, *, rngs: nnx.Rngs) -> nnx.Sequential:
    """Conv-BN-ReLU, 2x2 average pool, Conv-BN-ReLU, 2x2 average pool, Linear."""
    pool = functools.partial(nnx.avg_pool, window_shape=(2, 2), strides=(2, 2))
    return nnx.Sequential(
        nnx.Conv(1, channels, (3, 3), rngs=rngs),
        nnx.BatchNorm(channels, rngs=rngs),
        nnx.relu,
        pool,
        nnx.Conv(channels, 2 * channels, (3, 3), rngs=rngs),
        nnx.BatchNorm(2 * channels, rngs=rngs),
        nnx.relu,
        pool,
        convert.Flatten(),
        nnx.Linear(2 * 2 * 2 * channels, 10, rngs=rngs),
    )


def train(model, x, y, *, epochs: int, lr: float, seed: int) -> None:
    """Adam on softmax cross-entropy, batches of 64, in place."""
    optimizer = nnx.Optimizer(model, optax.adam(lr), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, xb, yb):
        def loss_fn(model):
            logits = model(xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x) - 63, 64):
            idx = order[start : start + 64]
            step(model, optimizer, x[idx], y[idx])
    model.eval()


def evaluate(name, model, x_train, x_test, y_test, *, steps, coding, seed) -> dict:
    """Convert ``model``, print the accuracy table and the rate/activation correlation."""
    ann_acc = float(jnp.mean(jnp.argmax(model(x_test), -1) == y_test))
    snn = convert.convert(model, x_train, coding=coding)
    key = jax.random.key(seed)
    est = snn(x_test, max(steps), key=key)  # [B, T, 10]: estimate after every step
    correct = jnp.argmax(est, -1) == y_test[:, None]
    snn_acc = {t: float(correct[:, t - 1].mean()) for t in steps}
    acts, _ = convert.activations(model, x_test)
    rates = snn.spike_rates(x_test, max(steps), key=key)
    corr = [
        float(np.corrcoef(np.ravel(a), np.ravel(r))[0, 1]) for a, r in zip(acts, rates, strict=True)
    ]

    print(f"\n{name} ({coding} input), ANN test accuracy {100 * ann_acc:.2f}%")
    print(f"{'T':>6} | {'SNN accuracy':>12} | {'gap to ANN':>10}")
    for t, acc in snn_acc.items():
        print(f"{t:>6} | {100 * acc:>11.2f}% | {100 * (ann_acc - acc):>+8.2f} pp")
    print("rate/activation correlation per IF layer: " + ", ".join(f"{c:.4f}" for c in corr))
    return {"ann": ann_acc, "snn": snn_acc, "correlation": corr}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--coding", choices=("constant", "rate"), default="constant")
    parser.add_argument("--no-cnn", action="store_true", help="convert only the MLP")
    parser.add_argument("--smoke", action="store_true", help="tiny run for the tests")
    args = parser.parse_args(argv)
    steps = STEPS
    if args.smoke:
        args.epochs, args.hidden, steps, args.no_cnn = 1, 32, (1, 8, 32), True
    t0 = time.perf_counter()

    images, labels = load_digits()
    x = (images / 16.0).astype(np.float32)
    y = labels.astype(np.int32)
    train_idx, test_idx = train_test_split(len(x), test_fraction=0.2, seed=args.seed)
    flat = x.reshape(len(x), 64)
    results = {}

    mlp = build_mlp(args.hidden, rngs=nnx.Rngs(args.seed))
    train(mlp, flat[train_idx], y[train_idx], epochs=args.epochs, lr=3e-3, seed=args.seed)
    results["mlp"] = evaluate(
        "MLP 64-128-10",
        mlp,
        flat[train_idx],
        flat[test_idx],
        y[test_idx],
        steps=steps,
        coding=args.coding,
        seed=args.seed,
    )
    if not args.no_cnn:
        img = x[..., None]
        cnn = build_cnn(args.channels, rngs=nnx.Rngs(args.seed))
        train(cnn, img[train_idx], y[train_idx], epochs=args.epochs, lr=3e-3, seed=args.seed)
        results["cnn"] = evaluate(
            "CNN conv-bn-relu-avgpool x2",
            cnn,
            img[train_idx],
            img[test_idx],
            y[test_idx],
            steps=steps,
            coding=args.coding,
            seed=args.seed,
        )
    results["time"] = time.perf_counter() - t0
    print(f"\ntotal time: {results['time']:.1f} s (training and compilation included)")
    sys.stdout.flush()
    return results


if __name__ == "__main__":
    main()
