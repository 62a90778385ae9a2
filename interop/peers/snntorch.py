"""snnTorch 1.0.0 fixtures: export, own simulation, own NIR import.

Run by ``interop/generate.py`` inside ``interop/.venv-snntorch`` as
``python -P interop/peers/snntorch.py`` (``-P`` so this file does not shadow the package).
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
import snntorch as snn  # noqa: E402
from snntorch.export_nir import export_to_nir  # noqa: E402
from snntorch.import_nir import import_from_nir  # noqa: E402

LIB = "snntorch"
OUT = os.path.join(C.FIXTURES, LIB)
DT = 1e-4  # hard-coded in snnTorch's exporter and importer


def linear(w, b):
    lin = torch.nn.Linear(w.shape[1], w.shape[0])
    lin.weight.data = torch.from_numpy(w)
    lin.bias.data = torch.from_numpy(b)
    return lin


def neuron(kind, n, case, *, reset, delay, per_neuron_thr=False):
    r = C.rng(case + kind + str(n))
    beta = torch.from_numpy(r.uniform(0.6, 0.95, n).astype(np.float32))
    alpha = torch.from_numpy(r.uniform(0.5, 0.9, n).astype(np.float32))
    if per_neuron_thr:
        thr = torch.from_numpy(r.uniform(0.8, 1.4, n).astype(np.float32))
    else:
        thr = torch.full((n,), 1.25, dtype=torch.float32)
    kw = dict(threshold=thr, reset_mechanism=reset, reset_delay=delay, init_hidden=True)
    if kind == "leaky":
        mod = snn.Leaky(beta=beta, **kw)
    else:
        mod = snn.Synaptic(alpha=alpha, beta=beta, **kw)
    params = {"beta": beta.numpy(), "threshold": thr.numpy()}
    if kind == "synaptic":
        params["alpha"] = alpha.numpy()
    return mod, params


def recurrent(kind, n, case, w, b, *, reset, delay):
    r = C.rng(case + kind)
    beta = torch.from_numpy(r.uniform(0.6, 0.95, n).astype(np.float32))
    alpha = torch.from_numpy(r.uniform(0.5, 0.9, n).astype(np.float32))
    thr = torch.full((n,), 1.25, dtype=torch.float32)
    kw = dict(
        threshold=thr,
        reset_mechanism=reset,
        reset_delay=delay,
        init_hidden=True,
        all_to_all=True,
        linear_features=n,
    )
    if kind == "rleaky":
        mod = snn.RLeaky(beta=beta, **kw)
    else:
        mod = snn.RSynaptic(alpha=alpha, beta=beta, **kw)
    mod.recurrent.weight.data = torch.from_numpy(w)
    mod.recurrent.bias.data = torch.from_numpy(b)
    params = {"beta": beta.numpy(), "threshold": thr.numpy(), "w_rec": w, "b_rec": b}
    if kind == "rsynaptic":
        params["alpha"] = alpha.numpy()
    return mod, params


def reset_hidden(net):
    for m in net.modules():
        if isinstance(m, (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic)):
            for name in ("mem", "syn", "spk"):
                if hasattr(m, name):
                    setattr(m, name, torch.zeros(0))


def simulate(net, x):
    """Step the snnTorch Sequential; record every layer's input, spikes, membrane."""
    reset_hidden(net)
    rec: dict[str, list] = {}
    names = {m: f"l{i}" for i, m in enumerate(net)}
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.from_numpy(x[t])
            for m in net:
                name = names[m]
                if isinstance(m, (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic)):
                    rec.setdefault(f"sim.{name}.in", []).append(h.numpy().copy())
                    h = m(h)
                    rec.setdefault(f"sim.{name}.spk", []).append(h.numpy().copy())
                    rec.setdefault(f"sim.{name}.mem", []).append(m.mem.numpy().copy())
                    if hasattr(m, "syn"):
                        rec.setdefault(f"sim.{name}.syn", []).append(m.syn.numpy().copy())
                else:
                    h = m(h)
                    rec.setdefault(f"sim.{name}.out", []).append(h.numpy().copy())
    return {k: np.stack(v) for k, v in rec.items()}


def run_import(graph, x):
    """snnTorch's own importer; record the graph output and every neuron's state."""
    mod = import_from_nir(graph)
    rec: dict[str, list] = {}
    hooks = []

    def hook(name):
        def f(module, inputs, output):
            spk = output[0] if isinstance(output, tuple) else output
            rec.setdefault(f"imp.{name}.spk", []).append(spk.detach().numpy().copy())
            rec.setdefault(f"imp.{name}.mem", []).append(module.mem.detach().numpy().copy())
            if hasattr(module, "syn"):
                rec.setdefault(f"imp.{name}.syn", []).append(module.syn.detach().numpy().copy())

        return f

    for name, m in mod.named_modules():
        if isinstance(m, (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic)):
            hooks.append(m.register_forward_hook(hook("n" + name.replace(".", "_"))))
    state = None
    outs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            xt = torch.from_numpy(x[t])
            if state is None:
                out, state = mod(xt)
            else:
                out, state = mod(xt, state)
            outs.append(out.detach().numpy().copy())
    for h in hooks:
        h.remove()
    res = {k: np.stack(v) for k, v in rec.items()}
    res["imp.out"] = np.stack(outs)
    return res


