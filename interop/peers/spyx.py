"""Spyx 1.0.0 fixtures: export (``spyx.nir.to_nir``), own simulation, own import.

Run by ``interop/generate.py`` inside ``interop/.venv-spyx`` as
``python -P interop/peers/spyx.py`` (``-P`` so this file does not shadow the package).
Spyx is JAX-based; it runs on the CPU here, in float32.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import _common as C
import jax
import jax.numpy as jnp
import nir
import numpy as np
import spyx
import spyx.nir as snir
import spyx.nn as snn
from flax import nnx

LIB = "spyx"
OUT = os.path.join(C.FIXTURES, LIB)
DT = 1.0  # Spyx's to_nir default
NEURONS = (snn.LIF, snn.CuBaLIF, snn.IF)


def linear(w, b):
    lin = nnx.Linear(w.shape[1], w.shape[0], rngs=nnx.Rngs(0))
    lin.kernel[...] = jnp.asarray(w.T)
    lin.bias[...] = jnp.asarray(b)
    return lin


def neuron(kind, n, case):
    r = C.rng(case + kind + str(n))
    beta = r.uniform(0.6, 0.95, n).astype(np.float32)
    alpha = r.uniform(0.5, 0.9, n).astype(np.float32)
    thr = 1.25
    rngs = nnx.Rngs(0)
    if kind == "lif":
        m = snn.LIF((n,), beta=0.5, threshold=thr, rngs=rngs)
        m.beta = nnx.Param(jnp.asarray(beta))
        return m, {"beta": beta, "threshold": np.float32(thr)}
    if kind == "cubalif":
        m = snn.CuBaLIF((n,), alpha=0.5, beta=0.5, threshold=thr, rngs=rngs)
        m.beta = nnx.Param(jnp.asarray(beta))
        m.alpha = nnx.Param(jnp.asarray(alpha))
        return m, {"beta": beta, "alpha": alpha, "threshold": np.float32(thr)}
    return snn.IF((n,), threshold=thr), {"threshold": np.float32(thr)}


def state_fields(layer, s):
    s = np.asarray(s)
    if isinstance(layer, snn.CuBaLIF):
        v, i = np.split(s, 2, axis=-1)
        return {"mem": v, "syn": i}
    return {"mem": s}


def simulate(layers, x, prefix):
    rec: dict[str, list] = {}
    states = [m.initial_state(x.shape[1]) if hasattr(m, "initial_state") else None for m in layers]
    for t in range(x.shape[0]):
        h = jnp.asarray(x[t])
        for i, m in enumerate(layers):
            if states[i] is not None:
                rec.setdefault(f"{prefix}.l{i}.in", []).append(np.asarray(h))
                h, states[i] = m(h, states[i])
                rec.setdefault(f"{prefix}.l{i}.spk", []).append(np.asarray(h))
                for k, v in state_fields(m, states[i]).items():
                    rec.setdefault(f"{prefix}.l{i}.{k}", []).append(v)
            else:
                h = m(h)
                rec.setdefault(f"{prefix}.l{i}.out", []).append(np.asarray(h))
    return {k: np.stack(v) for k, v in rec.items()}


def run_import(graph, x, dt=DT):
    model, (outputs, states) = snir.from_nir(graph, jnp.asarray(x), dt=dt, return_all_states=True)
    res = {"imp.out": np.asarray(outputs)}
    for i, (layer, s) in enumerate(zip(model.layers, states, strict=True)):
        if s is not None:
            res[f"imp.n{i}.type"] = np.array(type(layer).__name__)
            for k, v in state_fields(layer, s).items():
                res[f"imp.n{i}.{k}"] = v
    # the importer's own step, layer by layer, also gives the spikes of hidden layers
    res.update(
        {
            k.replace("imp2.l", "imp.n"): v
            for k, v in simulate(list(model.layers), x, "imp2").items()
            if k.endswith(".spk")
        }
    )
    return res


def run_case(case, layers, x, params, meta, input_shape):
    arrays = {"input": x, "dt": np.float64(DT)}
    for k, v in params.items():
        arrays[f"param.{k}"] = np.asarray(v)
    for i, m in enumerate(layers):
        if isinstance(m, nnx.Linear):
            arrays[f"param.l{i}.weight"] = np.asarray(m.kernel[...]).T.copy()
            arrays[f"param.l{i}.bias"] = np.asarray(m.bias[...]).copy()
    info = dict(meta, library=LIB, case=case, dt=DT)
    try:
        arrays.update(simulate(layers, x, "sim"))
        info["simulate"] = "ok"
    except Exception as exc:
        info["simulate"] = C.error_text(exc)
    path = os.path.join(OUT, case + ".nir")
    graph = None
    try:
        model = snn.Sequential(*layers)
        graph = snir.to_nir(
            model, {"input": np.array(input_shape)}, {"output": np.array([meta["n_out"]])}, dt=DT
        )
        C.write_nir(graph, path)
        info["export"] = "ok"
    except Exception as exc:
        info["export"] = C.error_text(exc)
    if graph is not None:
        try:
            arrays.update(run_import(nir.read(path), x))
            info["import"] = "ok"
        except Exception as exc:
            info["import"] = C.error_text(exc)
    C.save_npz(os.path.join(OUT, case + ".npz"), arrays)
    return info


def main():
    cases = {}
    for kind, scale in (("lif", 1.5), ("cubalif", 0.8), ("if", 1.0)):
        case = f"{kind}_ff"
        w1, b1 = C.weights(case, 6, 4)
        w2, b2 = C.weights(case + "2", 3, 6, mean=0.3)
        n1, p1 = neuron(kind, 6, case)
        n2, p2 = neuron(kind, 3, case)
        layers = [linear(w1, b1), n1, linear(w2, b2), n2]
        params = {f"l1.{k}": v for k, v in p1.items()}
        params.update({f"l3.{k}": v for k, v in p2.items()})
        meta = {"neuron": kind, "layers": f"Linear(4,6) {kind} Linear(6,3) {kind}", "n_out": 3}
        x = C.fixed_input(case, (4,), scale=scale)
        cases[case] = run_case(case, layers, x, params, meta, [4])
    case = "tie_lif"
    lif = snn.LIF((2,), beta=0.5, threshold=1.0, rngs=nnx.Rngs(0))
    lif.beta = nnx.Param(jnp.full((2,), 0.5))  # a 0-d beta makes to_nir fail
    layers = [linear(np.eye(2, dtype=np.float32), np.zeros(2, np.float32)), lif]
    meta = {"neuron": "lif", "layers": "Linear(2,2)=I LIF(beta=0.5, thr=1.0)", "n_out": 2}
    cases[case] = run_case(
        case,
        layers,
        C.tie_input(),
        {"l1.beta": np.float32(0.5), "l1.threshold": np.float32(1.0)},
        meta,
        [2],
    )
    versions = {
        "spyx": getattr(spyx, "__version__", "1.0.0"),
        "jax": jax.__version__,
        "nir": nir.__version__ if hasattr(nir, "__version__") else "?",
        "numpy": np.__version__,
    }
    C.save_json(os.path.join(OUT, "manifest.json"), {"versions": versions, "cases": cases})


if __name__ == "__main__":
    main()
