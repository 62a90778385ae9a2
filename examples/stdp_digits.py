"""Unsupervised STDP features for the bundled digits, in the spirit of SpikeSEG's layers.

Pipeline (no labels until the readout):

1. Latency code: every 8x8 digit becomes an ON channel (x) and an OFF channel (1 - x),
   x = pixel / 16, each pixel spiking once (:func:`jaxspike.encoding.latency`: brighter
   is earlier, nothing at or below 0.2). As in Kheradpisheh et al. (2018), an input
   that has spiked stays "on" for the rest of the sequence (a latch).
2. One convolutional layer of IF neurons in the IGARSS 2023 configuration of layer 1:
   threshold 10, subtractive leak 9 (90% of the threshold), membrane floored at 0.
   ``maps`` feature maps of 4x4x2 kernels, weights initialised N(0.8, 0.05).
3. Unsupervised learning with the simplified STDP of Kheradpisheh et al. (2018)
   (:func:`jaxspike.plasticity.kheradpisheh_stdp`): lateral inhibition between maps
   at each location, at most one winner per feature map per image, no two winners
   within one position. Learning happens online inside the time scan: the weights are
   part of the scan carry. The learning rate doubles every 500 images (capped).
4. Features: the earliness (T - t_first) / T of each neuron's first spike, max-pooled
   over 2x2 windows of the 5x5 positions (the last row and column are dropped). The
   same logistic-regression readout (optax, Adam) is trained on the features of the
   learned kernels and of two untrained kernels of the same size: the N(0.8, 0.05)
   initialisation and uniform U(0, 1) weights.

Run ``python examples/stdp_digits.py`` (about a minute on 2 CPU cores) or ``--smoke``
for a seconds-long check.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxspike as js
from jaxspike.data.datasets import load_digits, train_test_split
from jaxspike.encoding import latency
from jaxspike.plasticity import kheradpisheh_stdp
from jaxspike.plasticity.competition import lateral_inhibition, wta_per_feature_map

_DN = ("NHWC", "HWIO", "NHWC")


@dataclasses.dataclass(frozen=True)
class Config:
    num_steps: int = 16  # time steps per image
    kernel: int = 4  # kernel size (4x4 over 8x8 gives 5x5 positions)
    maps: int = 32  # feature maps
    winners: int = 8  # most STDP winners per image
    radius: int = 1  # inhibition radius of the winner selection
    a_plus: float = 0.05  # initial learning rate a+ (Kheradpisheh et al.: 0.004)
    a_ratio: float = 0.75  # a- / a+ (the paper's -0.003 / 0.004)
    a_max: float = 0.15  # cap of the doubling schedule
    double_every: int = 500  # images between doublings of the learning rate
    epochs: int = 1
    pool: int = 2  # max-pooling window of the features
    v_th: float = 10.0  # IGARSS 2023
    leak: float = 9.0  # 90% of the threshold (layer 1)
    input_threshold: float = 0.2  # pixels (0..1) at or below this never spike
    n_train: int | None = None  # subsample the training set (smoke runs)
    n_test: int | None = None
    readout_steps: int = 300


SMOKE = Config(num_steps=8, maps=8, winners=4, n_train=120, n_test=60, readout_steps=50)


def encode(images: np.ndarray, cfg: Config) -> jax.Array:
    """Digits ``[N, 8, 8]`` (0..16) to ON/OFF latency spikes ``[N, T, 8, 8, 2]``."""
    x = jnp.asarray(images, jnp.float32) / 16.0
    x = jnp.stack([x, 1.0 - x], axis=-1)
    return latency(x, cfg.num_steps, time_axis=1, threshold=cfg.input_threshold)


def init_kernel(key: jax.Array, cfg: Config, n_in: int = 2) -> jax.Array:
    """Weights N(0.8, 0.05) clipped to [0, 1], as in Kheradpisheh et al. (2018)."""
    shape = (cfg.kernel, cfg.kernel, n_in, cfg.maps)
    return jnp.clip(0.8 + 0.05 * jax.random.normal(key, shape), 0.0, 1.0)


def _conv(x: jax.Array, w: jax.Array) -> jax.Array:
    return jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=_DN)


def run_layer(
    w: jax.Array, spikes: jax.Array, cfg: Config, a_plus: Any = 0.0, *, learn: bool
) -> tuple[jax.Array, jax.Array]:
    """Present one image ``[T, 8, 8, 2]``; return ``(w, output spikes [T, H', W', C])``.

    The scan carry holds the neurons, the input latch, the inhibition masks and ``w``,
    so with ``learn=True`` STDP updates the kernel at every step, online.
    """
    params = js.IFParams.create(v_th=cfg.v_th, leak=cfg.leak, v_min=0.0)
    h = spikes.shape[1] - cfg.kernel + 1
    out_shape = (1, h, h, cfg.maps)
    carry = (
        js.if_init(params, out_shape),
        jnp.zeros((1, *spikes.shape[1:])),  # latch: has the input spiked yet?
        jnp.zeros(out_shape, bool),  # lateral inhibition between maps
        jnp.ones(out_shape, bool),  # who may still win the STDP competition
        w,
    )

    if_traced = js.neurons.step_with_trace(js.if_step)

    def step(carry: tuple, s_t: jax.Array) -> tuple[tuple, jax.Array]:
        neurons, latch, inhibited, allowed, w = carry
        latch = jnp.maximum(latch, s_t[None])
        neurons, (s, v, _) = if_traced(params, neurons, _conv(latch, w))
        s, inhibited = lateral_inhibition(s, v, inhibited=inhibited)
        if learn:
            win, allowed = wta_per_feature_map(
                v, s, k=cfg.winners, radius=cfg.radius, allowed=allowed
            )
            w = kheradpisheh_stdp(w, latch, win, a_plus=a_plus, a_minus=cfg.a_ratio * a_plus)
        return (neurons, latch, inhibited, allowed, w), s[0]

    carry, out = js.unroll(step, carry, spikes)
    return carry[-1], out


@functools.partial(jax.jit, static_argnames="cfg")
def train(w: jax.Array, spikes: jax.Array, cfg: Config) -> jax.Array:
    """Unsupervised STDP over images ``[N, T, 8, 8, 2]``, one after another."""
    n = spikes.shape[0]
    rates = jnp.minimum(cfg.a_plus * 2.0 ** (jnp.arange(n) // cfg.double_every), cfg.a_max)

    def one(w: jax.Array, inp: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, None]:
        w, _ = run_layer(w, inp[0], cfg, inp[1], learn=True)
        return w, None

    # A loop over images (not over time): each image is a sequence scanned by run_layer.
    return jax.lax.scan(one, w, (spikes, rates))[0]


@functools.partial(jax.jit, static_argnames="cfg")
def features(w: jax.Array, spikes: jax.Array, cfg: Config) -> jax.Array:
    """Pooled first-spike earliness ``(T - t_first) / T`` of every map: ``[N, F]``."""

    def one(s: jax.Array) -> jax.Array:
        _, out = run_layer(w, s, cfg, learn=False)
        t = jnp.arange(cfg.num_steps, 0, -1, dtype=out.dtype)[:, None, None, None]
        return jnp.max(out * t, axis=0) / cfg.num_steps

    f = jax.vmap(one)(spikes)
    win = (1, cfg.pool, cfg.pool, 1)
    f = jax.lax.reduce_window(f, -jnp.inf, jax.lax.max, win, win, "VALID")
    return f.reshape(f.shape[0], -1)


def readout_accuracy(
    f_train: jax.Array, y_train: Any, f_test: jax.Array, y_test: Any, cfg: Config
) -> float:
    """Logistic regression (Adam, full batch, small L2) on standardised features."""
    mu, sd = f_train.mean(0, keepdims=True), f_train.std(0, keepdims=True) + 1e-6
    w, b = _fit_readout((f_train - mu) / sd, jnp.asarray(y_train, jnp.int32), cfg.readout_steps)
    pred = jnp.argmax(((f_test - mu) / sd) @ w + b[None], axis=-1)
    return float(jnp.mean(pred == jnp.asarray(y_test)))


@functools.partial(jax.jit, static_argnames="steps")
def _fit_readout(f: jax.Array, y: jax.Array, steps: int) -> tuple[jax.Array, jax.Array]:
    params = (jnp.zeros((f.shape[1], 10)), jnp.zeros(10))
    opt = optax.adam(0.05)

    def loss(p: tuple[jax.Array, jax.Array]) -> jax.Array:
        ce = optax.softmax_cross_entropy_with_integer_labels(f @ p[0] + p[1][None], y).mean()
        return ce + 1e-3 * jnp.sum(p[0] ** 2)

    def body(carry: Any, _: None) -> tuple[Any, None]:
        p, s = carry
        u, s = opt.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, u), s), None

    return jax.lax.scan(body, (params, opt.init(params)), None, steps)[0][0]


def run(cfg: Config = Config(), seed: int = 0) -> dict[str, Any]:
    """Train the layer without labels, then compare readouts. Returns accuracies, times."""
    t0 = time.perf_counter()
    images, labels = load_digits()
    tr, te = train_test_split(len(images), 0.2, seed=0)
    tr, te = tr[: cfg.n_train], te[: cfg.n_test]
    spikes = encode(images, cfg)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(tr) for _ in range(cfg.epochs)])
    k_init, k_uniform = jax.random.split(jax.random.key(seed))
    w0 = init_kernel(k_init, cfg)
    w = train(w0, spikes[order], cfg).block_until_ready()
    t_train = time.perf_counter() - t0
    kernels = {
        "stdp": w,
        "init": w0,
        "uniform": jax.random.uniform(k_uniform, w0.shape),
    }
    acc = {}
    both = spikes[np.concatenate([tr, te])]
    for name, kernel in kernels.items():
        f = features(kernel, both, cfg)
        acc[name] = readout_accuracy(f[: len(tr)], labels[tr], f[len(tr) :], labels[te], cfg)
    return {
        "accuracy": acc,
        "n_features": int(f.shape[1]),
        "convergence": float(jnp.mean(w * (1.0 - w))),  # C_l of Kheradpisheh et al.
        "train_s": t_train,
        "total_s": time.perf_counter() - t0,
        "kernel": np.asarray(w),
    }


def learned_filters(cfg: Config = Config(), seed: int = 0) -> np.ndarray:
    """Train only (no readout) and return the kernel ``[k, k, 2, maps]`` (for the docs)."""
    images, _ = load_digits()
    tr, _ = train_test_split(len(images), 0.2, seed=0)
    tr = tr[: cfg.n_train]
    spikes = encode(images[tr], cfg)
    w0 = init_kernel(jax.random.split(jax.random.key(seed))[0], cfg)
    return np.asarray(train(w0, spikes[np.random.default_rng(seed).permutation(len(tr))], cfg))


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny, seconds-long run")
    parser.add_argument("--seeds", type=int, default=2, help="seeds to average over")
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else Config()
    seeds = 1 if args.smoke else args.seeds
    t0 = time.perf_counter()
    results = [run(cfg, seed) for seed in range(seeds)]
    print(f"features per image: {results[0]['n_features']}  (maps={cfg.maps}, pool={cfg.pool})")
    print(f"{'seed':>4} {'STDP':>7} {'init':>7} {'uniform':>8} {'C_l':>7} {'train s':>8}")
    for seed, r in enumerate(results):
        a = r["accuracy"]
        print(
            f"{seed:>4} {a['stdp']:7.3f} {a['init']:7.3f} {a['uniform']:8.3f} "
            f"{r['convergence']:7.4f} {r['train_s']:8.1f}"
        )
    mean = {k: np.mean([r["accuracy"][k] for r in results]) for k in ("stdp", "init", "uniform")}
    print(f"mean {mean['stdp']:7.3f} {mean['init']:7.3f} {mean['uniform']:8.3f}")
    print(f"total time: {time.perf_counter() - t0:.1f} s")
    return results


if __name__ == "__main__":
    main()
