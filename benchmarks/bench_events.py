"""Throughput of event-to-tensor conversion, bit packing/unpacking and the file readers.

Synthetic data shaped like the real sets: SHD-like samples (700 channels, ~1 s, binned to
100 steps of 10 ms and 700 -> 128 channels) and N-MNIST-like samples (34x34x2, ~300 ms,
binned to 30 steps of 10 ms). Prints one table; events/s counts input events.

    python benchmarks/bench_events.py [--samples 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from jaxspike.data.events import make_events, pack_spikes, to_dense, to_dense_batch, unpack_spikes
from jaxspike.data.readers import read_nmnist_file, read_shd


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def shd_like(rng, n, events_per_sample=8000):
    out = []
    for _ in range(n):
        k = int(rng.integers(events_per_sample // 2, events_per_sample * 3 // 2))
        out.append(make_events(x=rng.integers(0, 700, k), t=np.sort(rng.integers(0, 1_000_000, k))))
    return out


def nmnist_like(rng, n, events_per_sample=4000):
    out = []
    for _ in range(n):
        k = int(rng.integers(events_per_sample // 2, events_per_sample * 3 // 2))
        out.append(
            make_events(
                x=rng.integers(0, 34, k),
                y=rng.integers(0, 34, k),
                t=np.sort(rng.integers(0, 300_000, k)),
                p=rng.integers(0, 2, k),
            )
        )
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []

    shd = shd_like(rng, args.samples)
    n_shd = sum(len(e) for e in shd)
    shd_kw = dict(sensor_size=(700,), n_time_bins=100, time_window=10_000, spatial_factor=700 / 128)
    t = best_time(lambda: to_dense_batch(shd, **shd_kw), args.repeats)
    rows.append(("to_dense_batch SHD-like [B,100,128]", n_shd, t))
    t = best_time(lambda: [to_dense(e, **shd_kw) for e in shd], args.repeats)
    rows.append(("to_dense per sample SHD-like", n_shd, t))

    nm = nmnist_like(rng, args.samples)
    n_nm = sum(len(e) for e in nm)
    nm_kw = dict(sensor_size=(34, 34, 2), n_time_bins=30, time_window=10_000)
    t = best_time(lambda: to_dense_batch(nm, **nm_kw), args.repeats)
    rows.append(("to_dense_batch N-MNIST-like [B,30,2,34,34]", n_nm, t))
    t = best_time(lambda: [to_dense(e, **nm_kw) for e in nm], args.repeats)
    rows.append(("to_dense per sample N-MNIST-like", n_nm, t))

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, ev in enumerate(nm[:64]):
            ts = ev["t"].astype(np.int64)
            rec = np.stack(
                [
                    ev["x"],
                    ev["y"],
                    (ev["p"] << 7) | ((ts >> 16) & 0x7F),
                    (ts >> 8) & 0xFF,
                    ts & 0xFF,
                ],
                axis=1,
            ).astype(np.uint8)
            path = Path(tmp) / f"{i:05d}.bin"
            path.write_bytes(rec.tobytes())
            files.append(path)
        n_files = sum(len(e) for e in nm[:64])
        t = best_time(lambda: [read_nmnist_file(f) for f in files], args.repeats)
        rows.append(("read_nmnist_file (64 files)", n_files, t))
        try:
            import h5py

            path = Path(tmp) / "shd.h5"
            with h5py.File(path, "w") as f:
                g = f.create_group("spikes")
                times = g.create_dataset("times", (len(shd),), dtype=h5py.vlen_dtype(np.float32))
                units = g.create_dataset("units", (len(shd),), dtype=h5py.vlen_dtype(np.uint16))
                for i, ev in enumerate(shd):
                    times[i] = ev["t"] * 1e-6
                    units[i] = ev["x"]
                f.create_dataset("labels", data=np.zeros(len(shd), np.uint8))
            t = best_time(lambda: read_shd(path), args.repeats)
            rows.append(("read_shd (HDF5)", n_shd, t))
        except ImportError:
            pass

    print(f"jax {jax.__version__}, backend {jax.default_backend()}, {args.samples} samples\n")
    print(f"| {'operation':44s} | {'events':>10s} | {'time (ms)':>10s} | {'events/s':>12s} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 12}|{'-' * 14}|")
    for name, n, t in rows:
        print(f"| {name:44s} | {n:10d} | {t * 1e3:10.1f} | {n / t:12.3g} |")

    dense = to_dense_batch(shd, binary=True, dtype=np.uint8, **shd_kw)  # [B, 100, 128]
    t_pack = best_time(lambda: pack_spikes(dense, time_axis=1), args.repeats)
    packed = pack_spikes(dense, time_axis=1)
    dev = jax.device_put(packed)
    unpack = jax.jit(lambda p: unpack_spikes(p, time_axis=1, n_steps=100))
    unpack(dev).block_until_ready()
    t_unpack = best_time(lambda: unpack(dev).block_until_ready(), args.repeats)
    n_el = dense.size
    print(
        f"\n| {'bit packing (SHD-like, [B,100,128])':44s} | {'elements/s':>12s} | {'bytes':>12s} |"
    )
    print(f"|{'-' * 46}|{'-' * 14}|{'-' * 14}|")
    print(f"| {'pack_spikes (NumPy, host)':44s} | {n_el / t_pack:12.3g} | {packed.nbytes:12d} |")
    name = f"unpack_spikes (jit, {jax.default_backend()})"
    print(f"| {name:44s} | {n_el / t_unpack:12.3g} | {n_el * 4:12d} |")


if __name__ == "__main__":
    main()
