"""Train a spiking network on the Spiking Heidelberg Digits (SHD), with learnable delays.

    python examples/shd.py --train shd_train.h5 --test shd_test.h5    # the real files
    python examples/shd.py --train shd_train.h5 --test shd_test.h5 --model recurrent
    python examples/shd.py --synthetic           # a small synthetic set in the SHD format
    python examples/shd.py --synthetic --smoke   # a few seconds, for the tests

The SHD files (Cramer et al. 2022) are not downloaded here: get ``shd_train.h5`` and
``shd_test.h5`` (gunzipped) from https://zenkelab.org/datasets/ and point the script at
them. ``--synthetic`` instead writes a small data set in the same HDF5 layout
(``jaxspike.data.readers.write_shd``): every class is a sweep of spikes across the cochlea
channels with its own start, end and timing, so accuracy well above chance needs the
order of the spikes in time, not only their channels.

Pipeline: ``read_shd`` -> binned, bit-packed ``SpikeDataset`` on the device (700 channels
summed into ``--channels``, ``--n-steps`` bins over ``--duration`` seconds) -> model ->
mean readout membrane over time -> softmax cross-entropy, Adam with cosine decay.
``--model delay`` (default) is the feed-forward network of Hammouamri et al. (2023):
two ``DelayedLinear`` layers (a learnable delay per synapse) with LIF neurons, the
delay kernel's width annealed from ``--sigma`` to 0.5 over the first half of training
and the delays rounded to whole steps at the end. ``--model recurrent`` is a recurrent
LIF layer (Cramer et al. 2022; Bittar & Garner 2022). Accuracy on the test set is
reported after every epoch.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm import tqdm

import jaxspike as js
import jaxspike.nnx as jsnn
from jaxspike.data.readers import SHD_N_CHANNELS, SpikeDataset, read_shd, write_shd

N_CLASSES = 20


def synthetic_samples(n: int, *, n_classes: int = N_CLASSES, duration: float = 1.0, seed: int):
    """``(times, units, labels)`` of ``n`` SHD-like samples with class-dependent sweeps.

    Class ``c`` moves a burst of spikes from channel ``start[c]`` to ``end[c]``; half of
    the classes are the time-reversed sweeps of the others (same channels, opposite
    order). Every sample jitters the onset, speed and channels and adds background spikes.
    """
    rng = np.random.default_rng(seed)
    proto = np.random.default_rng(12345)  # the same classes for every split
    half = -(-n_classes // 2)
    start = proto.uniform(50, SHD_N_CHANNELS - 50, half)
    end = proto.uniform(50, SHD_N_CHANNELS - 50, half)
    start, end = np.concatenate([start, end]), np.concatenate([end, start])
    labels = rng.integers(0, n_classes, n)
    times, units = [], []
    for c in labels:
        onset = rng.uniform(0.05, 0.2) * duration
        length = rng.uniform(0.5, 0.7) * duration
        k = 300
        s = np.sort(rng.uniform(0.0, 1.0, k))
        t = onset + s * length
        ch = start[c] + (end[c] - start[c]) * s + rng.normal(0.0, 15.0, k)
        noise = 100
        t = np.concatenate([t, rng.uniform(0.0, duration, noise)])
        ch = np.concatenate([ch, rng.uniform(0, SHD_N_CHANNELS, noise)])
        ch = np.clip(np.round(ch), 0, SHD_N_CHANNELS - 1)
        order = np.argsort(t)
        times.append(t[order])
        units.append(ch[order].astype(np.uint16))
    return times, units, labels


def write_synthetic(directory: str, n_train: int, n_test: int, seed: int) -> tuple[str, str]:
    """Write ``synthetic_train.h5`` and ``synthetic_test.h5`` in the SHD layout."""
    paths = []
    for name, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        path = os.path.join(directory, f"synthetic_{name}.h5")
        write_shd(path, *synthetic_samples(n, seed=s))
        paths.append(path)
    return paths[0], paths[1]


def load(path: str, args: argparse.Namespace) -> SpikeDataset:
    """Read an SHD file and bin it into an on-device, bit-packed data set."""
    data = read_shd(path, max_samples=args.max_samples)
    return SpikeDataset.from_events(
        data.events,
        data.labels,
        sensor_size=data.sensor_size,
        n_time_bins=args.n_steps,
        time_window=args.duration * 1e6 / args.n_steps,
        spatial_factor=SHD_N_CHANNELS / args.channels,
    )


def build_model(args: argparse.Namespace, *, rngs: nnx.Rngs) -> jsnn.Sequential:
    """``delay``: 2 x (DelayedLinear -> LIF) -> Linear -> LI; ``recurrent``: recurrent LIF."""
    lif = dict(decay=args.decay, surrogate=js.FastSigmoid(slope=10.0))
    h = args.hidden
    if args.model == "delay":
        delayed = dict(max_delay=args.max_delay, sigma=args.sigma, use_bias=False, rngs=rngs)
        hidden = [
            jsnn.DelayedLinear(args.channels, h, **delayed),
            jsnn.LIF(h, **lif),
            jsnn.DelayedLinear(h, h, **delayed),
            jsnn.LIF(h, **lif),
        ]
    else:
        cell = jsnn.RecurrentCell(jsnn.LIFCell(h, **lif), rngs=rngs)
        hidden = [nnx.Linear(args.channels, h, rngs=rngs), jsnn.RNN(cell)]
    return jsnn.Sequential(*hidden, nnx.Linear(h, N_CLASSES, rngs=rngs), jsnn.LI(N_CLASSES))


def delayed_layers(model: jsnn.Sequential) -> list[jsnn.DelayedLinear]:
    """The model's ``DelayedLinear`` layers."""
    return [layer for layer in model.layers if isinstance(layer, jsnn.DelayedLinear)]


