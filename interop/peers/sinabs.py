"""sinabs 3.1.3 fixtures: export (``sinabs.to_nir``), own simulation, own import.

Run by ``interop/generate.py`` inside ``interop/.venv-sinabs`` as
``python -P interop/peers/sinabs.py`` (``-P`` so this file does not shadow the package).
sinabs layers run whole sequences; the ``*Squeeze`` layers take ``(B*T, ...)``
(batch-major), which is also the layout its exporter needs to see per-sample shapes.
"""

from __future__ import annotations

import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import _common as C
import numpy as np
import torch

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

import nir  # noqa: E402
import sinabs  # noqa: E402
import sinabs.activation as sa  # noqa: E402
import sinabs.layers as sl  # noqa: E402
from sinabs import from_nir, to_nir  # noqa: E402

LIB = "sinabs"
OUT = os.path.join(C.FIXTURES, LIB)
DT = 1.0  # sinabs time constants are in steps
NEURONS = (sl.IAFSqueeze, sl.LIFSqueeze, sl.ExpLeakSqueeze)


def to_bt(x):
    """(T, B, ...) -> (B*T, ...) batch-major, as the Squeeze layers expect."""
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(x, 0, 1)).reshape(-1, *x.shape[2:]))


def from_bt(y, b):
    y = y.detach().numpy()
    return np.ascontiguousarray(np.swapaxes(y.reshape(b, -1, *y.shape[1:]), 0, 1))


def linear(w, b):
    lin = torch.nn.Linear(w.shape[1], w.shape[0])
    lin.weight.data = torch.from_numpy(w)
    lin.bias.data = torch.from_numpy(b)
    return lin


def run_modules(mods, x, prefix):
    """Run the sequence of modules on the whole input; record every layer."""
    rec = {}
    h = to_bt(x)
    with torch.no_grad():
        for name, m in mods:
            if isinstance(m, NEURONS):
                m.reset_states()
                m.record_states = True
                rec[f"{prefix}.{name}.in"] = from_bt(h, C.B)
                h = m(h)
                key = "out" if isinstance(m, sl.ExpLeakSqueeze) else "spk"
                rec[f"{prefix}.{name}.{key}"] = from_bt(h, C.B)
                for k, v in m.recordings.items():  # (B, T, ...) after reset and floor
                    rec[f"{prefix}.{name}.{k}"] = np.ascontiguousarray(
                        np.swapaxes(v.detach().numpy(), 0, 1)
                    )
            else:  # linear, conv, pool, flatten: the next neuron records its input
                h = m(h)
    return rec, h


def run_import(graph, x):
    mod = from_nir(graph, batch_size=C.B)
    mods = [(k, v) for k, v in mod.named_children() if not isinstance(v, torch.nn.Identity)]
    # nirtorch's executor runs the nodes in graph order; record by calling them in turn
    # (the graphs here are chains) and check that the executor gives the same output.
    rec, h = run_modules([(f"n{k}", m) for k, m in mods], x, "imp")
    for _, m in mods:
        if isinstance(m, NEURONS):
            m.reset_states()
    with torch.no_grad():
        out = mod(to_bt(x))
    if isinstance(out, tuple):
        out = out[0]
    rec["imp.out"] = from_bt(out, C.B)
    rec["imp.chain_equals_executor"] = np.array(np.array_equal(from_bt(h, C.B), rec["imp.out"]))
    return rec


def run_case(case, mods, x, params, meta, patch_flatten=None):
    arrays = {"input": x, "dt": np.float64(DT)}
    for k, v in params.items():
        arrays[f"param.{k}"] = np.asarray(v)
    for name, m in mods:
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            arrays[f"param.{name}.weight"] = m.weight.detach().numpy().copy()
            arrays[f"param.{name}.bias"] = m.bias.detach().numpy().copy()
    info = dict(meta, library=LIB, case=case, dt=DT)
    try:
        rec, _ = run_modules(mods, x, "sim")
        arrays.update(rec)
        info["simulate"] = "ok"
    except Exception as exc:
        info["simulate"] = C.error_text(exc)
    path = os.path.join(OUT, case + ".nir")
    graph = None
    try:
        net = torch.nn.Sequential(*[m for _, m in mods])
        graph = to_nir(net, to_bt(x))
        C.write_nir(graph, path)
        info["export"] = "ok"
    except Exception as exc:
        info["export"] = C.error_text(exc)
        graph = None
        if "conv" in case:  # patched: give Conv2d the input_shape the exporter leaves None
            graph = to_nir(net, to_bt(x))
            for node in graph.nodes.values():
                if isinstance(node, nir.Conv2d) and node.input_shape is None:
                    node.input_shape = np.array(x.shape[-2:])
                if isinstance(node, nir.Flatten):
                    node.input_type = {"input": np.array(patch_flatten)}
            C.write_nir(graph, path)
            info["export_patch"] = (
                "sinabs.to_nir leaves Conv2d.input_shape and Flatten.input_type None, which "
                "nir.write cannot store: set to (H, W) and the pooled (C, H, W)"
            )
    if graph is not None:
        try:
            arrays.update(run_import(nir.read(path), x))
            info["import"] = "ok"
        except Exception as exc:
            info["import"] = C.error_text(exc)
    C.save_npz(os.path.join(OUT, case + ".npz"), arrays)
    return info


