"""Peer benchmark: jaxspike against plain JAX, Spyx, snnTorch, Norse and sinabs, one run.

Every variant runs in its own subprocess on the same weights and inputs (written once to
an ``.npz`` that the subprocesses read) with the same neuron: the snnTorch-equivalent LIF
with multiplicative decay 0.9, threshold 1, spike when ``v >= 1``, reset by subtracting the
threshold from the updated membrane (detached)::

    v[t] = 0.9 * v[t-1] + I[t];  s[t] = (v[t] >= 1);  v[t] -= s[t]

Weights (and the Open Neuromorphic input) are rounded to multiples of a power of two small
enough that every matmul is exact in float32 whatever the summation order, so the spike
counts of all correct implementations agree *exactly*. Before timing, each subprocess
compares its output spike counts with a NumPy loop over the equation above; a variant
whose counts differ is reported (how many counts, by how much) and not timed, unless
``--time-mismatched``. Where a library cannot express ``>=`` or the reset order directly,
it is configured to the same arithmetic (see the variant table in ``docs/benchmarks.md``).

Workloads (``docs/benchmarks.md``): W1 forward and W2 training step (forward,
cross-entropy on spike counts, backward, Adam 1e-3) of ``Linear(700->256) -> LIF ->
Linear(256->20) -> LIF``, T = 100, batch 64, Bernoulli(0.05) input spikes; and the Open
Neuromorphic setup ``ON-n``: one ``Linear(n->n) + LIF``, batch 16, T = 500, forward and
backward (of ``spikes.sum()``) timed separately, each call synchronised
(``block_until_ready`` / ``torch.cuda.synchronize``). The published ON sizes are
n in {4096, 8192, 16384} (``--on-sizes 4096,8192,16384``); on a CPU the default is
n = 1024 so that a run fits in about ten minutes.

The JAX variants (jaxspike, plain JAX) run with this interpreter; Spyx and the PyTorch
libraries with the side environment ``benchmarks/.venv-peers``
(``python benchmarks/peers/setup_venv.py``). A variant whose library is missing is
listed as skipped. No GPU here means the GPU rows are not measured (never estimated).

    python benchmarks/bench_peers.py                      # W1, W2, ON-1024, all variants
    python benchmarks/bench_peers.py --repeats 3 --workloads W1 --variants jaxspike,jax_fused
    python benchmarks/bench_peers.py --on-sizes 4096,8192,16384 --workloads ON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_PYTHON = os.path.join(HERE, ".venv-peers", "bin", "python")
DECAY, V_TH, SLOPE, LR = 0.9, 1.0, 25.0, 1e-3
N_IN, N_HID, N_OUT, T_W, B_W, P_IN = 700, 256, 20, 100, 64, 0.05
T_ON, B_ON = 500, 16

# name -> (environment, what)
VARIANTS: dict[str, tuple[str, str]] = {
    "jaxspike": ("jax", "jaxspike.nnx.Sequential, default placement"),
    "jax_layerwise": ("jax", "plain JAX, Linear hoisted out of the scan"),
    "jax_fused": ("jax", "plain JAX, one lax.scan over all layers"),
    "spyx_layerwise": ("peers", "Spyx 1.0 run() per neuron layer, Linear hoisted"),
    "spyx_fused": ("peers", "Spyx 1.0 Sequential + run() (one scan)"),
    "snntorch": ("peers", "snnTorch Leaky, eager"),
    "snntorch_compile": ("peers", "snnTorch Leaky + torch.compile"),
    "norse": ("peers", "Norse LIFBoxCell, eager"),
    "norse_compile": ("peers", "Norse LIFBoxCell + torch.compile"),
    "sinabs": ("peers", "sinabs LIF (SingleSpike)"),
}
JAXSPIKE_VARIANTS = ("jaxspike",)


# --------------------------------------------------------------------------- data


def _quantize(a: np.ndarray, bits: int) -> np.ndarray:
    """Round to multiples of 2**-bits: sums of products stay exact in float32."""
    return (np.round(a * 2.0**bits) / 2.0**bits).astype(np.float32)


def make_data(workload: str, n: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs and weights (``w`` as ``[in, out]``) shared by every variant."""
    rng = np.random.default_rng(seed)
    if workload in ("W1", "W2"):
        return {
            "x": (rng.random((T_W, B_W, N_IN)) < P_IN).astype(np.float32),
            "y": rng.integers(0, N_OUT, B_W).astype(np.int32),
            "w1": _quantize(rng.normal(size=(N_IN, N_HID)) * 3 / math.sqrt(N_IN), 8),
            "b1": np.zeros(N_HID, np.float32),
            "w2": _quantize(rng.normal(size=(N_HID, N_OUT)) * 3 / math.sqrt(N_HID), 8),
            "b2": np.zeros(N_OUT, np.float32),
        }
    # Open Neuromorphic: torch.randn input, nn.Linear's default uniform(+-1/sqrt(n)) init
    bound = 1 / math.sqrt(n)
    return {
        "x": _quantize(np.clip(rng.normal(size=(T_ON, B_ON, n)), -4, 4), 4),
        "w1": _quantize(rng.uniform(-bound, bound, size=(n, n)), 12),
        "b1": _quantize(rng.uniform(-bound, bound, size=n), 12),
    }