def loss_fn(model, batch):
    """Softmax cross-entropy on the mean readout membrane over time."""
    spikes, labels = batch
    logits = jnp.mean(model(spikes), axis=1)  # [B, T, 20] -> [B, 20]
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(), logits


def test_batches(data: SpikeDataset, batch_size: int):
    return data.batches(None, min(batch_size, len(data)), drop_last=False)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--train", help="shd_train.h5 (or any file in the SHD layout)")
    parser.add_argument("--test", help="shd_test.h5")
    parser.add_argument("--synthetic", action="store_true", help="write and use a small set")
    parser.add_argument("--smoke", action="store_true", help="tiny run for the tests")
    parser.add_argument("--model", choices=("delay", "recurrent"), default="delay")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak Adam step (cosine decay)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--channels", type=int, default=140, help="700 channels summed to")
    parser.add_argument("--n-steps", type=int, default=100, help="time bins T")
    parser.add_argument("--duration", type=float, default=1.0, help="seconds kept per sample")
    parser.add_argument("--max-delay", type=int, default=25, help="steps")
    parser.add_argument("--sigma", type=float, default=None, help="default max_delay / 2")
    parser.add_argument("--decay", type=float, default=0.9, help="LIF membrane decay")
    parser.add_argument("--max-samples", type=int, default=None, help="read only so many")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.synthetic == bool(args.train or args.test):
        parser.error("give either --train and --test, or --synthetic")
    if not args.synthetic and not (args.train and args.test):
        parser.error("--train and --test go together")
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if args.smoke:
        args.epochs, args.batch_size, args.hidden, args.lr = 4, 32, 32, 1e-2
        args.channels, args.n_steps, args.max_delay = 35, 25, 6
    if args.sigma is None:
        args.sigma = max(args.max_delay / 2, 0.5)
    t0 = time.perf_counter()

    with tempfile.TemporaryDirectory() as tmp:
        if args.synthetic:
            n_train, n_test = (256, 128) if args.smoke else (2000, 500)
            args.train, args.test = write_synthetic(tmp, n_train, n_test, args.seed)
        train, test = load(args.train, args), load(args.test, args)
    print(
        f"train: {len(train)} samples, test: {len(test)}, input [B, {args.n_steps}, "
        f"{args.channels}], model: {args.model}"
    )

    model = build_model(args, rngs=nnx.Rngs(args.seed))
    per_epoch = len(train) // args.batch_size
    schedule = optax.cosine_decay_schedule(args.lr, args.epochs * per_epoch)
    optimizer = nnx.Optimizer(model, optax.adam(schedule), wrt=nnx.Param)
    key = jax.random.key(args.seed)
    anneal = max(args.epochs // 2, 1)
    history, metrics = [], {"accuracy": float("nan")}
    for epoch in range(args.epochs):
        sigma = args.sigma + (0.5 - args.sigma) * min(epoch / anneal, 1.0)
        for layer in delayed_layers(model):
            layer.sigma[...] = min(sigma, args.sigma)
        bar = tqdm(
            train.batches(jax.random.fold_in(key, epoch), args.batch_size),
            total=per_epoch,
            desc=f"epoch {epoch + 1}/{args.epochs}",
        )
        losses, correct = [], 0.0
        for spikes, labels in bar:
            loss, logits = jsnn.train_step(model, optimizer, (spikes, labels), loss_fn)
            losses.append(float(loss))
            correct += float(jnp.sum(jnp.argmax(logits, -1) == labels))
            bar.set_postfix(loss=float(np.mean(losses)))
        metrics = jsnn.evaluate(model, test_batches(test, args.batch_size), loss_fn)
        train_acc = correct / (per_epoch * args.batch_size)
        history.append({"train_accuracy": train_acc, "test_accuracy": metrics["accuracy"]})
        print(
            f"epoch {epoch + 1:3d}: loss {np.mean(losses):.4f}  train accuracy "
            f"{100 * train_acc:5.1f}%  test accuracy {100 * metrics['accuracy']:5.1f}%"
        )
        sys.stdout.flush()

    result = {"accuracy": metrics["accuracy"], "history": history}
    if args.model == "delay":
        for layer in delayed_layers(model):
            layer.round_delays()
        rounded = jsnn.evaluate(model, test_batches(test, args.batch_size), loss_fn)
        result["rounded_accuracy"] = rounded["accuracy"]
        print(f"test accuracy with delays rounded to whole steps: {100 * rounded['accuracy']:.1f}%")
    result["time"] = time.perf_counter() - t0
    print(f"test accuracy: {100 * result['accuracy']:.2f}% ({len(test)} samples)")
    print(f"total time: {result['time']:.1f} s (compilation included)")
    return result


if __name__ == "__main__":
    main()
