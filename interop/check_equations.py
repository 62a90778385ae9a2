"""NumPy recurrences that reproduce what each peer library computed in the fixtures.

This file is the proof behind the table in ``tests/fixtures/peers/README.md``: every
claim there (reset order, threshold comparison, floor, current order, recurrent bias at
t = 0, what each importer runs) is one of the update rules below, and :func:`run_checks`
replays the rule on the recorded layer input and compares with the recorded spikes
(exactly) and membranes. It needs only NumPy and ``nir`` (for the importer checks, which
read the parameters the file holds), no torch: run it in jaxspike's environment::

    python interop/check_equations.py

The rules are transcriptions of the behaviour observed in snnTorch 1.0.0, Norse 1.1.0,
sinabs 3.1.3 and Spyx 1.0.0 (read from their source, then confirmed by the traces);
no code of those libraries is copied. Arithmetic is float32 in the libraries' own
operation order, so most membranes agree bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "peers")
F = np.float32
TOL = 1e-5  # membranes: |replayed - recorded| <= TOL * max(1, max |recorded|)


def _h(x):
    """Strict Heaviside 1[x > 0] in float32."""
    return (x > 0).astype(F)


# --------------------------------------------------------------------------- snnTorch
def snntorch_leaky(x, beta, thr, *, reset, delay):
    """snnTorch ``Leaky``: decay, add input, then the *previous* step's reset.

    ``r = 1[v_{t-1} > thr]`` (strict); subtract: ``v = beta v_{t-1} + x - r thr``;
    zero: ``v = beta (1 - r) v_{t-1} + x``. Spike ``s = 1[v > thr]``. With
    ``reset_delay=False`` the membrane is then corrected in the same step by
    ``d = s - r`` (subtract: ``v -= d thr``; zero: ``v -= d v``), so ``d = -1`` *adds*
    the threshold back when a neuron fired at t-1 but not at t.
    """
    beta = np.clip(beta, 0, 1).astype(F)
    v = np.zeros(x.shape[1:], F)
    spk, mem = [], []
    for t in range(x.shape[0]):
        r = _h(v - thr)
        keep = F(1) if reset == "subtract" else F(1) - r  # zero: forget v_{t-1}
        v = beta * (keep * v) + x[t]
        if reset == "subtract":
            v = v - r * thr
        s = _h(v - thr)
        if not delay:
            d = s - r
            v = v - d * thr if reset == "subtract" else v - d * v
        spk.append(s)
        mem.append(v)
    return {"spk": np.stack(spk), "mem": np.stack(mem)}


def snntorch_synaptic(x, alpha, beta, thr, *, reset, delay):
    """snnTorch ``Synaptic``: ``i = alpha i + x`` first, the membrane uses the *new* ``i``.

    ``v = beta v + i`` then the previous step's reset ``r = 1[v_{t-1} > thr]``:
    subtract ``v -= r thr``; zero ``v -= r v`` (the whole new membrane, input included,
    and ``i`` is kept). Same-step correction as :func:`snntorch_leaky`.
    """
    alpha = np.clip(alpha, 0, 1).astype(F)
    beta = np.clip(beta, 0, 1).astype(F)
    v = np.zeros(x.shape[1:], F)
    i = np.zeros(x.shape[1:], F)
    spk, mem, syn = [], [], []
    for t in range(x.shape[0]):
        r = _h(v - thr)
        i = alpha * i + x[t]
        v = beta * v + i
        v = v - r * thr if reset == "subtract" else v - v * r
        s = _h(v - thr)
        if not delay:
            d = s - r
            v = v - d * thr if reset == "subtract" else v - d * v
        spk.append(s)
        mem.append(v)
        syn.append(i)
    return {"spk": np.stack(spk), "mem": np.stack(mem), "syn": np.stack(syn)}


def snntorch_rleaky(x, beta, thr, w_rec, b_rec, *, reset, delay):
    """snnTorch ``RLeaky`` (all-to-all): ``v = beta v + x + W s_{t-1} + b`` (bias at t = 0)."""
    beta = np.clip(beta, 0, 1).astype(F)
    v = np.zeros(x.shape[1:], F)
    s = np.zeros(x.shape[1:], F)
    spk, mem = [], []
    for t in range(x.shape[0]):
        r = _h(v - thr)
        base = beta * v + x[t] + (s @ w_rec.T + b_rec)
        v = base - r * thr if reset == "subtract" else base - r * base
        s = _h(v - thr)
        if not delay:
            d = s - r
            v = v - d * thr if reset == "subtract" else v - d * v
        spk.append(s)
        mem.append(v)
    return {"spk": np.stack(spk), "mem": np.stack(mem)}


def snntorch_rsynaptic(x, alpha, beta, thr, w_rec, b_rec, *, reset, delay):
    """snnTorch ``RSynaptic``: ``i = alpha i + x + W s_{t-1} + b``; ``v = beta v + i - r thr``."""
    if not delay:
        raise ValueError("RSynaptic(reset_delay=False) crashes in snnTorch 1.0.0")
    alpha = np.clip(alpha, 0, 1).astype(F)
    beta = np.clip(beta, 0, 1).astype(F)
    v = np.zeros(x.shape[1:], F)
    i = np.zeros(x.shape[1:], F)
    s = np.zeros(x.shape[1:], F)
    spk, mem, syn = [], [], []
    for t in range(x.shape[0]):
        r = _h(v - thr)
        i = alpha * i + x[t] + (s @ w_rec.T + b_rec)
        v = beta * v + i
        v = v - r * thr if reset == "subtract" else v - v * r
        s = _h(v - thr)
        spk.append(s)
        mem.append(v)
        syn.append(i)
    return {"spk": np.stack(spk), "mem": np.stack(mem), "syn": np.stack(syn)}


# --------------------------------------------------------------------------- Norse
def norse_lif_box(x, tau_mem_inv, v_leak, v_th, v_reset, dt):
    """Norse ``LIFBoxCell``: Euler ``v += dt tmi ((x + v_leak) - v)``, ``s = 1[v > v_th]``,
    reset to ``v_reset`` in the same step. The state starts at ``v_leak``."""
    a = F(dt) * tau_mem_inv.astype(F)
    v = np.broadcast_to(v_leak.astype(F), x.shape[1:]).copy()
    spk, mem = [], []
    for t in range(x.shape[0]):
        v = v + a * ((x[t] + v_leak) - v)
        s = _h(v - v_th)
        v = (F(1) - s) * v + s * v_reset
        spk.append(s)
        mem.append(v)
    return {"spk": np.stack(spk), "v": np.stack(mem)}


def norse_lif(x, tau_syn_inv, tau_mem_inv, v_leak, v_th, v_reset, dt):
    """Norse ``LIFCell`` (current-based): the current jumps by the input first
    (``j = i + x``), the membrane integrates the *jumped* current
    (``v += dt tmi ((v_leak - v) + j)``), then the current decays
    (``i = j - dt tsi j``); spike ``1[v > v_th]``, reset to ``v_reset``. Starts at ``v_leak``."""
    a = F(dt) * tau_mem_inv.astype(F)
    c = F(dt) * tau_syn_inv.astype(F)
    v = np.broadcast_to(v_leak.astype(F), x.shape[1:]).copy()
    i = np.zeros(x.shape[1:], F)
    spk, mem, syn = [], [], []
    for t in range(x.shape[0]):
        j = i + x[t]
        v = v + a * ((v_leak - v) + j)
        i = j + (-c) * j
        s = _h(v - v_th)
        v = (F(1) - s) * v + s * v_reset
        spk.append(s)
        mem.append(v)
        syn.append(i)
    return {"spk": np.stack(spk), "v": np.stack(mem), "i": np.stack(syn)}


def norse_iaf(x, v_th, v_reset):
    """Norse ``IAFCell``: ``v += x`` (no dt), ``s = 1[v > v_th]``, reset to ``v_reset``.

    The state starts at ``v_reset`` (not 0, not ``v_leak``: IAF has none)."""
    v = np.broadcast_to(np.asarray(v_reset, F), x.shape[1:]).copy()
    spk, mem = [], []
    for t in range(x.shape[0]):
        v = v + x[t]
        s = _h(v - v_th)
        v = (F(1) - s) * v + s * v_reset
        spk.append(s)
        mem.append(v)
    return {"spk": np.stack(spk), "v": np.stack(mem)}


def norse_li_box(x, tau_mem_inv, v_leak, dt):
    """Norse ``LIBoxCell``: ``v += dt tmi ((v_leak - v) + x)``, output ``v``.

    The state starts at ``v_leak``.
    """
    a = F(dt) * tau_mem_inv.astype(F)
    v = np.broadcast_to(v_leak.astype(F), x.shape[1:]).copy()
    out = []
    for t in range(x.shape[0]):
        v = v + a * ((v_leak - v) + x[t])
        out.append(v)
    return {"out": np.stack(out), "v": np.stack(out)}


# --------------------------------------------------------------------------- sinabs
def sinabs_neuron(
    x,
    thr,
    *,
    alpha_mem=None,
    alpha_syn=None,
    norm_input=True,
    spike="multi",
    reset="subtract",
    reset_value=0.0,
    min_v_mem=None,
):
    """sinabs ``IAF``/``LIF`` (exact exponential decay, ``alpha = exp(-1/tau)``, tau in steps).

    ``i = alpha_syn (i + x)`` (decay *after* adding; ``i = x`` without ``tau_syn``);
    ``v = alpha v + (1 - alpha) i`` (``norm_input``) or ``alpha v + i``; IAF has
    ``alpha = 1`` and no normalisation. Spikes: multi ``(v > 0) trunc(v / thr)`` (so a
    tie ``v == thr`` fires: ``>=``), single ``1[v - thr >= 0]``. Reset subtract
    ``v -= s thr``; reset "zero" ``v = v 1[s == 0] + reset_value`` (the value is added to
    every neuron, spiking or not). Then the floor ``v = max(v, min_v_mem)``.
    """
    v = np.zeros(x.shape[1:], F)
    i = np.zeros(x.shape[1:], F)
    spk, mem, syn = [], [], []
    for t in range(x.shape[0]):
        i = alpha_syn * (i + x[t]) if alpha_syn is not None else x[t]
        if alpha_mem is None:
            v = v + i
        elif norm_input:
            v = alpha_mem * v + (F(1) - alpha_mem) * i
        else:
            v = alpha_mem * v + i
        if spike == "multi":
            s = (v > 0).astype(F) * np.trunc(v / F(thr)).astype(F)
        else:
            s = (v - F(thr) >= 0).astype(F)
        v = v - s * F(thr) if reset == "subtract" else v * (s == 0).astype(F) + F(reset_value)
        if min_v_mem is not None:
            v = np.maximum(v - F(min_v_mem), F(0)) + F(min_v_mem)
        spk.append(s)
        mem.append(v)
        syn.append(i)
    out = {"spk": np.stack(spk), "v_mem": np.stack(mem)}
    if alpha_syn is not None:
        out["i_syn"] = np.stack(syn)
    return out


# --------------------------------------------------------------------------- Spyx
def spyx_lif(x, beta, thr):
    """Spyx ``LIF``: spike on the *carried* membrane, ``s = 1[v_{t-1} > thr]``, then
    ``v = beta v + x - s thr`` (subtract after the decay)."""
    beta = np.clip(beta, 0, 1).astype(F)
    v = np.zeros(x.shape[1:], F)
    spk, mem = [], []
    for t in range(x.shape[0]):
        s = _h(v - F(thr))
        v = beta * v + x[t] - s * F(thr)
        spk.append(s)
        mem.append(v)
    return {"spk": np.stack(spk), "mem": np.stack(mem)}


def spyx_cubalif(x, alpha, beta, thr):
    """Spyx ``CuBaLIF``: ``s = 1[v_{t-1} > thr]``, subtract *before* the decay,
    ``i = alpha i + x``, ``v = beta (v - s thr) + i`` (new current)."""
    alpha = np.clip(alpha, 0, 1).astype(F)
    beta = np.clip(beta, 0, 1).astype(F)
    v = np.zeros(x.shape[1:], F)
    i = np.zeros(x.shape[1:], F)
    spk, mem, syn = [], [], []
    for t in range(x.shape[0]):
        s = _h(v - F(thr))
        v = v - s * F(thr)
        i = alpha * i + x[t]
        v = beta * v + i
        spk.append(s)
        mem.append(v)
        syn.append(i)
    return {"spk": np.stack(spk), "mem": np.stack(mem), "syn": np.stack(syn)}


def spyx_if(x, thr):
    """Spyx ``IF``: ``s = 1[v_{t-1} > thr]``, ``v = v + x - s thr``."""
    v = np.zeros(x.shape[1:], F)
    spk, mem = [], []
    for t in range(x.shape[0]):
        s = _h(v - F(thr))
        v = v + x[t] - s * F(thr)
        spk.append(s)
        mem.append(v)
    return {"spk": np.stack(spk), "mem": np.stack(mem)}


# --------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Check:
    """Replay ``rule`` on one recorded layer and compare with the recording."""

    lib: str
    case: str
    layer: str  # e.g. "sim.l1" or "imp.n1"
    rule: Callable[[dict, np.ndarray], dict]
    claim: str
    input_from: str | None = None  # "linear:l0" = recompute the input from x with layer l0


def load(lib: str, case: str) -> dict:
    with np.load(os.path.join(FIXTURES, lib, case + ".npz")) as d:
        return {k: d[k] for k in d.files}


def layer_input(d: dict, chk: Check) -> np.ndarray:
    if chk.input_from is None:
        return d[chk.layer + ".in"]
    lin = chk.input_from.split(":")[1]
    w, b = d[f"param.{lin}.weight"], d[f"param.{lin}.bias"]
    return (d["input"] @ w.T + b).astype(F)


def compare(d: dict, chk: Check) -> dict:
    """Run one check; returns spike equality and the largest membrane difference."""
    x = layer_input(d, chk)
    got = chk.rule(d, x)
    res = {"spikes_equal": True, "max_abs_diff": 0.0, "n_spikes": 0.0, "scale": 1.0}
    for k, v in got.items():
        key = f"{chk.layer}.{k}"
        if key not in d:
            continue
        rec = d[key]
        if k in ("spk",):
            res["spikes_equal"] &= bool(np.array_equal(v, rec))
            res["n_spikes"] = float(rec.sum())
        else:
            res["max_abs_diff"] = max(res["max_abs_diff"], float(np.abs(v - rec).max()))
            res["scale"] = max(res["scale"], float(np.abs(rec).max()))
    res["ok"] = res["spikes_equal"] and res["max_abs_diff"] <= TOL * res["scale"]
    return res


def _p(d, name):
    return d[f"param.{name}"].astype(F)


def _nir_node(lib, case, cls_name, index):
    """The ``index``-th node of type ``cls_name`` in the fixture's ``.nir`` (file order)."""
    import nir

    g = nir.read(os.path.join(FIXTURES, lib, case + ".nir"))
    nodes = [
        g.nodes[k]
        for k in sorted(g.nodes, key=lambda s: (len(s), s))
        if type(g.nodes[k]).__name__ == cls_name
    ]
    return nodes[index]