def run_case(case, net, x, params, meta):
    arrays = {"input": x, "dt": np.float64(DT)}
    for k, v in params.items():
        arrays[f"param.{k}"] = np.asarray(v)
    for m_i, m in enumerate(net):
        if isinstance(m, torch.nn.Linear):
            arrays[f"param.l{m_i}.weight"] = m.weight.detach().numpy().copy()
            arrays[f"param.l{m_i}.bias"] = m.bias.detach().numpy().copy()
    info = dict(meta, library=LIB, case=case, dt=DT)
    try:
        arrays.update(simulate(net, x))
        info["simulate"] = "ok"
    except Exception as exc:  # recorded: the library's own failure is evidence
        info["simulate"] = C.error_text(exc)
    path = os.path.join(OUT, case + ".nir")
    try:
        reset_hidden(net)
        graph = export_to_nir(net, torch.from_numpy(x[0]), ignore_dims=[0])
        C.write_nir(graph, path)
        info["export"] = "ok"
    except Exception as exc:  # recorded: the exporter's own failure is evidence
        info["export"] = C.error_text(exc)
        graph = None
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
    for kind in ("leaky", "synaptic"):
        for reset in ("subtract", "zero"):
            for delay in (True, False):
                case = f"{kind}_{reset}_{'delay' if delay else 'nodelay'}"
                w1, b1 = C.weights(case, 6, 4)
                w2, b2 = C.weights(case + "2", 3, 6, mean=0.3)
                n1, p1 = neuron(kind, 6, case, reset=reset, delay=delay)
                n2, p2 = neuron(kind, 3, case, reset=reset, delay=delay)
                net = torch.nn.Sequential(linear(w1, b1), n1, linear(w2, b2), n2)
                params = {f"l1.{k}": v for k, v in p1.items()}
                params.update({f"l3.{k}": v for k, v in p2.items()})
                x = C.fixed_input(case, (4,), scale=1.5)
                meta = {
                    "neuron": kind,
                    "reset_mechanism": reset,
                    "reset_delay": delay,
                    "layers": "Linear(4,6) " + kind + " Linear(6,3) " + kind,
                }
                cases[case] = run_case(case, net, x, params, meta)
    # exact ties: v lands on the threshold (1.0) with dyadic numbers
    for reset in ("subtract", "zero"):
        case = f"tie_leaky_{reset}"
        eye = np.eye(2, dtype=np.float32)
        lif = snn.Leaky(
            beta=torch.full((2,), 0.5),
            threshold=torch.full((2,), 1.0),
            reset_mechanism=reset,
            reset_delay=False,
            init_hidden=True,
        )
        net = torch.nn.Sequential(linear(eye, np.zeros(2, np.float32)), lif)
        params = {"l1.beta": np.full(2, 0.5, np.float32), "l1.threshold": np.ones(2, np.float32)}
        meta = {
            "neuron": "leaky",
            "reset_mechanism": reset,
            "reset_delay": False,
            "layers": "Linear(2,2)=I Leaky(beta=0.5, thr=1.0)",
        }
        cases[case] = run_case(case, net, C.tie_input(), params, meta)
    # per-neuron thresholds (the importer requires one threshold per layer)
    case = "leaky_per_neuron_threshold"
    w1, b1 = C.weights(case, 6, 4)
    n1, p1 = neuron("leaky", 6, case, reset="subtract", delay=True, per_neuron_thr=True)
    net = torch.nn.Sequential(linear(w1, b1), n1)
    meta = {
        "neuron": "leaky",
        "reset_mechanism": "subtract",
        "reset_delay": True,
        "layers": "Linear(4,6) Leaky(per-neuron threshold)",
    }
    cases[case] = run_case(
        case, net, C.fixed_input(case, (4,), scale=1.5), {f"l1.{k}": v for k, v in p1.items()}, meta
    )
    # recurrent layers with a recurrent bias
    for kind in ("rleaky", "rsynaptic"):
        for reset, delay in (("subtract", True), ("zero", False)):
            case = f"{kind}_{reset}_{'delay' if delay else 'nodelay'}"
            w1, b1 = C.weights(case, 5, 4)
            wr, br = C.weights(case + "rec", 5, 5, mean=-0.1, std=0.5)
            br = (br + 0.3).astype(np.float32)  # a visible recurrent bias
            w2, b2 = C.weights(case + "2", 3, 5, mean=0.3)
            rn, pr = recurrent(kind, 5, case, wr, br, reset=reset, delay=delay)
            n2, p2 = neuron("leaky", 3, case, reset=reset, delay=delay)
            net = torch.nn.Sequential(linear(w1, b1), rn, linear(w2, b2), n2)
            params = {f"l1.{k}": v for k, v in pr.items()}
            params.update({f"l3.{k}": v for k, v in p2.items()})
            meta = {
                "neuron": kind,
                "reset_mechanism": reset,
                "reset_delay": delay,
                "layers": f"Linear(4,5) {kind}(all_to_all, bias) Linear(5,3) leaky",
            }
            cases[case] = run_case(case, net, C.fixed_input(case, (4,), scale=1.5), params, meta)
    versions = {p: __import__(p).__version__ for p in ("snntorch", "torch", "nir", "nirtorch")}
    versions["numpy"] = np.__version__
    C.save_json(os.path.join(OUT, "manifest.json"), {"versions": versions, "cases": cases})


if __name__ == "__main__":
    main()
