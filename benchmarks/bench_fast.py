"""Micro-benchmarks of the fast paths against the plain paths they replace.

* event-driven input layer (:func:`jaxspike.event_matmul`) vs a dense matmul, binary
  input at p = 0.05, ``[6400, 700] @ [700, 256]`` (W1's first layer, T*B rows), with the
  spike indices precomputed (by the data loader, :func:`jaxspike.data.events.to_indices`) and
  computed in the graph (:func:`jaxspike.spike_indices`); forward and ``dL/dw``;
* parallel-in-time leaky integrator (:func:`jaxspike.li_parallel`) vs the sequential scan,
  forward and forward+backward, T in {100, 1000, 10000};
* memory of the W4 training step vs T up to 10,000 for the sequential scan, chunked
  recomputation, and recomputation + bit-packed residuals (XLA temp bytes; compile only).

    python benchmarks/bench_fast.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxspike as js
from jaxspike.ops.fast import event_matmul, li_parallel, spike_indices

sys.path.insert(0, os.path.dirname(__file__))
import bench_workloads as bw


def med(fn, *args, repeats):
    fn(*args).block_until_ready()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(ts)


def events(repeats):
    """Event-driven layer vs dense matmul, forward and dL/dw, timed interleaved."""
    rng = np.random.default_rng(0)
    x = jnp.asarray((rng.random((6400, 700)) < 0.05).astype(np.float32))
    w = jnp.asarray(rng.normal(size=(700, 256)).astype(np.float32))
    g = jnp.asarray(rng.normal(size=(6400, 256)).astype(np.float32))
    cap = 64  # 700 * 0.05 = 35 expected, max over 6400 rows ~ 60
    idx = jax.jit(functools.partial(spike_indices, capacity=cap))(x)
    cases = {
        "dense matmul x @ w": (jax.jit(lambda x, w: x @ w), (x, w)),
        "event, precomputed indices": (jax.jit(event_matmul), (idx, w)),
        "event, indices in graph": (
            jax.jit(lambda x, w: event_matmul(spike_indices(x, capacity=cap), w)),
            (x, w),
        ),
        "spike_indices alone": (jax.jit(functools.partial(spike_indices, capacity=cap)), (x,)),
        "dL/dw dense": (jax.jit(jax.grad(lambda w, x: jnp.vdot(x @ w, g))), (w, x)),
        "dL/dw event (indices)": (
            jax.jit(jax.grad(lambda w, i: jnp.vdot(event_matmul(i, w), g))),
            (w, idx),
        ),
    }
    times = {k: [] for k in cases}
    for f, a in cases.values():
        jax.block_until_ready(f(*a))
    for _ in range(repeats):  # interleaved: every case sees the same machine load
        for k, (f, a) in cases.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(*a))
            times[k].append(time.perf_counter() - t0)
    ms = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    print("| event-driven layer, [6400,700]@[700,256], p=0.05, K=64 | median ms | dense / this |")
    print("|---|---:|---:|")
    for k, v in ms.items():
        base = ms["dL/dw dense"] if k.startswith("dL/dw") else ms["dense matmul x @ w"]
        print(f"| {k} | {v:.2f} | {base / v:.2f} |")
    print(f"(load {os.getloadavg()[0]:.1f})\n")


def assoc(repeats):
    print("| leaky integrator [T, 64, 256] | T | sequential ms | parallel ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    p = js.LIParams(decay=jnp.float32(0.9))
    for T in (100, 1000, 10000):
        xs = jax.random.normal(jax.random.key(0), (T, 64, 256))
        st = js.li_init(p, (64, 256))

        def seq(xs, st=st):
            return js.unroll(functools.partial(js.li_step, p), st, xs)[1]

        def par(xs, st=st):
            return li_parallel(p, st, xs)[1]

        def fwd_bwd(f):
            return jax.jit(jax.grad(lambda v: jnp.sum(jnp.sin(f(v)))))

        for label, wrap in [("fwd", jax.jit), ("fwd+bwd", fwd_bwd)]:
            ts, tp = med(wrap(seq), xs, repeats=repeats), med(wrap(par), xs, repeats=repeats)
            print(f"| {label} | {T} | {ts:.1f} | {tp:.1f} | {tp / ts:.2f} |")
    print(f"(load {os.getloadavg()[0]:.1f})\n")


def memory_vs_t():
    from jaxspike import nnx as jsnnx
    from jaxspike.nnx._fast import Fused

    print("| W4 train step, XLA temp MB | T | reference | Fused | remat k~sqrt(T) | remat+packed |")
    print("|---|---:|---:|---:|---:|---:|")
    for T in (100, 1000, 3000, 10000):
        d = bw.make_data(T, 256)
        row = [bw.memory(bw.make_case("reference", "train", d))["temp_mb"]]
        k = bw.sqrt_chunk(T)
        for packed, ck in [(False, False), (False, k), (True, k)]:
            m = Fused(*bw.nnx_layers(d, packed=packed), time_major=True, checkpoint=ck)
            opt = nnx.Optimizer(m, optax.adam(1e-3), wrt=nnx.Param)
            batch = (jnp.asarray(d["x"]), jnp.asarray(d["y"]))
            lowered = jsnnx.train_step.lower(m, opt, batch, bw.nnx_loss)
            row.append(bw.memory(bw.Case(lambda: None, lambda lo=lowered: lo))["temp_mb"])
        print(f"| (k={k}) | {T} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--only", default="events,assoc,memory")
    args = parser.parse_args()
    only = args.only.split(",")
    if "events" in only:
        events(args.repeats)
    if "assoc" in only:
        assoc(args.repeats)
    if "memory" in only:
        memory_vs_t()


if __name__ == "__main__":
    main()