def _snn_checks():
    out = []
    for kind in ("leaky", "synaptic"):
        for reset in ("subtract", "zero"):
            for delay in (True, False):
                case = f"{kind}_{reset}_{'delay' if delay else 'nodelay'}"
                for layer in ("l1", "l3"):
                    if kind == "leaky":

                        def rule(d, x, layer=layer, reset=reset, delay=delay):
                            return snntorch_leaky(
                                x,
                                _p(d, f"{layer}.beta"),
                                _p(d, f"{layer}.threshold"),
                                reset=reset,
                                delay=delay,
                            )
                    else:

                        def rule(d, x, layer=layer, reset=reset, delay=delay):
                            return snntorch_synaptic(
                                x,
                                _p(d, f"{layer}.alpha"),
                                _p(d, f"{layer}.beta"),
                                _p(d, f"{layer}.threshold"),
                                reset=reset,
                                delay=delay,
                            )

                    out.append(
                        Check(
                            "snntorch",
                            case,
                            f"sim.{layer}",
                            rule,
                            f"{kind} reset={reset} reset_delay={delay}",
                        )
                    )
                # snnTorch's importer: reset to zero, no delay, beta = 1 - dt/tau from the file
                if kind == "leaky":

                    def irule(d, x, case=case):
                        node = _nir_node("snntorch", case, "LIF", 0)
                        beta = (1 - 1e-4 / node.tau).astype(F)
                        return snntorch_leaky(
                            x, beta, F(np.unique(node.v_threshold)[0]), reset="zero", delay=False
                        )
                else:

                    def irule(d, x, case=case):
                        node = _nir_node("snntorch", case, "CubaLIF", 0)
                        alpha = (
                            F(np.unique(1 - 1e-4 / node.tau_syn)[0])
                            if np.unique(1 - 1e-4 / node.tau_syn).size == 1
                            else (1 - 1e-4 / node.tau_syn).astype(F)
                        )
                        beta = (1 - 1e-4 / node.tau_mem).astype(F)
                        return snntorch_synaptic(
                            x,
                            alpha,
                            beta,
                            F(np.unique(node.v_threshold)[0]),
                            reset="zero",
                            delay=False,
                        )

                out.append(
                    Check(
                        "snntorch",
                        case,
                        "imp.n1",
                        irule,
                        "importer: Leaky/Synaptic(reset_mechanism='zero', reset_delay=False)",
                        input_from="linear:l0",
                    )
                )
    for reset in ("subtract", "zero"):

        def rule(d, x, reset=reset):
            return snntorch_leaky(
                x, _p(d, "l1.beta"), _p(d, "l1.threshold"), reset=reset, delay=False
            )

        out.append(
            Check(
                "snntorch",
                f"tie_leaky_{reset}",
                "sim.l1",
                rule,
                "tie v == thr does not fire (strict >)",
            )
        )
    for kind in ("rleaky", "rsynaptic"):
        for reset, delay in (("subtract", True), ("zero", False)):
            if kind == "rsynaptic" and not delay:
                continue  # snnTorch crashes: recorded in the manifest
            case = f"{kind}_{reset}_{'delay' if delay else 'nodelay'}"

            def rule(d, x, kind=kind, reset=reset, delay=delay):
                args = (_p(d, "l1.threshold"), _p(d, "l1.w_rec"), _p(d, "l1.b_rec"))
                if kind == "rleaky":
                    return snntorch_rleaky(x, _p(d, "l1.beta"), *args, reset=reset, delay=delay)
                return snntorch_rsynaptic(
                    x, _p(d, "l1.alpha"), _p(d, "l1.beta"), *args, reset=reset, delay=delay
                )

            out.append(
                Check("snntorch", case, "sim.l1", rule, f"{kind}: recurrent bias included at t = 0")
            )
    return out


