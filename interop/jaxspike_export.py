"""Direction (b): write jaxspike networks as NIR files for the peers' importers.

Run in jaxspike's own environment from the repository root::

    PYTHONPATH=$PWD python interop/jaxspike_export.py

It writes ``tests/fixtures/peers/from_jaxspike/<case>.nir`` and ``<case>.npz`` (the input,
time-major ``(T, B, ...)`` and channels-first as NIR wants it, and jaxspike's own output
of every layer). ``python interop/generate.py`` then loads each file with every peer's
importer (``interop/peers/read_jaxspike.py``) and stores ``<case>.<lib>.npz`` beside it.
Parameters are non-default and per neuron; weights are drawn from a fixed NumPy seed and
scaled so that every layer spikes. ``dt = 1e-4`` is snnTorch's hard-coded step; the
other importers are told the same ``dt`` where they take one (sinabs has none).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))

import _common as C

OUT = os.path.join(C.FIXTURES, "from_jaxspike")
DT = 1e-4


def _linear(nnx, jnp, w, b):
    lin = nnx.Linear(w.shape[1], w.shape[0], rngs=nnx.Rngs(0))
    lin.kernel.value = jnp.asarray(w.T)
    lin.bias.value = jnp.asarray(b)
    return lin


def build():
    """The networks: name -> (layers, input (T, B, ...) channels-last, input_shape, kw)."""
    import jax.numpy as jnp
    from flax import nnx
    from jaxspike.convert import Flatten, SumPool
    from jaxspike.nnx import IF, LIF, RNN, CubaLIF, LIFCell, RecurrentCell

    nets = {}

    def decay(case, n, lo=0.6, hi=0.95):
        return C.rng(case + str(n)).uniform(lo, hi, n).astype(np.float32)

    def vth(case, n):
        if case.endswith("_vth"):  # per-neuron thresholds (snnTorch's importer refuses them)
            return C.rng(case + "thr" + str(n)).uniform(0.9, 1.4, n).astype(np.float32)
        return np.full(n, 1.25, np.float32)

    for case, kind, reset in (
        ("lif_zero", "lif", "zero"),
        ("lif_zero_vth", "lif", "zero"),
        ("lif_subtract_approx", "lif", "subtract"),
        ("cubalif_zero", "cubalif", "zero"),
        ("if_zero", "if", "zero"),
    ):
        w1, b1 = C.weights(case, 6, 4)
        w2, b2 = C.weights(case + "2", 3, 6, mean=0.3)
        layers = [_linear(nnx, jnp, w1, b1)]
        for n in (6, 3):
            if kind == "lif":
                layers.append(LIF(n, decay=decay(case, n), v_th=vth(case, n), reset=reset))
            elif kind == "cubalif":
                layers.append(
                    CubaLIF(
                        n,
                        decay_syn=decay(case + "syn", n, 0.5, 0.9),
                        decay_mem=decay(case, n),
                        v_th=vth(case, n),
                        reset=reset,
                    )
                )
            else:
                layers.append(IF(n, v_th=vth(case, n), reset=reset))
            if n == 6:
                layers.append(_linear(nnx, jnp, w2, b2))
        x = C.fixed_input(case, (4,), scale=1.5)
        nets[case] = (layers, x, (4,), {"approximate": reset == "subtract"})

    case = "rlif_zero"
    w1, b1 = C.weights(case, 5, 4)
    wr, _ = C.weights(case + "rec", 5, 5, mean=-0.1, std=0.5)
    cell = RecurrentCell(
        LIFCell(5, decay=decay(case, 5), v_th=vth(case, 5), reset="zero"), rngs=nnx.Rngs(0)
    )
    cell.kernel.value = jnp.asarray(wr.T)
    nets[case] = (
        [_linear(nnx, jnp, w1, b1), RNN(cell)],
        C.fixed_input(case, (4,), scale=1.5),
        (4,),
        {},
    )

    case = "conv_lif_zero"
    r = C.rng(case)
    conv = nnx.Conv(2, 4, (3, 3), padding=1, rngs=nnx.Rngs(0))
    conv.kernel.value = jnp.asarray(r.normal(0.15, 0.35, (3, 3, 2, 4)).astype(np.float32))
    conv.bias.value = jnp.asarray(r.normal(0.0, 0.1, 4).astype(np.float32))
    w2, b2 = C.weights(case + "2", 3, 36, mean=0.1, std=0.3)
    layers = [
        conv,
        LIF(4, decay=decay(case, 4), v_th=vth(case, 4), reset="zero"),
        SumPool((2, 2), (2, 2)),
        Flatten(),
        _linear(nnx, jnp, w2, b2),
        LIF(3, decay=decay(case, 3), v_th=vth(case, 3), reset="zero"),
    ]
    x = C.fixed_input(case, (6, 6, 2), scale=1.2, mean=0.25)
    nets[case] = (layers, x, (6, 6, 2), {})
    return nets


def main() -> None:
    import nir
    from jaxspike.convert import Flatten
    from jaxspike.nir import export_nir
    from jaxspike.nnx import Sequential

    info = {}
    for case, (layers, x, input_shape, kw) in build().items():
        xb = np.swapaxes(x, 0, 1)  # jaxspike: batch-major [B, T, ...]
        arrays = {"dt": np.float64(DT)}
        h = xb
        for i, layer in enumerate(layers):
            # Flatten acts per sample and step here: [B, T, H, W, C] -> [B, T, F]
            flat = isinstance(layer, Flatten)
            h = h.reshape(*h.shape[:2], -1) if flat else np.asarray(layer(h))
            arrays[f"jaxspike.l{i}.out"] = np.swapaxes(h, 0, 1)
        model = Sequential(*layers)
        out = np.asarray(model(xb))
        if not np.array_equal(out, h):
            raise SystemExit(f"{case}: layer-by-layer run differs from Sequential")
        arrays["jaxspike.out"] = np.swapaxes(out, 0, 1)
        graph = export_nir(model, dt=DT, input_shape=input_shape, **kw)
        if x.ndim == 5:  # channels last -> first, as the exported Input is (C, H, W)
            arrays["input"] = np.ascontiguousarray(x.transpose(0, 1, 4, 2, 3))
        else:
            arrays["input"] = x
        path = os.path.join(OUT, case + ".nir")
        C.write_nir(graph, path)
        nir.read(path)
        C.save_npz(os.path.join(OUT, case + ".npz"), arrays)
        info[case] = {
            "layers": [type(m).__name__ for m in layers],
            "export_kwargs": {k: bool(v) for k, v in kw.items()},
            "nodes": sorted(type(n).__name__ for n in graph.nodes.values()),
            "dt": DT,
        }
    C.save_json(os.path.join(OUT, "manifest.json"), {"cases": info})


if __name__ == "__main__":
    main()
