"""Standard workloads W1-W4: jaxspike against a plain-JAX reference and Spyx, in one process.

Network: ``Linear(700->H) -> LIF -> Linear(H->20) -> LIF``; LIF multiplicative decay 0.9,
threshold 1, subtractive reset; batch 64; float32; input Bernoulli spikes with p = 0.05
(time-major ``[T, 64, 700]``); output spike counts. Every implementation gets the same
weights (normal(0, 3/sqrt(fan_in)), zero bias) and the same inputs.

* W1: forward inference, T = 100, H = 256 (jit-compiled, after warm-up).
* W2: training step (forward, cross-entropy on spike counts, backward, Adam), T = 100, H = 256.
* W3: W1 at T in {100, 1000} x H in {256, 4096}.
* W4: W2 at T = 1000, H = 256: time and memory.

For each point: the median (and min) of repeated runs, the first call (trace + compile +
one run) and the memory of the compiled executable from XLA's buffer assignment
(``jax.jit(f).lower(...).compile().memory_analysis()``): ``temp`` is what the computation
allocates besides its arguments and outputs; ``peak`` = arguments + outputs + temp - aliased.
Implementations run interleaved (the order rotates every repeat) in the same process, so
they see the same machine load; the load average is recorded per workload.

Implementations (``--impls``):

* ``reference``: hand-written plain JAX, one :func:`jax.lax.scan` over both layers, a
  ``custom_vjp`` fast-sigmoid spike, optax Adam; no jaxspike.
* ``reference_layerwise``: the same, with each Linear applied to the whole ``[T, B, ...]``
  sequence outside the scan (the placement :class:`jaxspike.nnx.Sequential` uses).
* ``jaxspike``: the idiomatic NNX model, ``jaxspike.nnx.Sequential(nnx.Linear, LIF,
  nnx.Linear, LIF)`` with its default ``placement="auto"``, ``nnx.jit`` forward and
  :func:`jaxspike.nnx.train_step`.
* ``jaxspike_layerwise``: the same with ``placement="layerwise"``: each Linear on the
  whole sequence outside the scan, one scan per neuron layer.
* ``jaxspike_fused``: the same with ``placement="fused"`` (:class:`jaxspike.nnx.Fused`):
  every layer inside one scan.
* ``jaxspike_packed``: ``Fused`` with :class:`jaxspike.nnx.SpikeLinear` layers that keep
  bit-packed spike residuals for the backward pass, and the input sequence bit-packed
  too (``SpikeLinear(inputs="packed")``: ``uint8 [T, B, 88]`` instead of float32
  ``[T, B, 700]``, unpacked step by step inside the scan; train workloads only).
* ``jaxspike_remat``: ``Fused(..., checkpoint=k)``, chunks of k ~ sqrt(T) steps (k divides
  T) recomputed in the backward pass (train workloads only).
* ``jaxspike_lowmem``: ``jaxspike_packed`` + ``jaxspike_remat`` (train workloads only).
* ``jaxspike_events``: ``jaxspike`` (``placement="auto"``, which is layerwise for
  event-driven layers) with an event-driven first layer,
  ``SpikeLinear(inputs="indices")``, fed the indices of the active inputs of each step
  (``[T, B, K]``, K = the largest count rounded up to 16), computed once outside the timed
  call as a data loader does (:func:`jaxspike.data.events.to_indices`). Same outputs; a
  different input format, so it is listed apart from the dense-input rows.
* ``spyx``: Spyx 1.0 (``spyx.nn.Sequential`` + ``spyx.nn.run``), when installed.

    python benchmarks/bench_workloads.py                    # everything, ~10 min on 2 cores
    python benchmarks/bench_workloads.py --quick            # W1, W2 only, few repeats
    python benchmarks/bench_workloads.py --workloads W4 --impls reference,jaxspike_lowmem
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxspike
from jaxspike import nnx as jsnnx

N_IN, N_OUT, BATCH, P_IN, DECAY, V_TH, SLOPE, LR = 700, 20, 64, 0.05, 0.9, 1.0, 25.0, 1e-3

WORKLOADS: dict[str, list[tuple[str, int, int]]] = {
    # name -> [(kind, T, H)]
    "W1": [("forward", 100, 256)],
    "W2": [("train", 100, 256)],
    "W3": [("forward", 100, 4096), ("forward", 1000, 256), ("forward", 1000, 4096)],
    "W4": [("train", 1000, 256)],
}
REPEATS = {"W1": 15, "W2": 11, "W3": 5, "W4": 7}


# --------------------------------------------------------------------------- data


def make_data(T: int, H: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Same inputs, labels and weights for every implementation."""
    rng = np.random.default_rng(seed)
    return {
        "x": (rng.random((T, BATCH, N_IN)) < P_IN).astype(np.float32),
        "y": rng.integers(0, N_OUT, BATCH).astype(np.int32),
        "w1": (rng.normal(size=(N_IN, H)) * 3 / math.sqrt(N_IN)).astype(np.float32),
        "b1": np.zeros(H, np.float32),
        "w2": (rng.normal(size=(H, N_OUT)) * 3 / math.sqrt(H)).astype(np.float32),
        "b2": np.zeros(N_OUT, np.float32),
    }