def _norse_checks():
    dt = 1e-3
    out = []
    for layer in ("l1", "l3"):
        out.append(
            Check(
                "norse",
                "lif_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: norse_lif(
                    x,
                    _p(d, f"{L}.tau_syn_inv"),
                    _p(d, f"{L}.tau_mem_inv"),
                    _p(d, f"{L}.v_leak"),
                    _p(d, f"{L}.v_th"),
                    _p(d, f"{L}.v_reset"),
                    dt,
                ),
                "LIFCell: current jumps first",
            )
        )
        out.append(
            Check(
                "norse",
                "lifbox_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: norse_lif_box(
                    x,
                    _p(d, f"{L}.tau_mem_inv"),
                    _p(d, f"{L}.v_leak"),
                    _p(d, f"{L}.v_th"),
                    _p(d, f"{L}.v_reset"),
                    dt,
                ),
                "LIFBoxCell: Euler, reset to v_reset",
            )
        )
        out.append(
            Check(
                "norse",
                "iaf_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: norse_iaf(x, _p(d, f"{L}.v_th"), _p(d, f"{L}.v_reset")),
                "IAFCell: v += x",
            )
        )
        out.append(
            Check(
                "norse",
                "li_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: norse_li_box(
                    x, _p(d, f"{L}.tau_mem_inv"), _p(d, f"{L}.v_leak"), dt
                ),
                "LIBoxCell",
            )
        )
    out.append(
        Check(
            "norse",
            "tie_iaf",
            "sim.l1",
            lambda d, x: norse_iaf(x, _p(d, "l1.v_th"), _p(d, "l1.v_reset")),
            "tie v == v_th does not fire (strict >)",
        )
    )

    # Norse's importer on its own files: LIFBox with tau_mem_inv = 1/tau(file) = tmi/dt
    # and v_reset = 0 (the file has none); IAF with v_reset = 0
    def imp_lifbox(d, x):
        node = _nir_node("norse", "lifbox_ff", "LIF", 0)
        return norse_lif_box(
            x,
            (1 / node.tau).astype(F),
            node.v_leak.astype(F),
            node.v_threshold.astype(F),
            np.zeros_like(node.v_leak, F),
            dt,
        )

    def imp_iaf(d, x):
        node = _nir_node("norse", "iaf_ff", "IF", 0)
        return norse_iaf(x, node.v_threshold.astype(F), np.zeros(node.v_threshold.shape, F))

    out.append(
        Check(
            "norse",
            "lifbox_ff",
            "imp.n1",
            imp_lifbox,
            "importer: tau read as written (dt/tau_mem_inv), v_reset 0",
            input_from="linear:l0",
        )
    )
    out.append(
        Check(
            "norse", "iaf_ff", "imp.n1", imp_iaf, "importer: IF resets to 0", input_from="linear:l0"
        )
    )
    return out


