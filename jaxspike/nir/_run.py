r"""Run an imported NIR program: a network of core neurons stepped by :func:`jaxspike.unroll`.

Every neuron node (``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI``, ``CubaLIF``) is a core
:func:`~jaxspike.neurons.affine_lif.affine_lif_step` with :class:`AffineLIFParams` computed
once by :meth:`AffineLIFParams.from_tau` from the node's fields, the step ``dt`` and the
preset's :class:`~jaxspike.nir.NodeRule` for its type. This module only maps fields and
routes values along edges; it holds no neuron arithmetic of its own (a test checks).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxspike.delays import DelayState, delay_init, delay_step
from jaxspike.neurons import step_with_trace
from jaxspike.neurons.affine_lif import (
    AffineLIFParams,
    affine_lif_init,
    affine_lif_step,
)
from jaxspike.neurons.surrogates import Surrogate
from jaxspike.nir._conventions import Convention, NodeRule
from jaxspike.nir._graph import NEURON_TYPES, Op, Program
from jaxspike.ops.scan import unroll

# Parameters that are fixed by the file and never trained.
FIXED = ("v_init",)
SPIKING = ("IF", "LIF", "CubaLIF")


class GraphCarry(NamedTuple):
    """The state of an imported graph between steps.

    Attributes:
        nodes: per node name, an :class:`AffineLIFState` (neurons) or a ``DelayState``.
        recurrent: per source of a recurrent (back) edge, its output of the last step.
    """

    nodes: dict[str, Any]
    recurrent: dict[str, jax.Array]


class NodeTrace(NamedTuple):
    """One recorded node over time (``[B, T, ...]``, or ``[T, B, ...]`` with ``time_major``).

    Attributes:
        output: what the node sends along its edges (spikes, or the membrane of ``LI``/``I``).
        state: an :class:`AffineLIFState` of sequences (neurons), else ``None``.
        v_pre: the membrane before the reset of each step (neurons, from
            :func:`jaxspike.neurons.step_with_trace`), else ``None``.
    """

    output: jax.Array
    state: Any = None
    v_pre: Any = None


def _f(node: Any, field: str, default: Any = None) -> np.ndarray:
    value = getattr(node, field, None)
    if value is None:
        if default is None:
            raise ValueError(f"import_nir: {type(node).__name__} has no field {field!r}.")
        value = default
    return np.asarray(value, np.float64)


def neuron_params(
    op: Op, node: Any, rule: NodeRule, dt: float, method: str, reset: str
) -> dict[str, np.ndarray]:
    """The :class:`AffineLIFParams` fields (and ``v_init``) of a neuron node, float64."""
    kind = op.kind
    use_r = rule.use_r
    r: Any = _f(node, "r") if use_r else 1.0
    v_leak: Any = _f(node, "v_leak", 0.0) if use_r and kind not in ("I", "IF") else 0.0
    tau_unit = dt if rule.tau_per_dt else 1.0
    taus: dict[str, Any] = {}
    if kind in ("LI", "LIF"):
        taus["tau_mem"] = _f(node, "tau") / tau_unit
    elif kind.startswith("Cuba"):
        taus["tau_mem"] = _f(node, "tau_mem") / tau_unit
        taus["tau_syn"] = _f(node, "tau_syn") / tau_unit
    v_th: Any = np.inf
    v_reset: Any = 0.0
    if kind in SPIKING:
        v_th = _f(node, "v_threshold")
        if reset == "file":
            v_reset = _f(node, "v_reset", 0.0)
    try:
        p = AffineLIFParams.from_tau(
            dt=dt,
            r=r,
            v_leak=v_leak,
            w_in=_f(node, "w_in", 1.0) if use_r else 1.0,
            v_th=v_th,
            v_reset=v_reset,
            method=method,  # type: ignore[arg-type]
            membrane_gain=rule.membrane_gain,
            synapse_gain=rule.synapse_gain,
            dtype=jax.dtypes.canonicalize_dtype(jnp.float64),
            **taus,
        )
    except ValueError as err:
        raise ValueError(_tau_message(op.name, str(err), dt, rule)) from None
    out: dict[str, Any] = {
        k: np.asarray(getattr(p, k), np.float64) for k in AffineLIFParams._fields
    }
    out["v_init"] = {
        "v_leak": np.asarray(v_leak, np.float64),
        "zero": np.float64(0.0),
        "v_reset": np.asarray(v_reset, np.float64),
    }[rule.v0]
    return out


def _tau_message(name: str, err: str, dt: float, rule: NodeRule) -> str:
    msg = f"import_nir: node {name!r}: {err.split(': ', 1)[-1]}"
    if "unstable" not in err:
        return msg
    hint = (
        " Check the dt the writer assumed. A time constant far below dt is also what "
        "Norse 1.1's exporter writes (tau = dt / tau_mem_inv, i.e. tau times dt, a known "
        "exporter bug): read such files with convention='norse', which divides the time "
        "constants by dt. method='exact' would run but not fix the file: the decay would "
        "still come from the wrong tau."
    )
    if rule.tau_per_dt:
        hint = " The 'norse' preset already divided the time constants by dt; check dt."
    return msg + hint


def node_params(
    op: Op, node: Any, conv: Convention, dt: float, method: str | None, reset: str
) -> dict[str, np.ndarray]:
    """Float64 numpy parameters of one op (empty for parameter-free ops)."""
    kind = op.kind
    if kind in NEURON_TYPES:
        rule = conv.rule(kind)
        p = neuron_params(op, node, rule, dt, method or rule.method, reset)
        return {k: np.broadcast_to(v, op.out_shape).copy() for k, v in p.items()}
    if kind in ("Affine", "Linear", "Conv1d", "Conv2d"):
        p = {"weight": _f(node, "weight")}
        bias = getattr(node, "bias", None)
        if bias is not None:
            p["bias"] = np.asarray(bias, np.float64)
        return p
    if kind == "Scale":
        return {"scale": _f(node, "scale")}
    if kind == "Threshold":
        return {"threshold": _f(node, "threshold")}
    return {}


def _b(p: jax.Array, x: jax.Array) -> jax.Array:
    """``p`` (per-sample shape or scalar) broadcast to the batch ``x`` in its dtype."""
    return jnp.broadcast_to(p.astype(x.dtype), x.shape)


def stateless(op: Op, p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """A memoryless op (a synapse, pooling, reshape) on a batch ``x[B, *in_shape]``."""
    kind = op.kind
    if kind in ("Input", "Output"):
        return x
    if kind in ("Affine", "Linear"):
        y = x @ p["weight"].astype(x.dtype).T
        return y + _b(p["bias"], y) if "bias" in p else y
    if kind == "Scale":
        return x * _b(p["scale"], x)
    if kind == "Threshold":
        return (x > _b(p["threshold"], x)).astype(x.dtype)
    if kind in ("Conv1d", "Conv2d"):
        spec = ("NCH", "OIH", "NCH") if kind == "Conv1d" else ("NCHW", "OIHW", "NCHW")
        y = lax.conv_general_dilated(
            x,
            p["weight"].astype(x.dtype),
            window_strides=op.attr("stride"),
            padding=op.attr("padding"),
            rhs_dilation=op.attr("dilation"),
            dimension_numbers=spec,
            feature_group_count=op.attr("groups"),
        )
        if "bias" in p:
            bias = p["bias"].astype(x.dtype).reshape((1, -1) + (1,) * (y.ndim - 2))
            y = y + jnp.broadcast_to(bias, y.shape)
        return y
    if kind in ("SumPool2d", "AvgPool2d"):
        k, s, pad = op.attr("kernel"), op.attr("stride"), op.attr("padding")
        y = lax.reduce_window(
            x,
            jnp.asarray(0, x.dtype),
            lax.add,
            (1, 1, *k),
            (1, 1, *s),
            ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])),
        )
        return y / (k[0] * k[1]) if kind == "AvgPool2d" else y
    if kind == "Flatten":
        return x.reshape((x.shape[0], *op.out_shape))
    raise ValueError(f"import_nir: no rule for {kind}")  # pragma: no cover


def _core(p: dict[str, jax.Array]) -> AffineLIFParams:
    return AffineLIFParams(**{k: p[k] for k in AffineLIFParams._fields})


def init_carry(program: Program, params: dict[str, Any], batch: int, dtype: Any) -> GraphCarry:
    """Resting state of every stateful op, and what each recurrent edge carries at t = 0."""
    nodes: dict[str, Any] = {}
    for op in program.ops:
        shape = (batch, *op.out_shape)
        if op.kind in NEURON_TYPES:
            p = params[op.name]
            v0 = jnp.broadcast_to(p["v_init"].astype(dtype), shape)
            nodes[op.name] = affine_lif_init(_core(p), shape, dtype, v=v0)
        elif op.kind == "Delay":
            nodes[op.name] = delay_init(max(op.attr("steps")), shape, dtype)
    recurrent: dict[str, jax.Array] = {}
    for _, srcs in program.back:
        for s in srcs:
            src = program.op(s)
            zeros = jnp.zeros((batch, *src.out_shape), dtype)
            if program.convention.recurrent_init == "output" and src.kind not in (
                *NEURON_TYPES,
                "Delay",
            ):
                # the source's output for an all-zero previous step (a recurrent bias)
                zeros = stateless(src, params.get(s, {}), jnp.zeros((batch, *src.in_shape), dtype))
            recurrent[s] = zeros
    return GraphCarry(nodes, recurrent)


def node_options(op: Op, node: Any, conv: Convention, reset: str) -> dict[str, Any]:
    """Static keyword options of ``affine_lif_step`` for one neuron op."""
    rule = conv.rule(op.kind)
    if op.kind not in SPIKING:
        return {"reset": "none"}
    v_min = None
    if rule.floor == "-v_th":
        # sinabs' importer: IAFSqueeze(min_v_mem=-v_th), one threshold per layer
        v_th = np.unique(_f(node, "v_threshold"))
        if v_th.size != 1:
            raise ValueError(
                f"import_nir: node {op.name!r}: the {conv.name!r} preset floors the membrane "
                f"at -v_threshold, which needs one threshold per node; got {v_th.tolist()}."
            )
        v_min = float(np.negative(v_th[0]))
    return {
        "reset": "zero" if reset in ("file", "zero") else reset,
        "threshold": rule.threshold,
        "multi_spike": rule.multi_spike,
        "v_min": v_min,
        "reset_at": rule.reset_at,
        "emit": rule.emit,
    }


def make_step(
    program: Program,
    params: dict[str, Any],
    *,
    options: dict[str, dict[str, Any]],
    surrogate: Surrogate,
    record: tuple[str, ...],
):
    """The pure step ``(carry, inputs_t) -> (carry, (outputs_t, recorded_t))``."""
    fwd = dict(program.forward)
    back = dict(program.back)

    def step(carry: GraphCarry, xs: dict[str, jax.Array]) -> tuple[GraphCarry, Any]:
        values: dict[str, jax.Array] = {}
        states = dict(carry.nodes)
        rec: dict[str, Any] = {}
        for op in program.ops:
            if op.name in xs:
                x = xs[op.name]
            else:
                terms = [values[s] for s in fwd[op.name]]
                terms += [carry.recurrent[s] for s in back[op.name]]
                x = terms[0]
                for t in terms[1:]:
                    x = x + t
            p = params.get(op.name, {})
            if op.kind in NEURON_TYPES:
                step: Any = functools.partial(
                    affine_lif_step, surrogate=surrogate, **options[op.name]
                )
                if op.name in record:
                    states[op.name], tr = step_with_trace(step)(_core(p), carry.nodes[op.name], x)
                    s = tr.spikes
                else:
                    states[op.name], s = step(_core(p), carry.nodes[op.name], x)
                y = s if op.kind in SPIKING else states[op.name].v
                if op.name in record:
                    rec[op.name] = NodeTrace(y, states[op.name], tr.v_pre)
            elif op.kind == "Delay":
                steps = jnp.asarray(np.reshape(op.attr("steps"), op.out_shape))
                st: DelayState = carry.nodes[op.name]
                states[op.name], y = delay_step(steps, st, x)
                if op.name in record:
                    rec[op.name] = NodeTrace(y)
            else:
                y = stateless(op, p, x)
                if op.name in record:
                    rec[op.name] = NodeTrace(y)
            values[op.name] = y
        new = GraphCarry(states, {s: values[s] for s in carry.recurrent})
        return new, ({o: values[o] for o in program.outputs}, rec)

    return step


def resolve_record(program: Program, record: Any) -> tuple[str, ...]:
    """The node names asked for by ``record`` (``None``, ``"all"``, ``"neurons"``, names)."""
    names = tuple(op.name for op in program.ops)
    if record is None:
        return ()
    if record == "all":
        return names
    if record == "neurons":
        return tuple(op.name for op in program.ops if op.kind in NEURON_TYPES)
    if isinstance(record, str):
        record = (record,)
    bad = [r for r in record if r not in names]
    if bad or not all(isinstance(r, str) for r in record):
        raise ValueError(
            f"import_nir: record must be None, 'all', 'neurons' or node names of the graph "
            f"{list(names)}; got {record!r}."
        )
    return tuple(record)


def run(
    program: Program,
    params: dict[str, Any],
    xs: Any,
    *,
    time_major: bool,
    initial_carry: GraphCarry | None,
    return_carry: bool,
    record: Any,
    surrogate: Surrogate,
    options: dict[str, dict[str, Any]],
):
    """Run ``program`` on ``xs`` (``[B, T, *shape]`` or ``[T, B, *shape]``, or a dict)."""
    names = program.inputs
    if not isinstance(xs, dict):
        if len(names) != 1:
            raise ValueError(
                f"import_nir: the graph has {len(names)} inputs {list(names)}; pass a dict."
            )
        xs = {names[0]: xs}
    if set(xs) != set(names):
        raise ValueError(f"import_nir: inputs must be {sorted(names)}, got {sorted(xs)}.")
    seqs = {}
    for n in names:
        x = jnp.asarray(xs[n])
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        want = program.op(n).out_shape
        if x.ndim != len(want) + 2 or tuple(x.shape[2:]) != want:
            layout = "[T, B, ...]" if time_major else "[B, T, ...]"
            raise ValueError(
                f"import_nir: input {n!r} must have shape {layout} + {want}, got {x.shape}."
            )
        seqs[n] = x if time_major else jnp.swapaxes(x, 0, 1)
    first = seqs[names[0]]
    carry = initial_carry
    if carry is None:
        carry = init_carry(program, params, first.shape[1], first.dtype)
    elif not isinstance(carry, GraphCarry):
        raise TypeError(
            f"import_nir: initial_carry must be the GraphCarry a previous call returned "
            f"(return_carry=True), got {type(carry).__name__}."
        )
    rec_names = resolve_record(program, record)
    step = make_step(program, params, options=options, surrogate=surrogate, record=rec_names)
    final, (ys, rec) = unroll(step, carry, seqs)[:2]
    if not time_major:
        ys, rec = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), (ys, rec))
    out = ys[program.outputs[0]] if len(program.outputs) == 1 else ys
    if rec_names:
        out = (out, rec)
    return (final, out) if return_carry else out


__all__ = ["FIXED", "GraphCarry", "NodeTrace", "init_carry", "node_options", "node_params", "run"]
