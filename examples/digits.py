"""Train a spiking classifier on the 8x8 handwritten digits (the README's first command).

    python examples/digits.py            # full run: >= 97% test accuracy, < 60 s on 2 CPU cores
                                         # (19-29 s of training and evaluation measured)
    python examples/digits.py --smoke    # a few seconds, for the tests
    python examples/digits.py --precision bf16   # bfloat16 matmuls, float32 membranes

Pipeline: pixel intensities -> Bernoulli rate code (``jaxspike.encoding.rate``) ->
Linear -> LIF -> Linear -> leaky-integrator readout -> time-averaged membrane
(``jaxspike.readout.membrane_integral`` over a presentation of unit length) -> softmax
cross-entropy (``jaxspike.losses.cross_entropy``). Trained with surrogate gradients and
Adam; deterministic from ``--seed`` (which also picks the held-out split). At test time
the class scores are averaged over ``--eval-samples`` independent rate codings of each
digit, which removes most of the noise of a single Bernoulli draw. Prints the test
accuracy and the throughput of jit-compiled batch inference.
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
from tqdm import tqdm

import jaxspike as js
import jaxspike.nnx as jsnn
from jaxspike.data.datasets import load_digits, train_test_split
from jaxspike.encoding import rate
from jaxspike.losses import cross_entropy
from jaxspike.readout import membrane_integral


def build_model(hidden: int, *, rngs: nnx.Rngs, precision: str = "fp32") -> jsnn.Sequential:
    """64 inputs -> `hidden` LIF neurons -> 10 leaky integrators (one per class).

    ``precision="bf16"``: the Linear layers multiply bfloat16 spikes by bfloat16 copies
    of their float32 weights; the neurons cast the currents back and keep float32
    membranes (mixed precision; the optimizer updates the float32 weights).
    """
    low = {"dtype": jnp.bfloat16} if precision == "bf16" else {}
    state = {"dtype": jnp.float32} if precision == "bf16" else {}
    return jsnn.Sequential(
        nnx.Linear(64, hidden, rngs=rngs, **low),
        jsnn.LIF(hidden, decay=0.85, surrogate=js.FastSigmoid(slope=10.0), **state),
        nnx.Linear(hidden, 10, rngs=rngs, **low),
        jsnn.LI(10, decay=0.9, **state),
    )


def class_scores(model, images, key, num_steps: int, samples: int = 1):
    """Class scores ``[B, 10]``: the time-averaged readout membrane, averaged over samples.

    The ``samples`` rate codings of every image are folded into the batch, so the
    network runs once on ``[samples * B, T, 64]``.
    """
    b = images.shape[0]
    tiled = jnp.broadcast_to(images, (samples, *images.shape)).reshape(samples * b, -1)
    spikes = rate(key, tiled, num_steps, time_axis=1)  # [samples * B, T, 64]
    v = model(spikes)  # [samples * B, T, 10] readout membrane
    scores = membrane_integral(v, time_axis=1, dt=1.0 / num_steps)  # mean over time
    return jnp.mean(scores.reshape(samples, b, -1), axis=0)


def make_loss_fn(num_steps: int, samples: int = 1, label_smoothing: float = 0.0):
    """Return ``loss_fn(model, (images, labels, key)) -> (loss, logits)``."""

    def loss_fn(model, batch):
        images, labels, key = batch
        logits = class_scores(model, images, key, num_steps, samples)
        return cross_entropy(logits, labels, label_smoothing=label_smoothing), logits

    return loss_fn


def batches(x, y, batch_size, key, rng=None):
    """Yield ``(images, labels, key)`` batches, shuffled when ``rng`` is given."""
    order = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for k, start in enumerate(range(0, len(x), batch_size)):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx], jax.random.fold_in(key, k)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--num-steps", type=int, default=20, help="time steps T")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak Adam step (cosine decay)")
    parser.add_argument("--eval-samples", type=int, default=8, help="rate codings per test digit")
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="bf16: bfloat16 weights and spikes in the matmuls, float32 membranes",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for the tests")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.num_steps, args.hidden, args.eval_samples = 2, 5, 32, 2
    t0 = time.perf_counter()

    images, labels = load_digits()
    x = (images.reshape(len(images), 64) / 16.0).astype(np.float32)
    y = labels.astype(np.int32)
    train_idx, test_idx = train_test_split(len(x), test_fraction=0.2, seed=args.seed)
    x_train, y_train, x_test, y_test = x[train_idx], y[train_idx], x[test_idx], y[test_idx]

    model = build_model(args.hidden, rngs=nnx.Rngs(args.seed), precision=args.precision)
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    schedule = optax.cosine_decay_schedule(args.lr, steps)
    optimizer = nnx.Optimizer(
        model, optax.adamw(schedule, weight_decay=args.weight_decay), wrt=nnx.Param
    )
    loss_fn = make_loss_fn(args.num_steps, label_smoothing=args.label_smoothing)
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
    test_loss_fn = make_loss_fn(args.num_steps, args.eval_samples)
    metrics = jsnn.evaluate(model, batches(x_test, y_test, 512, test_key), test_loss_fn)
    train_time = time.perf_counter() - t0

    # Jit-compiled batch inference of the network: spike trains in, predictions out.
    @nnx.jit
    def predict(model, spikes):
        v = model(spikes)
        return jnp.argmax(membrane_integral(v, time_axis=1, dt=1.0 / args.num_steps), axis=-1)

    spikes = rate(test_key, jnp.asarray(x_test), args.num_steps, time_axis=1)
    predict(model, spikes).block_until_ready()  # compile
    repeats = 3 if args.smoke else 20
    start = time.perf_counter()
    for _ in range(repeats):
        predict(model, spikes).block_until_ready()
    throughput = repeats * len(x_test) / (time.perf_counter() - start)

    print(
        f"test accuracy: {100 * metrics['accuracy']:.2f}% ({len(x_test)} held-out digits, "
        f"scores averaged over {args.eval_samples} rate codings)"
    )
    print(f"train + evaluate time: {train_time:.1f} s (compilation included)")
    print(
        f"inference throughput: {throughput:,.0f} samples/s "
        f"(batch {len(x_test)}, T={args.num_steps}, one rate coding per sample)"
    )
    sys.stdout.flush()
    return {"accuracy": metrics["accuracy"], "time": train_time, "throughput": throughput}


if __name__ == "__main__":
    main()