def _exp_alpha(tau):
    return np.exp(F(-1) / np.asarray(tau, F)).astype(F)


def _sinabs_checks():
    out = []
    opts = {
        "iaf_ff": {},
        "iaf_ff_single_spike": {"spike": "single"},
        "iaf_ff_reset_zero": {"reset": "zero"},
        "iaf_ff_reset_value": {"reset": "zero", "reset_value": -0.25},
        "iaf_ff_floor": {"min_v_mem": -0.5},
    }
    for case, kw in opts.items():
        for layer in ("l1", "l3"):
            out.append(
                Check(
                    "sinabs",
                    case,
                    f"sim.{layer}",
                    lambda d, x, L=layer, kw=kw: sinabs_neuron(x, _p(d, f"{L}.thr"), **kw),
                    f"IAF {kw}",
                )
            )
        # importer: IAFSqueeze(min_v_mem=-thr), multi-spike, subtract, whatever was exported
        out.append(
            Check(
                "sinabs",
                case,
                "imp.n1",
                lambda d, x, case=case: sinabs_neuron(
                    x,
                    F(np.unique(_nir_node("sinabs", case, "IF", 0).v_threshold)[0]),
                    min_v_mem=-F(np.unique(_nir_node("sinabs", case, "IF", 0).v_threshold)[0]),
                ),
                "importer: IAF with floor -thr, multi-spike, subtract",
            )
        )
    for layer in ("l1", "l3"):
        out.append(
            Check(
                "sinabs",
                "lif_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: sinabs_neuron(
                    x, _p(d, f"{L}.thr"), alpha_mem=_exp_alpha(_p(d, f"{L}.tau_mem"))
                ),
                "LIF exact decay, norm_input",
            )
        )
        out.append(
            Check(
                "sinabs",
                "lif_syn_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: sinabs_neuron(
                    x,
                    _p(d, f"{L}.thr"),
                    alpha_mem=_exp_alpha(_p(d, f"{L}.tau_mem")),
                    alpha_syn=_exp_alpha(_p(d, f"{L}.tau_syn")),
                ),
                "LIF with tau_syn: i = a_s (i + x)",
            )
        )
    out.append(
        Check(
            "sinabs",
            "lif_ff",
            "imp.n1",
            lambda d, x: sinabs_neuron(
                x,
                _nir_node("sinabs", "lif_ff", "LIF", 0).v_threshold.astype(F),
                alpha_mem=_exp_alpha(_nir_node("sinabs", "lif_ff", "LIF", 0).tau),
                norm_input=False,
            ),
            "importer: LIF with norm_input=False",
        )
    )
    out.append(
        Check(
            "sinabs",
            "tie_iaf",
            "sim.l1",
            lambda d, x: sinabs_neuron(x, _p(d, "l1.thr")),
            "tie v == thr fires (>=)",
        )
    )
    for layer in ("l1", "l5"):
        out.append(
            Check(
                "sinabs",
                "conv_iaf",
                f"sim.{layer}",
                lambda d, x, L=layer: sinabs_neuron(x, _p(d, f"{L}.thr")),
                "conv net IAF",
            )
        )
    out.append(
        Check(
            "sinabs",
            "conv_iaf",
            "imp.n1",
            lambda d, x: sinabs_neuron(x, F(1.25), min_v_mem=F(-1.25)),
            "importer: IAF with floor -thr",
        )
    )
    return out


