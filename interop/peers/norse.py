"""Norse 1.1.0 fixtures: export (``norse.torch.to_nir``), own simulation, own import.

Run by ``interop/generate.py`` inside ``interop/.venv-norse`` as
``python -P interop/peers/norse.py`` (``-P`` so this file does not shadow the package).
"""

from __future__ import annotations

import logging
import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import _common as C
import numpy as np
import torch

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
logging.disable(logging.WARNING)

import nir  # noqa: E402
import norse  # noqa: E402
import norse.torch as nt  # noqa: E402
from norse.torch import from_nir, to_nir  # noqa: E402

LIB = "norse"
OUT = os.path.join(C.FIXTURES, LIB)
DT = 1e-3  # Norse's default dt (to_nir and the cells)

CELLS = (nt.LIFCell, nt.LIFBoxCell, nt.IAFCell, nt.LIBoxCell)


def linear(w, b):
    lin = torch.nn.Linear(w.shape[1], w.shape[0])
    lin.weight.data = torch.from_numpy(w)
    lin.bias.data = torch.from_numpy(b)
    return lin


def t32(a):
    return torch.from_numpy(np.asarray(a, np.float32))


def make_cell(kind, n, case, dt=DT):
    r = C.rng(case + kind + str(n))
    tau_mem_inv = r.uniform(60.0, 200.0, n)  # 1/s: tau_mem 5 ms .. 17 ms
    tau_syn_inv = r.uniform(150.0, 400.0, n)
    v_th = r.uniform(0.8, 1.2, n)
    v_leak = r.uniform(-0.2, 0.1, n)
    v_reset = r.uniform(-0.3, 0.0, n)
    if kind == "lif":
        p = nt.LIFParameters(
            tau_syn_inv=t32(tau_syn_inv),
            tau_mem_inv=t32(tau_mem_inv),
            v_leak=t32(v_leak),
            v_th=t32(v_th),
            v_reset=t32(v_reset),
        )
        cell = nt.LIFCell(p, dt=dt)
        params = dict(
            tau_syn_inv=tau_syn_inv,
            tau_mem_inv=tau_mem_inv,
            v_leak=v_leak,
            v_th=v_th,
            v_reset=v_reset,
        )
    elif kind == "lifbox":
        p = nt.LIFBoxParameters(
            tau_mem_inv=t32(tau_mem_inv), v_leak=t32(v_leak), v_th=t32(v_th), v_reset=t32(v_reset)
        )
        cell = nt.LIFBoxCell(p, dt=dt)
        params = dict(tau_mem_inv=tau_mem_inv, v_leak=v_leak, v_th=v_th, v_reset=v_reset)
    elif kind == "iaf":
        p = nt.IAFParameters(v_th=t32(v_th), v_reset=t32(v_reset))
        cell = nt.IAFCell(p, dt=dt)
        params = dict(v_th=v_th, v_reset=v_reset)
    else:  # li
        p = nt.LIBoxParameters(tau_mem_inv=t32(tau_mem_inv), v_leak=t32(v_leak))
        cell = nt.LIBoxCell(p, dt=dt)
        params = dict(tau_mem_inv=tau_mem_inv, v_leak=v_leak)
    return cell, {k: np.asarray(v, np.float32) for k, v in params.items()}


def state_fields(state):
    out = {}
    if state is None:
        return out
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        for j, s in enumerate(state):  # importer's CubaLIF: (synapse LIBox, LIFBox)
            for k, v in state_fields(s).items():
                out[("syn_" if j == 0 else "") + k] = v
        return out
    for k in state._fields:
        out[k] = getattr(state, k).detach().to_dense().numpy().copy()
    return out


def simulate(mods, x):
    rec: dict[str, list] = {}
    states = [None] * len(mods)
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.from_numpy(x[t])
            for i, m in enumerate(mods):
                if isinstance(m, CELLS):
                    rec.setdefault(f"sim.l{i}.in", []).append(h.numpy().copy())
                    h, states[i] = m(h, states[i])
                    h = h.to_dense()
                    key = "out" if isinstance(m, nt.LIBoxCell) else "spk"
                    rec.setdefault(f"sim.l{i}.{key}", []).append(h.numpy().copy())
                    for k, v in state_fields(states[i]).items():
                        rec.setdefault(f"sim.l{i}.{k}", []).append(v)
                else:
                    h = m(h)
                    rec.setdefault(f"sim.l{i}.out", []).append(h.numpy().copy())
    return {k: np.stack(v) for k, v in rec.items()}