def layers_of(d: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    out = [(d["w1"], d["b1"])]
    if "w2" in d:
        out.append((d["w2"], d["b2"]))
    return out


def numpy_counts(d: dict[str, np.ndarray], rule: str = "common") -> np.ndarray:
    """Output spike counts ``[B, n_out]`` from a float32 NumPy loop over the equation.

    ``rule="snntorch"`` is snnTorch's ``Leaky(reset_mechanism="subtract",
    reset_delay=False)``: it subtracts the previous step's reset ``r = (v >= 1)`` before
    the threshold test and adds it back if the neuron spikes again ("avoid double reset"),
    so a neuron whose membrane is still >= 1 after its reset (the update reached 2) fires
    one step later than under the common rule; the membrane equation is the same.
    """
    s = d["x"]
    decay, v_th = np.float32(DECAY), np.float32(V_TH)
    for w, b in layers_of(d):
        current = s @ w + b
        v = np.zeros(current.shape[1:], np.float32)
        out = np.empty_like(current)
        for t in range(current.shape[0]):
            if rule == "snntorch":
                r = (v >= v_th).astype(np.float32)
                v = decay * v + current[t] - r * v_th
                out[t] = (v >= v_th).astype(np.float32)
                v = v - (out[t] - r) * v_th
            else:
                v = decay * v + current[t]
                out[t] = (v >= v_th).astype(np.float32)
                v = v - out[t] * v_th
        s = out
    return s.sum(0)


# --------------------------------------------------------------------- JAX variants


def jax_case(variant: str, d: dict[str, np.ndarray], kind: str) -> dict[str, Callable]:
    """``counts`` (forward spike counts) and the timed calls for one JAX/Spyx variant."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    x = jnp.asarray(d["x"])
    tx = optax.adam(LR)
    sizes = [w.shape for w, _ in layers_of(d)]

    def const(a: np.ndarray) -> Callable:
        return lambda key, shape, dtype=jnp.float32: jnp.asarray(a, dtype)

    def linears(rngs: nnx.Rngs) -> list[nnx.Linear]:
        return [
            nnx.Linear(*w.shape, kernel_init=const(w), bias_init=const(b), rngs=rngs)
            for w, b in layers_of(d)
        ]

    if variant in ("jax_layerwise", "jax_fused"):

        @jax.custom_vjp
        def spike(u):
            return (u >= 0).astype(u.dtype)

        spike.defvjp(lambda u: (spike(u), u), lambda u, g: (g / (1 + SLOPE * jnp.abs(u)) ** 2,))

        def lif(v, current):
            v = DECAY * v + current
            s = spike(v - V_TH)
            return v - jax.lax.stop_gradient(s) * V_TH, s

        def forward(params, x):  # -> spikes [T, B, n_out]
            if variant == "jax_layerwise":
                for w, b in params:
                    current = x @ w + b
                    x = jax.lax.scan(lif, jnp.zeros(current.shape[1:]), current)[1]
                return x

            def step(vs, xt):
                new = []
                for (w, b), v in zip(params, vs, strict=True):
                    v, xt = lif(v, xt @ w + b)
                    new.append(v)
                return new, xt

            init = [jnp.zeros((x.shape[1], w.shape[1])) for w, _ in params]
            return jax.lax.scan(step, init, x)[1]

        params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in layers_of(d)]
        return _jax_pure_case(forward, params, x, d, kind, tx)

    rngs = nnx.Rngs(0)
    if variant == "jaxspike":
        import jaxspike.nnx as jsnnx

        seq: list[Any] = []
        for lin, (_, n) in zip(linears(rngs), sizes, strict=True):
            seq += [lin, jsnnx.LIF(n, decay=DECAY, v_th=V_TH)]
        model = jsnnx.Sequential(*seq, time_major=True)

        def apply(m, x):
            return m(x)

    else:  # Spyx
        import spyx.axn
        import spyx.nn as snn

        act = spyx.axn.custom(
            lambda u: 1 / (1 + SLOPE * jnp.abs(u)) ** 2, lambda u: (u >= 0).astype(u.dtype)
        )

        class LIF(nnx.Module):
            """Spyx's cell contract ``(x, V) -> (spikes, V)``; its built-in ``spyx.nn.LIF``
            spikes on the membrane *before* the update (a different neuron)."""

            def __init__(self, n: int):
                self.n = n

            def __call__(self, x, v):
                v = DECAY * v + x
                s = act(v - V_TH)
                return s, v - jax.lax.stop_gradient(s) * V_TH

            def initial_state(self, batch_size):
                return jnp.zeros((batch_size, self.n))

        lins = linears(rngs)
        cells = [LIF(n) for _, n in sizes]
        if variant == "spyx_fused":
            model = snn.Sequential(*[m for pair in zip(lins, cells, strict=True) for m in pair])

            def apply(m, x):
                return snn.run(m, x)[0]

        else:
            model = nnx.List([nnx.List([lin, cell]) for lin, cell in zip(lins, cells, strict=True)])

            def apply(m, x):
                for lin, cell in m:
                    x = snn.run(cell, lin(x))[0]
                return x

    return _nnx_case(apply, model, x, d, kind, tx, jaxspike_step=variant == "jaxspike")


def _ce(counts, y):
    import optax

    return optax.softmax_cross_entropy_with_integer_labels(counts, y).mean()


def _jax_pure_case(forward, params, x, d, kind, tx) -> dict[str, Callable]:
    import jax

    fwd = jax.jit(lambda p, x: forward(p, x).sum(0))
    case: dict[str, Callable] = {"counts": lambda: np.asarray(fwd(params, x))}
    case["device"] = lambda: str(x.devices())
    if kind == "forward":
        case["forward"] = lambda: fwd(params, x).block_until_ready()
    elif kind == "train":
        y = jax.numpy.asarray(d["y"])

        @jax.jit
        def step(p, o, x, y):
            loss, g = jax.value_and_grad(lambda p: _ce(forward(p, x).sum(0), y))(p)
            updates, o = tx.update(g, o, p)
            return jax.tree.map(lambda a, u: a + u, p, updates), o, loss

        box = {"p": params, "o": tx.init(params)}

        def train():
            box["p"], box["o"], loss = step(box["p"], box["o"], x, y)
            return loss.block_until_ready()

        case["train"] = train
    else:  # forward and backward separately, as in the Open Neuromorphic benchmark
        fwd_res = jax.jit(lambda p, x: jax.vjp(lambda p: forward(p, x).sum(), p))
        bwd = jax.jit(lambda vjp, g: vjp(g))
        _two_phase(case, lambda: fwd_res(params, x), bwd)
    return case


def _nnx_case(apply, model, x, d, kind, tx, jaxspike_step=False) -> dict[str, Callable]:
    import jax
    from flax import nnx

    counts = nnx.jit(lambda m, x: apply(m, x).sum(0))
    case: dict[str, Callable] = {"counts": lambda: np.asarray(counts(model, x))}
    case["device"] = lambda: str(x.devices())
    if kind == "forward":
        case["forward"] = lambda: counts(model, x).block_until_ready()
    elif kind == "train":
        batch = (x, jax.numpy.asarray(d["y"]))
        opt = nnx.Optimizer(model, tx, wrt=nnx.Param)

        def loss_fn(m, batch):
            counts = apply(m, batch[0]).sum(0)
            return _ce(counts, batch[1]), counts

        if jaxspike_step:  # the library's own jit-compiled step
            import jaxspike.nnx as jsnnx

            def run():
                return jsnnx.train_step(model, opt, batch, loss_fn)[0].block_until_ready()

        else:

            @nnx.jit
            def step(m, o, batch):
                (loss, _), g = nnx.value_and_grad(loss_fn, has_aux=True)(m, batch)
                o.update(m, g)
                return loss

            def run():
                return step(model, opt, batch).block_until_ready()

        case["train"] = run
    else:
        graphdef, state = nnx.split(model)

        def total(state, x):
            return apply(nnx.merge(graphdef, state), x).sum()

        fwd_res = jax.jit(lambda s, x: jax.vjp(lambda s: total(s, x), s))
        bwd = jax.jit(lambda vjp, g: vjp(g))
        _two_phase(case, lambda: fwd_res(state, x), bwd)
    return case


def _two_phase(case: dict[str, Callable], fwd_res: Callable, bwd: Callable) -> None:
    """Forward (keeping the residuals the backward pass needs) and backward, timed apart;
    the worker always calls ``forward`` before ``backward``."""
    import jax

    box: dict[str, Any] = {}

    def forward():
        box["out"], box["vjp"] = fwd_res()
        return jax.block_until_ready(box["out"])

    def backward():
        return jax.block_until_ready(bwd(box.pop("vjp"), jax.numpy.ones_like(box["out"])))

    case["forward"], case["backward"] = forward, backward


# ------------------------------------------------------------------- torch variants


def torch_case(
    variant: str,
    d: dict[str, np.ndarray],
    kind: str,
    compile_scope: str = "step",
    gpu: bool = False,
) -> dict[str, Callable]:
    """``counts`` and timed calls for snnTorch, Norse and sinabs (time-major loops).

    ``*_compile`` variants apply :func:`torch.compile` to the neuron's step
    (``compile_scope="step"``: the time loop stays in Python) or to the whole forward
    pass (``"loop"``: dynamo unrolls the T steps; minutes of compile on a CPU).
    """
    import torch

    torch.manual_seed(0)
    dev = torch.device("cuda" if gpu and torch.cuda.is_available() else "cpu")

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    class Spike(torch.autograd.Function):
        """Heaviside with ``>=`` (as the JAX variants) and the fast-sigmoid surrogate."""

        @staticmethod
        def forward(ctx, u):
            ctx.save_for_backward(u)
            return (u >= 0).to(u.dtype)

        @staticmethod
        def backward(ctx, g):
            (u,) = ctx.saved_tensors
            return g / (1 + SLOPE * u.abs()) ** 2

    lins = torch.nn.ModuleList()
    for w, b in layers_of(d):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        lins.append(lin)
    lib = variant.removesuffix("_compile")
    x = torch.from_numpy(d["x"]).to(dev)  # time-major [T, B, n]

    if lib == "snntorch":
        import snntorch as snn

        # reset_delay=False: the reset is applied in the step that spikes (as the others)
        cells = torch.nn.ModuleList(
            snn.Leaky(
                beta=DECAY,
                threshold=V_TH,
                spike_grad=Spike.apply,
                reset_mechanism="subtract",
                reset_delay=False,
            )
            for _ in lins
        )

        def neuron(i: int, current):
            mem = torch.zeros_like(current[0])  # init_leaky()'s empty tensor recompiles
            out = []
            for ct in current.unbind(0):  # one backward node, not one full-size zero-fill per step
                spk, mem = cells[i](ct, mem)
                out.append(spk)
            return torch.stack(out)

    elif lib == "norse":
        from norse.torch import LIFBoxCell, LIFBoxParameters
        from norse.torch.functional.lif_box import LIFBoxFeedForwardState

        # v + dt/tau (I - v) with dt/tau = 0.1 and the input scaled by 10 is 0.9 v + I;
        # its Heaviside is `>`, so the threshold is the float32 below 1 (same as `>= 1`),
        # and the reset subtracts 1 (detached).
        with torch.no_grad():
            for lin in lins:
                lin.weight.mul_(10.0)
                lin.bias.mul_(10.0)
        below_one = float(np.nextafter(np.float32(V_TH), np.float32(0)))
        p = LIFBoxParameters(
            tau_mem_inv=torch.as_tensor(100.0),
            v_th=torch.as_tensor(below_one),
            method="super",
            alpha=torch.as_tensor(SLOPE),
            reset_method=lambda z, v, reset, th: v - z.detach() * V_TH,
        )
        cells = torch.nn.ModuleList(LIFBoxCell(p, dt=0.001) for _ in lins)

        def neuron(i: int, current):
            # an explicit initial state: the default one sets requires_grad, which
            # torch.compile cannot trace (it then falls back to eager for the whole loop)
            state, out = LIFBoxFeedForwardState(v=torch.zeros_like(current[0])), []
            for ct in current.unbind(0):
                z, state = cells[i](ct, state)
                out.append(z)
            return torch.stack(out)

    elif lib == "sinabs":
        import sinabs.layers as sl
        from sinabs.activation import MembraneSubtract, SingleSpike

        cells = torch.nn.ModuleList()
        for _ in lins:
            cell = sl.LIF(
                tau_mem=-1 / math.log(DECAY),
                train_alphas=True,
                spike_fn=SingleSpike,  # `>=`; the default MultiSpike emits floor(v) spikes
                reset_fn=MembraneSubtract(),
                surrogate_grad_fn=lambda v, th: 1 / (1 + SLOPE * (v - th).abs()) ** 2,
                norm_input=False,
            )
            with torch.no_grad():
                cell.alpha_mem.copy_(torch.as_tensor(DECAY))
            cell.alpha_mem.requires_grad_(False)
            cells.append(cell)

        def neuron(i: int, current):  # sinabs is batch-major [B, T, n]
            cells[i].reset_states()
            return cells[i](current.transpose(0, 1)).transpose(0, 1)

    else:
        raise ValueError(f"unknown variant {variant!r}")
    model = torch.nn.ModuleList([lins, cells]).to(dev)

    def forward(x):  # each Linear on the whole sequence, then the neuron's time loop
        for i, lin in enumerate(lins):
            x = neuron(i, lin(x))
        return x

    if variant.endswith("_compile"):
        if compile_scope == "loop":
            forward = torch.compile(forward)
        else:
            for i, cell in enumerate(cells):
                cells[i] = torch.compile(cell)

    case: dict[str, Callable] = {}

    def counts():
        with torch.no_grad():
            return forward(x).sum(0).cpu().numpy()

    case["counts"] = counts
    case["device"] = lambda: str(dev)
    if kind == "forward":

        def fwd():
            with torch.no_grad():
                out = forward(x).sum(0)
            sync()
            return out

        case["forward"] = fwd
    elif kind == "train":
        y = torch.from_numpy(d["y"]).long().to(dev)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LR)

        def train():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(forward(x).sum(0), y)
            loss.backward()
            opt.step()
            sync()
            return loss

        case["train"] = train
    else:
        box: dict[str, Any] = {}

        def fwd_on():
            model.zero_grad(set_to_none=True)
            box["out"] = forward(x).sum()
            sync()
            return box["out"]

        def bwd_on():
            box.pop("out").backward()
            sync()

        case["forward"], case["backward"] = fwd_on, bwd_on
    return case


# --------------------------------------------------------------------------- worker


def worker(args: argparse.Namespace) -> None:
    """Runs one variant on one workload point; writes a JSON result."""
    d = dict(np.load(args.data))
    expected = d.pop("expected")
    expected_snntorch = d.pop("expected_snntorch")
    kind = {"W1": "forward", "W2": "train"}.get(args.workload, "fwd_bwd")
    res: dict[str, Any] = {"variant": args.variant, "pid": os.getpid()}
    t0 = time.perf_counter()
    try:
        if VARIANTS[args.variant][0] == "jax" or args.variant.startswith("spyx"):
            case = jax_case(args.variant, d, kind)
        else:
            case = torch_case(args.variant, d, kind, args.compile_scope, args.gpu)
        counts = np.asarray(case["counts"]())
        res["device"] = case["device"]()
    except ImportError as err:
        res["skipped"] = f"not installed: {err}"
        return _write(args.out, res)
    res["first_counts_s"] = time.perf_counter() - t0
    common = int((counts != expected).sum())
    if args.variant.startswith("snntorch"):  # checked against its own documented rule
        res["rule"] = "snntorch"
        res["counts_differ_from_common_rule"] = common
        expected = expected_snntorch
    diff = np.abs(counts.astype(np.int64) - expected.astype(np.int64))
    res["counts_total"] = int(counts.sum())
    res["counts_expected_total"] = int(expected.sum())
    res["counts_differ"] = int((diff != 0).sum())
    res["counts_max_diff"] = int(diff.max())
    res["counts_size"] = int(diff.size)
    if res["counts_differ"] and not args.time_mismatched:
        res["skipped"] = (
            f"spike counts differ from the NumPy equation in {res['counts_differ']} of "
            f"{diff.size} entries (max {res['counts_max_diff']}): not timed"
        )
        return _write(args.out, res)
    phases = ["forward", "backward"] if kind == "fwd_bwd" else [kind]
    times: dict[str, list[float]] = {p: [] for p in phases}

    def once(record: bool) -> None:  # forward before backward: it makes the residuals
        for phase in phases:
            t0 = time.perf_counter()
            case[phase]()
            if record:
                times[phase].append(time.perf_counter() - t0)

    once(True)  # first call: trace/compile + one run
    for phase in phases:
        res[f"{phase}_first_s"] = times[phase].pop()
    once(False)  # warm-up
    for _ in range(args.repeats):
        once(True)
    for phase in phases:
        res[phase] = {
            "median_ms": 1e3 * statistics.median(times[phase]),
            "min_ms": 1e3 * min(times[phase]),
            "times_ms": [1e3 * t for t in times[phase]],
        }
    _write(args.out, res)


def _write(path: str, res: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(res, f)


# ----------------------------------------------------------------------------- driver


def python_for(variant: str, args: argparse.Namespace) -> str | None:
    if VARIANTS[variant][0] == "jax":
        return sys.executable
    return args.peers_python if os.path.exists(args.peers_python) else None


def run_variant(variant: str, point: str, data: str, args: argparse.Namespace) -> dict[str, Any]:
    py = python_for(variant, args)
    if py is None:
        return {"variant": variant, "skipped": f"no side environment at {args.peers_python}"}
    out = data + f".{variant}.json"
    cmd = [py, os.path.abspath(__file__), "--worker", variant, "--data", data]
    cmd += ["--workload", point.split("-")[0], "--repeats", str(args.repeats), "--out", out]
    if args.time_mismatched:
        cmd.append("--time-mismatched")
    cmd += ["--compile-scope", args.compile_scope] + (["--gpu"] if args.gpu else [])
    env = dict(os.environ)
    repo = os.path.dirname(HERE)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    if not args.gpu:
        env.setdefault("JAX_PLATFORMS", "cpu")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"variant": variant, "skipped": f"timed out after {args.timeout} s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not os.path.exists(out):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return {"variant": variant, "skipped": f"failed (rc {proc.returncode}): {tail[0][:160]}"}
    with open(out) as f:
        res = json.load(f)
    res["process_wall_s"] = wall
    return res


def points(args: argparse.Namespace) -> list[str]:
    out = []
    for w in args.workloads.split(","):
        if w == "ON":
            out += [f"ON-{n}" for n in args.on_sizes.split(",")]
        else:
            out.append(w)
    return out


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| point | phase | variant | median ms | min ms | x best peer | first s | counts |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for pt in results:
        phases = ["forward", "backward"] if pt["point"].startswith("ON") else [pt["kind"]]
        for phase in phases:
            timed = {r["variant"]: r[phase] for r in pt["variants"] if phase in r}
            peers = [v["median_ms"] for k, v in timed.items() if k not in JAXSPIKE_VARIANTS]
            best = min(peers) if peers else None
            for r in pt["variants"]:
                v = r["variant"]
                ok = "n/a" if "counts_differ" not in r else "="
                if r.get("rule") == "snntorch":
                    ok += (
                        f" snnTorch rule ({r['counts_differ_from_common_rule']} differ from common)"
                    )
                if r.get("counts_differ"):
                    ok = f"{r['counts_differ']}/{r['counts_size']} differ"
                    ok += f" (max {r['counts_max_diff']})"
                if phase not in r:
                    reason = r.get("skipped", "?")
                    rows.append(f"| {pt['point']} | {phase} | {v} | - | - | - | - | {reason} |")
                    continue
                m = r[phase]
                # a forward pass compiles in the counts check (same function): report that
                first = r["first_counts_s"] if pt["kind"] == "forward" else r[phase + "_first_s"]
                ratio = f"{m['median_ms'] / best:.2f}" if best else "-"
                rows.append(
                    f"| {pt['point']} | {phase} | {v} | {m['median_ms']:.1f} | {m['min_ms']:.1f} "
                    f"| {ratio} | {first:.2f} | {ok} |"
                )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W2,ON", help="W1, W2 and/or ON")
    parser.add_argument(
        "--on-sizes", default="1024", help="n of the ON setup (published: 4096,8192,16384)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per subprocess")
    parser.add_argument("--peers-python", default=PEERS_PYTHON)
    parser.add_argument(
        "--time-mismatched",
        action="store_true",
        help="time variants whose spike counts differ (reported)",
    )
    parser.add_argument(
        "--compile-scope",
        choices=("step", "loop"),
        default="step",
        help="torch.compile the neuron step (default) or the whole unrolled time loop",
    )
    parser.add_argument("--gpu", action="store_true", help="let JAX and torch use a GPU if present")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "peers.json"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.variant = args.worker
        return worker(args)
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; expected names from {list(VARIANTS)}")
    info = {
        "machine": platform.machine(),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "peers_python": args.peers_python if os.path.exists(args.peers_python) else None,
        "load_before": os.getloadavg(),
        "repeats": args.repeats,
        "gpu": "not measured: no GPU on this machine (GPU rows are empty, never estimated)"
        if not args.gpu
        else "requested",
    }
    print(f"load average before: {info['load_before']}")
    print(info["gpu"])
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_peers_") as tmp:
        for point in points(args):
            n = int(point.split("-")[1]) if point.startswith("ON") else 0
            d = make_data(point.split("-")[0], n)
            path = os.path.join(tmp, f"{point}.npz")
            exp = {"expected": numpy_counts(d), "expected_snntorch": numpy_counts(d, "snntorch")}
            np.savez(path, **exp, **d)
            kind = {"W1": "forward", "W2": "train"}.get(point, "fwd_bwd")
            pt = {"point": point, "kind": kind, "load_before": os.getloadavg(), "variants": []}
            for v in variants:
                res = run_variant(v, point, path, args)
                pt["variants"].append(res)
                print(f"  {point} {v}: " + _short(res), flush=True)
            pt["load_after"] = os.getloadavg()
            results.append(pt)
    info["load_after"] = os.getloadavg()
    print()
    print(table(results))
    not_timed = [
        f"{pt['point']} {r['variant']}: {r['skipped']}"
        for pt in results
        for r in pt["variants"]
        if "skipped" in r
    ]
    if not_timed:
        print("\nnot timed:\n  " + "\n  ".join(not_timed))
    print(f"\nload average before: {info['load_before']}, after: {info['load_after']}")
    print(info["gpu"])
    if args.json:
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)
        print(f"wrote {args.json}")


def _short(res: dict[str, Any]) -> str:
    if "skipped" in res:
        return res["skipped"]
    return ", ".join(
        f"{p} {res[p]['median_ms']:.1f} ms" for p in ("forward", "backward", "train") if p in res
    )


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


if __name__ == "__main__":
    main()