def _spyx_checks():
    out = []
    for layer in ("l1", "l3"):
        out.append(
            Check(
                "spyx",
                "lif_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: spyx_lif(x, _p(d, f"{L}.beta"), _p(d, f"{L}.threshold")),
                "LIF: spike on v_{t-1}",
            )
        )
        out.append(
            Check(
                "spyx",
                "cubalif_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: spyx_cubalif(
                    x, _p(d, f"{L}.alpha"), _p(d, f"{L}.beta"), _p(d, f"{L}.threshold")
                ),
                "CuBaLIF: subtract before the decay",
            )
        )
        out.append(
            Check(
                "spyx",
                "if_ff",
                f"sim.{layer}",
                lambda d, x, L=layer: spyx_if(x, _p(d, f"{L}.threshold")),
                "IF",
            )
        )
    out.append(
        Check(
            "spyx",
            "tie_lif",
            "sim.l1",
            lambda d, x: spyx_lif(x, _p(d, "l1.beta"), _p(d, "l1.threshold")),
            "tie v == thr does not fire (strict >)",
        )
    )

    def imp_lif(d, x):
        node = _nir_node("spyx", "lif_ff", "LIF", 0)
        return spyx_lif(x, (1 - 1.0 / node.tau).astype(F), F(np.unique(node.v_threshold)[0]))

    def imp_cuba(d, x):
        node = _nir_node("spyx", "cubalif_ff", "CubaLIF", 0)
        return spyx_cubalif(
            x,
            (1 - 1.0 / node.tau_syn).astype(F),
            (1 - 1.0 / node.tau_mem).astype(F),
            F(np.unique(node.v_threshold)[0]),
        )

    out.append(
        Check(
            "spyx",
            "lif_ff",
            "imp.n1",
            imp_lif,
            "importer: beta = 1 - dt/tau, r ignored",
            input_from="linear:l0",
        )
    )
    out.append(
        Check(
            "spyx",
            "cubalif_ff",
            "imp.n1",
            imp_cuba,
            "importer: alpha, beta from tau, w_in and r ignored",
            input_from="linear:l0",
        )
    )
    return out