def run_import(graph, x, dt):
    mod = from_nir(graph, dt=dt)
    rec: dict[str, list] = {}
    hooks = []

    def hook(name):
        def f(module, inputs, output):
            if isinstance(output, tuple) and len(output) == 2:
                z, s = output
                rec.setdefault(f"imp.{name}.spk", []).append(z.detach().to_dense().numpy().copy())
                for k, v in state_fields(s).items():
                    rec.setdefault(f"imp.{name}.{k}", []).append(v)

        return f

    for name, m in mod.named_modules():
        if isinstance(m, CELLS) or type(m).__name__ == "CubaLIF":
            if isinstance(m, CELLS) and "." in name:
                continue  # inside the importer's CubaLIF wrapper: recorded by the wrapper
            hooks.append(m.register_forward_hook(hook("n" + name.replace(".", "_"))))
    state = None
    outs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            out, state = mod(torch.from_numpy(x[t]), state)
            outs.append(out.detach().to_dense().numpy().copy())
    for h in hooks:
        h.remove()
    res = {k: np.stack(v) for k, v in rec.items()}
    res["imp.out"] = np.stack(outs)
    return res


def run_case(case, mods, x, params, meta, dt=DT):
    arrays = {"input": x, "dt": np.float64(dt)}
    for k, v in params.items():
        arrays[f"param.{k}"] = np.asarray(v)
    for i, m in enumerate(mods):
        if isinstance(m, torch.nn.Linear):
            arrays[f"param.l{i}.weight"] = m.weight.detach().numpy().copy()
            arrays[f"param.l{i}.bias"] = m.bias.detach().numpy().copy()
    info = dict(meta, library=LIB, case=case, dt=dt)
    try:
        arrays.update(simulate(mods, x))
        info["simulate"] = "ok"
    except Exception as exc:
        info["simulate"] = C.error_text(exc)
    path = os.path.join(OUT, case + ".nir")
    graph = None
    try:
        net = nt.SequentialState(*mods)
        graph = to_nir(net, torch.from_numpy(x[0, 0]), dt=dt)
        C.write_nir(graph, path)
        info["export"] = "ok"
    except Exception as exc:
        info["export"] = C.error_text(exc)
    if graph is not None:
        try:
            arrays.update(run_import(nir.read(path), x, dt))
            info["import"] = "ok"
        except Exception as exc:
            info["import"] = C.error_text(exc)
    C.save_npz(os.path.join(OUT, case + ".npz"), arrays)
    return info


def main():
    cases = {}
    for kind, scale in (("lif", 1.5), ("lifbox", 40.0), ("iaf", 1.0), ("li", 1.0)):
        case = f"{kind}_ff"
        w1, b1 = C.weights(case, 6, 4)
        w2, b2 = C.weights(case + "2", 3, 6, mean=0.3)
        c1, p1 = make_cell(kind, 6, case)
        c2, p2 = make_cell(kind, 3, case)
        if kind in ("lifbox",):  # Euler gain dt/tau is small: scale the weights up
            w1, b1 = w1 * 4, b1 * 4
            w2, b2 = w2 * 4, b2 * 4
        mods = [linear(w1, b1), c1, linear(w2, b2), c2]
        params = {f"l1.{k}": v for k, v in p1.items()}
        params.update({f"l3.{k}": v for k, v in p2.items()})
        x = C.fixed_input(case, (4,), scale=scale)
        meta = {"neuron": kind, "layers": f"Linear(4,6) {kind} Linear(6,3) {kind}"}
        cases[case] = run_case(case, mods, x, params, meta)
    # exact tie on IAF: v = x exactly, threshold 1.0
    case = "tie_iaf"
    cell = nt.IAFCell(nt.IAFParameters(v_th=torch.ones(2), v_reset=torch.zeros(2)))
    mods = [linear(np.eye(2, dtype=np.float32), np.zeros(2, np.float32)), cell]
    x = C.tie_input()
    x[1, :, 1] = 0.5  # IAF: 0.5 + 0.5 = 1.0 exactly
    cases[case] = run_case(
        case,
        mods,
        x,
        {"l1.v_th": np.ones(2, np.float32), "l1.v_reset": np.zeros(2, np.float32)},
        {"neuron": "iaf", "layers": "Linear(2,2)=I IAF(v_th=1)"},
    )
    versions = {p: __import__(p).__version__ for p in ("torch", "nir", "nirtorch")}
    versions["norse"] = norse.__version__ if hasattr(norse, "__version__") else "1.1.0"
    versions["numpy"] = np.__version__
    C.save_json(os.path.join(OUT, "manifest.json"), {"versions": versions, "cases": cases})


if __name__ == "__main__":
    main()