def cross_entropy(counts: jax.Array, y: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(counts, y).mean()


# --------------------------------------------------------------------- reference


@jax.custom_vjp
def ref_spike(x: jax.Array) -> jax.Array:
    return (x >= 0).astype(x.dtype)


def _ref_spike_fwd(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return ref_spike(x), x


def _ref_spike_bwd(x: jax.Array, g: jax.Array) -> tuple[jax.Array]:
    return (g / (1.0 + SLOPE * jnp.abs(x)) ** 2,)


ref_spike.defvjp(_ref_spike_fwd, _ref_spike_bwd)


def _ref_lif(v: jax.Array, current: jax.Array) -> tuple[jax.Array, jax.Array]:
    v = DECAY * v + current
    s = ref_spike(v - V_TH)
    return v - jax.lax.stop_gradient(s) * V_TH, s


def ref_forward(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """One scan, both layers per step; returns spike counts ``[B, 20]``."""
    w1, b1, w2, b2 = params["w1"], params["b1"], params["w2"], params["b2"]

    def step(carry, xt):
        v1, v2, n = carry
        v1, s1 = _ref_lif(v1, xt @ w1 + b1)
        v2, s2 = _ref_lif(v2, s1 @ w2 + b2)
        return (v1, v2, n + s2), None

    batch = x.shape[1]
    init = (jnp.zeros((batch, w1.shape[1])), jnp.zeros((batch, N_OUT)), jnp.zeros((batch, N_OUT)))
    return jax.lax.scan(step, init, x)[0][2]


def ref_forward_layerwise(params: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """Each Linear on the whole sequence, one elementwise scan per LIF layer."""

    def lif_seq(currents):
        return jax.lax.scan(_ref_lif, jnp.zeros(currents.shape[1:]), currents)[1]

    s1 = lif_seq(x @ params["w1"] + params["b1"])
    return lif_seq(s1 @ params["w2"] + params["b2"]).sum(0)


def ref_train_step(forward: Callable, tx: optax.GradientTransformation) -> Callable:
    def step(params, opt_state, x, y):
        def loss_fn(p):
            return cross_entropy(forward(p, x), y)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(step, donate_argnums=(0, 1))


# --------------------------------------------------------------------- NNX models


def _const(a: np.ndarray) -> Callable:
    return lambda key, shape, dtype=jnp.float32: jnp.asarray(a, dtype)


def event_capacity(x: np.ndarray) -> int:
    """Index slots for the event-driven layer: the largest spike count per row, up to 16k."""
    return 16 * math.ceil(int((x != 0).sum(-1).max()) / 16)


def nnx_layers(
    d: dict[str, np.ndarray],
    packed: bool = False,
    events: int | None = None,
    packed_input: bool = False,
) -> list[Any]:
    """The W1-W4 network as NNX layers; ``packed`` uses bit-packed spike residuals,
    ``events`` an event-driven first layer with that many index slots, ``packed_input``
    a first layer that takes bit-packed input spikes."""
    from jaxspike.nnx._fast import SpikeLinear

    H = d["w1"].shape[1]
    rngs = nnx.Rngs(0)

    def lin(a: int, b: int, w: np.ndarray, bias: np.ndarray, first: bool = False) -> Any:
        init = dict(kernel_init=_const(w), bias_init=_const(bias), rngs=rngs)
        if first and events:
            return SpikeLinear(a, b, inputs="indices", event_capacity=events, **init)
        if first and packed_input:
            return SpikeLinear(a, b, inputs="packed", residual="packed", **init)
        if packed:
            return SpikeLinear(a, b, residual="packed", **init)
        return nnx.Linear(a, b, **init)

    return [
        lin(N_IN, H, d["w1"], d["b1"], first=True),
        jsnnx.LIF(H, decay=DECAY, v_th=V_TH),
        lin(H, N_OUT, d["w2"], d["b2"]),
        jsnnx.LIF(N_OUT, decay=DECAY, v_th=V_TH),
    ]


def sqrt_chunk(n_steps: int) -> int:
    """The divisor of ``n_steps`` nearest to its square root (a chunk that divides T
    avoids copying the input when the time axis is split into chunks)."""
    divisors = [k for k in range(1, n_steps + 1) if n_steps % k == 0]
    return min(divisors, key=lambda k: abs(k - math.sqrt(n_steps)))


def build_jaxspike(d: dict[str, np.ndarray], variant: str) -> nnx.Module:
    if variant == "jaxspike":
        return jsnnx.Sequential(*nnx_layers(d), time_major=True)
    if variant == "jaxspike_layerwise":
        return jsnnx.Sequential(*nnx_layers(d), time_major=True, placement="layerwise")
    if variant == "jaxspike_events":
        return jsnnx.Sequential(*nnx_layers(d, events=event_capacity(d["x"])), time_major=True)
    from jaxspike.nnx._fast import Fused

    if variant == "jaxspike_fused":
        return Fused(*nnx_layers(d), time_major=True)
    k = sqrt_chunk(d["x"].shape[0])
    if variant == "jaxspike_packed":
        return Fused(*nnx_layers(d, packed=True, packed_input=True), time_major=True)
    if variant == "jaxspike_remat":
        return Fused(*nnx_layers(d), time_major=True, checkpoint=k)
    if variant == "jaxspike_lowmem":
        layers = nnx_layers(d, packed=True, packed_input=True)
        return Fused(*layers, time_major=True, checkpoint=k)
    raise ValueError(variant)


def build_spyx(d: dict[str, np.ndarray]) -> nnx.Module:
    import spyx.nn as snn

    H = d["w1"].shape[1]
    rngs = nnx.Rngs(0)
    return snn.Sequential(
        nnx.Linear(N_IN, H, kernel_init=_const(d["w1"]), bias_init=_const(d["b1"]), rngs=rngs),
        snn.LIF((H,), beta=DECAY, threshold=V_TH, rngs=rngs),
        nnx.Linear(H, N_OUT, kernel_init=_const(d["w2"]), bias_init=_const(d["b2"]), rngs=rngs),
        snn.LIF((N_OUT,), beta=DECAY, threshold=V_TH, rngs=rngs),
    )


def _counts(model: nnx.Module, x: jax.Array) -> jax.Array:
    if type(model).__module__.startswith("spyx"):
        import spyx.nn as snn

        return snn.run(model, x)[0].sum(0)
    return model(x).sum(0)


@nnx.jit
def nnx_forward(model: nnx.Module, x: jax.Array) -> jax.Array:
    return _counts(model, x)


def nnx_loss(model: nnx.Module, batch: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
    counts = _counts(model, batch[0])
    return cross_entropy(counts, batch[1]), counts


# --------------------------------------------------------------------- cases


@dataclasses.dataclass
class Case:
    """One implementation prepared for one workload point."""

    run: Callable[[], Any]  # one call, blocks until ready, returns an output to check
    lower: Callable[[], Any]  # a jax ``Lowered`` of the same computation


def make_case(impl: str, kind: str, d: dict[str, np.ndarray]) -> Case:
    x, y = jnp.asarray(d["x"]), jnp.asarray(d["y"])
    tx = optax.adam(LR)
    if impl.startswith("reference"):
        fwd = ref_forward if impl == "reference" else ref_forward_layerwise
        params = {k: jnp.asarray(d[k]) for k in ("w1", "b1", "w2", "b2")}
        if kind == "forward":
            f = jax.jit(fwd)
            return Case(lambda: f(params, x).block_until_ready(), lambda: f.lower(params, x))
        step = ref_train_step(fwd, tx)
        box = {"p": params, "o": tx.init(params)}

        def run():
            box["p"], box["o"], loss = step(box["p"], box["o"], x, y)
            return loss.block_until_ready()

        return Case(run, lambda: step.lower(box["p"], box["o"], x, y))

    model = build_spyx(d) if impl == "spyx" else build_jaxspike(d, impl)
    if impl == "jaxspike_events":  # the loader's indices, computed once outside the timing
        x = jaxspike.spike_indices(x, capacity=event_capacity(d["x"]))
    if impl in ("jaxspike_packed", "jaxspike_lowmem"):  # input kept as bits (8 per byte)
        x = jnp.packbits(x != 0, axis=-1)
    if kind == "forward":
        return Case(
            lambda: nnx_forward(model, x).block_until_ready(), lambda: nnx_forward.lower(model, x)
        )
    opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    batch = (x, y)

    def run_train():
        return jsnnx.train_step(model, opt, batch, nnx_loss)[0].block_until_ready()

    return Case(run_train, lambda: jsnnx.train_step.lower(model, opt, batch, nnx_loss))


def memory(case: Case) -> dict[str, float]:
    m = case.lower().compile().memory_analysis()
    mb = 1 / 2**20
    temp = m.temp_size_in_bytes * mb
    arg, out, alias = (
        m.argument_size_in_bytes * mb,
        m.output_size_in_bytes * mb,
        m.alias_size_in_bytes * mb,
    )
    return {"temp_mb": temp, "arg_mb": arg, "out_mb": out, "peak_mb": arg + out + temp - alias}


def run_point(
    kind: str, T: int, H: int, impls: list[str], repeats: int, mem: bool
) -> dict[str, dict[str, Any]]:
    d = make_data(T, H)
    res: dict[str, dict[str, Any]] = {}
    cases: dict[str, Case] = {}
    for impl in impls:
        try:
            case = make_case(impl, kind, d)
            t0 = time.perf_counter()
            out = case.run()
            first = time.perf_counter() - t0
            case.run()  # warm-up
        except Exception as err:
            res[impl] = {"error": f"{type(err).__name__}: {err}"[:200]}
            continue
        cases[impl] = case
        res[impl] = {"first_s": first, "times": []}
        if kind == "forward":
            res[impl]["rate"] = float(np.asarray(out).sum() / (T * BATCH * N_OUT))
    load0 = os.getloadavg()[0]
    names = list(cases)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)] if names else []
        for impl in order:
            t0 = time.perf_counter()
            cases[impl].run()
            res[impl]["times"].append(time.perf_counter() - t0)
    load1 = os.getloadavg()[0]
    for impl in names:
        ts = res[impl]["times"]
        res[impl].update(median_ms=1e3 * statistics.median(ts), min_ms=1e3 * min(ts))
        res[impl]["load"] = (load0, load1)
        if mem:
            try:
                res[impl].update(memory(cases[impl]))
            except Exception as err:
                res[impl]["mem_error"] = str(err)[:200]
    return res


# --------------------------------------------------------------------- report


def baseline(point: dict[str, dict[str, Any]]) -> str | None:
    for name in ("reference", "reference_layerwise"):
        if "median_ms" in point.get(name, {}):
            return name
    return None


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| point | impl | median ms | min ms | x ref | x best(ref,spyx) | first s "
        "| temp MB | peak MB | x ref temp | out rate | load |"
    )
    lines = [head, "|" + "---|" * 12]
    for pt in results:
        res = pt["results"]
        base = baseline(res)
        # the comparison: the one-scan plain reference and Spyx
        peers = [res[k].get("median_ms") for k in ("reference", "spyx") if k in res]
        peers = [v for v in peers if v]
        best = min(peers) if peers else None
        for impl, r in res.items():
            label = f"{pt['workload']} {pt['kind']} T={pt['T']} H={pt['H']}"
            if "error" in r:
                lines.append(f"| {label} | {impl} | {r['error']} |" + " |" * 9)
                continue
            ref = res[base] if base else None
            ratio = f"{r['median_ms'] / ref['median_ms']:.2f}" if ref else "-"
            rbest = f"{r['median_ms'] / best:.2f}" if best else "-"
            tref = (
                f"{r['temp_mb'] / ref['temp_mb']:.2f}"
                if ref and "temp_mb" in r and ref.get("temp_mb")
                else "-"
            )
            lines.append(
                f"| {label} | {impl} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {ratio} "
                f"| {rbest} | {r['first_s']:.2f} | {r.get('temp_mb', float('nan')):.1f} "
                f"| {r.get('peak_mb', float('nan')):.1f} | {tref} "
                f"| {r.get('rate', float('nan')):.4f} | {r['load'][0]:.1f}/{r['load'][1]:.1f} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import spyx

        spyx_version = getattr(spyx, "__version__", "installed")
    except ImportError:
        spyx_version = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "backend": jax.default_backend(),
        "devices": [str(dv) for dv in jax.devices()],
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxspike": jaxspike.__version__,
        "auto_placement_large": jsnnx.Sequential(jsnnx.LIF(1)).resolve_placement(),
        "spyx": spyx_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument(
        "--impls",
        default=(
            "reference,reference_layerwise,jaxspike,jaxspike_layerwise,jaxspike_fused,"
            "jaxspike_packed,"
            "jaxspike_remat,jaxspike_lowmem,jaxspike_events,spyx"
        ),
    )
    parser.add_argument("--repeats", type=int, default=0, help="0: per-workload default")
    parser.add_argument("--quick", action="store_true", help="W1, W2; 5 repeats")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", default="benchmarks/results/workloads.json")
    args = parser.parse_args()
    workloads = ["W1", "W2"] if args.quick else args.workloads.split(",")
    impls = args.impls.split(",")
    if "spyx" in impls:
        try:
            import spyx.nn  # noqa: F401
        except ImportError:
            print("spyx is not installed: skipping it (pip install spyx)")
            impls.remove("spyx")
    info = machine()
    print(json.dumps(info))
    results = []
    for w in workloads:
        for kind, T, H in WORKLOADS[w]:
            train_only = ("jaxspike_packed", "jaxspike_remat", "jaxspike_lowmem")
            impl_here = [i for i in impls if not (kind == "forward" and i in train_only)]
            reps = args.repeats or (5 if args.quick else REPEATS[w])
            if T * H > 1000 * 1000:
                reps = min(reps, 3)
            res = run_point(kind, T, H, impl_here, reps, not args.no_memory)
            pt = {"workload": w, "kind": kind, "T": T, "H": H, "repeats": reps, "results": res}
            results.append(pt)
            for line in table([pt]).splitlines()[2:]:
                print(line, flush=True)
    print()
    print(table(results))
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": info, "results": results}, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