def all_checks() -> list[Check]:
    return _snn_checks() + _norse_checks() + _sinabs_checks() + _spyx_checks()


def run_checks(checks=None) -> list[tuple[Check, dict]]:
    results = []
    for chk in checks if checks is not None else all_checks():
        results.append((chk, compare(load(chk.lib, chk.case), chk)))
    return results


def importer_vs_simulation() -> list[dict]:
    """For every fixture with both: does the library's importer reproduce its own run?

    Compares the output of the last spiking layer of the simulation (``sim.l<k>.spk``)
    with the importer's graph output (``imp.out``).
    """
    rows = []
    for lib in ("snntorch", "norse", "sinabs", "spyx"):
        for name in sorted(os.listdir(os.path.join(FIXTURES, lib))):
            if not name.endswith(".npz"):
                continue
            d = load(lib, name[:-4])
            keys = sorted(
                (k for k in d if k.startswith("sim.") and k.endswith(".spk")),
                key=lambda k: int(k.split(".")[1][1:]),
            )
            if not keys or "imp.out" not in d:
                continue
            sim, imp = d[keys[-1]], d["imp.out"].reshape(d[keys[-1]].shape)
            rows.append(
                {
                    "lib": lib,
                    "case": name[:-4],
                    "sim_spikes": float(sim.sum()),
                    "imp_spikes": float(imp.sum()),
                    "equal": bool(np.array_equal(sim, imp)),
                    "n_differing": int((sim != imp).sum()),
                    "size": int(sim.size),
                }
            )
    return rows


def main() -> None:
    bad = 0
    for chk, res in run_checks():
        ok = res["ok"]
        bad += not ok
        print(
            f"{'ok ' if ok else 'BAD'} {chk.lib:9s} {chk.case:26s} {chk.layer:8s} "
            f"spikes={int(res['n_spikes']):4d} equal={res['spikes_equal']!s:5s} "
            f"max|dv|={res['max_abs_diff']:.2e}  {chk.claim}"
        )
    print(f"{bad} of the checks failed\n\nimporter vs own simulation (last spiking layer):")
    for r in importer_vs_simulation():
        print(
            f"  {r['lib']:9s} {r['case']:26s} sim={r['sim_spikes']:6.0f} "
            f"imp={r['imp_spikes']:6.0f} equal={r['equal']!s:5s} "
            f"differing={r['n_differing']}/{r['size']}"
        )
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