def t32(a):
    return torch.from_numpy(np.asarray(a, np.float32))


def neuron(kind, n, case, **kw):
    r = C.rng(case + kind + str(n))
    tau_mem = r.uniform(3.0, 12.0, n).astype(np.float32)
    tau_syn = r.uniform(2.0, 5.0, n).astype(np.float32)
    # LIF per-neuron: a 0-d threshold next to a per-neuron tau fails nir's shape check
    thr = np.float32(1.25) if kind == "iaf" else r.uniform(0.9, 1.3, n).astype(np.float32)
    common = dict(batch_size=C.B, spike_threshold=t32(thr), **kw)
    if kind == "lif":
        return sl.LIFSqueeze(tau_mem=t32(tau_mem), **common), {"tau_mem": tau_mem, "thr": thr}
    if kind == "lif_syn":
        m = sl.LIFSqueeze(tau_mem=t32(tau_mem), tau_syn=t32(tau_syn), **common)
        return m, {"tau_mem": tau_mem, "tau_syn": tau_syn, "thr": thr}
    return sl.IAFSqueeze(**common), {"thr": thr}


def main():
    cases = {}
    ff = (
        ("lif_ff", "lif", {}, 5.0),
        ("lif_syn_ff", "lif_syn", {}, 4.0),
        ("iaf_ff", "iaf", {}, 1.0),
        ("iaf_ff_single_spike", "iaf", {"spike_fn": sa.SingleSpike}, 1.0),
        ("iaf_ff_reset_zero", "iaf", {"reset_fn": sa.MembraneReset()}, 1.0),
        ("iaf_ff_reset_value", "iaf", {"reset_fn": sa.MembraneReset(reset_value=-0.25)}, 1.0),
        ("iaf_ff_floor", "iaf", {"min_v_mem": -0.5}, 1.0),
    )
    for case, kind, kw, scale in ff:
        w1, b1 = C.weights(case, 6, 4)
        w2, b2 = C.weights(case + "2", 3, 6, mean=0.3)
        n1, p1 = neuron(kind, 6, case, **kw)
        n2, p2 = neuron(kind, 3, case, **kw)
        mods = [("l0", linear(w1, b1)), ("l1", n1), ("l2", linear(w2, b2)), ("l3", n2)]
        params = {f"l1.{k}": v for k, v in p1.items()}
        params.update({f"l3.{k}": v for k, v in p2.items()})
        opts = {k: repr(v) for k, v in kw.items()}
        meta = {"neuron": kind, "options": opts, "layers": f"Linear(4,6) {kind} Linear(6,3) {kind}"}
        cases[case] = run_case(case, mods, C.fixed_input(case, (4,), scale=scale), params, meta)
    # exact tie: v lands on the threshold 1.0 (IAF: v = sum of inputs)
    case = "tie_iaf"
    x = C.tie_input()
    x[1, :, 1] = 0.5
    eye = linear(np.eye(2, dtype=np.float32), np.zeros(2, np.float32))
    mods = [("l0", eye), ("l1", sl.IAFSqueeze(batch_size=C.B, spike_threshold=torch.tensor(1.0)))]
    cases[case] = run_case(
        case,
        mods,
        x,
        {"l1.thr": np.float32(1.0)},
        {"neuron": "iaf", "layers": "Linear(2,2)=I IAF(thr=1)"},
    )
    # conv net: Conv2d, IAF, SumPool2d, Flatten, Linear, IAF
    case = "conv_iaf"
    r = C.rng(case)
    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    conv.weight.data = t32(r.normal(0.15, 0.35, (4, 2, 3, 3)))
    conv.bias.data = t32(r.normal(0.0, 0.1, 4))
    w2, b2 = C.weights(case + "2", 3, 4 * 3 * 3, mean=0.1, std=0.3)
    mods = [
        ("l0", conv),
        ("l1", sl.IAFSqueeze(batch_size=C.B, spike_threshold=torch.tensor(1.25))),
        ("l2", sl.SumPool2d(2)),
        ("l3", torch.nn.Flatten()),
        ("l4", linear(w2, b2)),
        ("l5", sl.IAFSqueeze(batch_size=C.B, spike_threshold=torch.tensor(1.25))),
    ]
    x = C.fixed_input(case, (2, 6, 6), scale=1.2, mean=0.25)
    params = {"l1.thr": np.float32(1.25), "l5.thr": np.float32(1.25)}
    meta = {
        "neuron": "iaf",
        "layers": "Conv2d(2,4,3,pad=1) IAF SumPool2d(2) Flatten Linear(36,3) IAF",
        "input_layout": "(T, B, C, H, W)",
    }
    cases[case] = run_case(case, mods, x, params, meta, patch_flatten=(4, 3, 3))
    versions = {p: __import__(p).__version__ for p in ("torch", "nir", "nirtorch")}
    versions["sinabs"] = sinabs.__version__
    versions["numpy"] = np.__version__
    C.save_json(os.path.join(OUT, "manifest.json"), {"versions": versions, "cases": cases})


if __name__ == "__main__":
    main()
