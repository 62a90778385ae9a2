"""Helpers shared by the per-library fixture scripts (run inside each peer's venv).

Only numpy and the standard library are used here, so every peer venv can import it.
Fixtures are written byte-for-byte reproducibly: arrays go into a zip (readable by
``numpy.load``) with fixed timestamps and sorted keys.
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "peers")

T = 40  # time steps of every fixed input
B = 2  # batch


def rng(case: str) -> np.random.Generator:
    """A NumPy generator seeded from the case name (stable across runs and machines)."""
    return np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(case)))


def fixed_input(case: str, shape: tuple[int, ...], *, scale: float = 1.0, mean: float = 0.3):
    """A float32 input ``(T, B, *shape)`` with positive drive and negative excursions."""
    x = rng(case).normal(mean, 1.0, size=(T, B, *shape)) * scale
    return x.astype(np.float32)


def weights(case: str, out: int, inp: int, *, mean: float = 0.2, std: float = 0.6):
    """A float32 weight (out, in) and bias (out,) from the case seed."""
    r = np.random.default_rng(rng(case).integers(1 << 30) + out * 1000 + inp)
    w = r.normal(mean, std, size=(out, inp)).astype(np.float32)
    b = r.normal(0.0, 0.2, size=(out,)).astype(np.float32)
    return w, b


def save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` like ``numpy.savez`` but with fixed zip metadata and sorted keys."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            arr = np.asarray(arrays[key])
            arr = np.ascontiguousarray(arr) if arr.ndim else arr  # keep 0-d arrays 0-d
            data = io.BytesIO()
            np.lib.format.write_array(data, arr, allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data.getvalue(), compresslevel=9)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def save_json(path: str, obj) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def error_text(exc: BaseException) -> str:
    """A one-line, path-free description of an exception (for fixtures)."""
    msg = str(exc).replace(ROOT, "<repo>").replace(sys.prefix, "<venv>")
    first = msg.splitlines()[0] if msg else ""
    tb = traceback.extract_tb(exc.__traceback__)
    where = ""
    if tb:
        fr = tb[-1]
        fname = fr.filename
        for marker in ("site-packages" + os.sep, "peers" + os.sep):
            if marker in fname:
                fname = fname.split(marker, 1)[1]
        where = f" ({fname}:{fr.lineno})"
    return f"{type(exc).__name__}: {first[:300]}{where}"


def write_nir(graph, path: str) -> None:
    """``nir.write`` then check the bytes do not depend on anything but the graph."""
    import nir

    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.remove(path)
    nir.write(path, graph)


def tie_input(n: int = 2) -> np.ndarray:
    """Input that lands a membrane exactly on the threshold (1.0, decay 0.5, dyadic values).

    Neuron 0 gets 1.0 at t=0 (v = 1.0 exactly), neuron 1 reaches 1.0 at t=1 via
    0.5 -> 0.5*0.5 + 0.75. Later steps drive spikes, double-threshold crossings and
    negative membranes.
    """
    x = np.zeros((T, B, n), np.float32)
    x[0, :, 0] = 1.0
    x[0, :, 1] = 0.5
    x[1, :, 1] = 0.75
    x[4:8, :, 0] = 2.5  # above 2 thresholds in one step
    x[10:14, :, :] = -1.5  # negative membrane
    x[16:, :, 0] = 0.75
    x[16:, :, 1] = 1.25
    x[:, 1, :] *= 0.5  # second batch row: half drive
    return x
