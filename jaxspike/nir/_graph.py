"""Parse a ``nir.NIRGraph`` into a flat, ordered program of jaxspike operations.

Nested graphs are inlined (their members are named ``"outer.inner"``), every node's
per-sample shape is inferred, and the edges are split into *forward* edges (evaluated in
the same step, in topological order) and *back* edges (read from the previous step).
A back edge is an edge that closes a cycle in a depth-first walk from the graph's
``Input`` nodes (children visited in name order); every cycle must pass through a node
with state (a neuron or a ``Delay`` of at least one step), otherwise the graph is an
algebraic loop and is refused.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from jaxspike.nir._conventions import Convention

NEURON_TYPES = ("I", "IF", "LI", "LIF", "CubaLI", "CubaLIF")
SUPPORTED = (
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Scale",
    "Conv1d",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
    "Flatten",
    "Threshold",
    "Delay",
    *NEURON_TYPES,
    "NIRGraph",
)


@dataclasses.dataclass(frozen=True)
class Op:
    """One flat node: its kind, static attributes and per-sample shapes (hashable)."""

    name: str
    kind: str
    attrs: tuple[tuple[str, Any], ...]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    def attr(self, key: str) -> Any:
        """The static attribute ``key``."""
        return dict(self.attrs)[key]


@dataclasses.dataclass(frozen=True)
class Program:
    """A flat NIR graph ready to run (static and hashable; arrays live in ``params``)."""

    ops: tuple[Op, ...]
    forward: tuple[tuple[str, tuple[str, ...]], ...]
    back: tuple[tuple[str, tuple[str, ...]], ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dt: float
    method: str
    convention: Convention

    def op(self, name: str) -> Op:
        """The op called ``name``."""
        return next(o for o in self.ops if o.name == name)


def _type(node: Any) -> str:
    return type(node).__name__


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, np.float64)


def _io_shape(node: Any) -> tuple[int, ...]:
    types = node.input_type if _type(node) == "Input" else node.output_type
    return tuple(int(n) for n in np.asarray(next(iter(types.values()))).reshape(-1))


def _flatten_graph(
    graph: Any, prefix: str, nodes: dict[str, Any], edges: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """Inline ``graph`` into ``nodes``/``edges``; return its input and output names."""
    local: dict[str, tuple[list[str], list[str]]] = {}
    for name, node in graph.nodes.items():
        full = prefix + name
        kind = _type(node)
        if kind == "NIRGraph":
            local[name] = _flatten_graph(node, full + ".", nodes, edges)
        else:
            if kind not in SUPPORTED:
                raise ValueError(
                    f"import_nir: node {full!r} has type {kind}, which jaxspike cannot import; "
                    f"supported types are {', '.join(SUPPORTED)}."
                )
            nodes[full] = node
            local[name] = ([full], [full])

    def resolve(endpoint: str, side: int) -> list[str]:
        if endpoint in local:
            return local[endpoint][side]
        if prefix + endpoint in nodes:
            return [prefix + endpoint]
        raise ValueError(
            f"import_nir: edge endpoint {prefix + endpoint!r} names no node of the graph; "
            f"nodes are {sorted(prefix + n for n in local)}."
        )

    for src, dst in graph.edges:
        for s in resolve(src, 1):
            for d in resolve(dst, 0):
                edges.append((s, d))
    ins = [prefix + n for n, v in graph.nodes.items() if _type(v) == "Input"]
    outs = [prefix + n for n, v in graph.nodes.items() if _type(v) == "Output"]
    return ins, outs


def _stateful(node: Any, dt: float) -> bool:
    kind = _type(node)
    if kind in NEURON_TYPES:
        return True
    if kind == "Delay":
        return bool(np.any(_arr(node.delay) / dt > 0.5))
    return False


def _back_edges(
    names: list[str], edges: list[tuple[str, str]], roots: list[str]
) -> set[tuple[str, str]]:
    children: dict[str, list[str]] = {n: [] for n in names}
    for s, d in edges:
        children[s].append(d)
    for n in children:
        children[n] = sorted(set(children[n]))
    color = dict.fromkeys(names, 0)
    back: set[tuple[str, str]] = set()
    for root in [*roots, *sorted(names)]:
        if color[root]:
            continue
        stack = [(root, iter(children[root]))]
        color[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[node] = 2
                stack.pop()
            elif color[nxt] == 1:
                back.add((node, nxt))
            elif color[nxt] == 0:
                color[nxt] = 1
                stack.append((nxt, iter(children[nxt])))
    return back


def _topo(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    indeg = dict.fromkeys(names, 0)
    for _, d in edges:
        indeg[d] += 1
    ready = sorted(n for n in names if indeg[n] == 0)
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for s, d in edges:
            if s == n:
                indeg[d] -= 1
                if indeg[d] == 0:
                    ready.append(d)
                    ready.sort()
    return order


def _check_stateless_acyclic(names: list[str], edges: list[tuple[str, str]], nodes: Any, dt: float):
    stateless = [n for n in names if not _stateful(nodes[n], dt)]
    keep = set(stateless)
    sub = [(s, d) for s, d in edges if s in keep and d in keep]
    order = _topo(stateless, sub)
    if len(order) < len(stateless):
        loop = sorted(set(stateless) - set(order))
        raise ValueError(
            f"import_nir: the graph has a cycle without state through {loop}: every cycle "
            "needs a neuron or a Delay of at least one step, otherwise its output is "
            "defined by itself in the same instant (an algebraic loop)."
        )


def _pair(x: Any) -> tuple[int, int]:
    a = np.asarray(x).reshape(-1)
    return (int(a[0]), int(a[0])) if a.size == 1 else (int(a[0]), int(a[1]))


def _conv_out(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _padding(pad: Any, ndim: int, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> Any:
    if isinstance(pad, (str, bytes)):
        pad = pad.decode() if isinstance(pad, bytes) else pad
        if pad == "valid":
            return tuple((0, 0) for _ in range(ndim))
        if pad == "same":
            out = []
            for k, d in zip(kernel, dilation, strict=True):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return tuple(out)
        raise ValueError(f"import_nir: unknown padding {pad!r}; use an int, 'same' or 'valid'.")
    a = np.asarray(pad).reshape(-1)
    vals = [int(a[0])] * ndim if a.size == 1 else [int(v) for v in a]
    return tuple((v, v) for v in vals)


def _edge_error(src: str, dst: str, detail: str) -> ValueError:
    return ValueError(f"import_nir: shape mismatch along edge {src!r} -> {dst!r}: {detail}.")


def _op_and_shape(
    name: str, node: Any, in_shape: tuple[int, ...], src: str, dt: float
) -> tuple[tuple[tuple[str, Any], ...], tuple[int, ...]]:
    """Static attributes and output shape of ``node`` fed with ``in_shape``."""
    kind = _type(node)
    if kind in ("Affine", "Linear"):
        w = _arr(node.weight)
        if w.ndim != 2:
            raise ValueError(
                f"import_nir: {kind} {name!r} weight must be (out, in), got {w.shape}."
            )
        if not in_shape or in_shape[-1] != w.shape[1]:
            raise _edge_error(
                src, name, f"{kind} weight is {w.shape} (out, in) but input is {in_shape}"
            )
        return (), (*in_shape[:-1], w.shape[0])
    if kind in ("Conv1d", "Conv2d"):
        nd = 1 if kind == "Conv1d" else 2
        w = _arr(node.weight)
        groups = int(np.asarray(node.groups).reshape(-1)[0])
        if len(in_shape) != nd + 1 or in_shape[0] != w.shape[1] * groups:
            raise _edge_error(
                src,
                name,
                f"{kind} expects (C={w.shape[1] * groups}, spatial x{nd}), got {in_shape}",
            )
        k = tuple(w.shape[2:])
        stride = _pair(node.stride)[:nd]
        dil = _pair(node.dilation)[:nd]
        pad = _padding(node.padding, nd, k, dil)
        spatial = tuple(
            (n + p[0] + p[1] - d * (kk - 1) - 1) // s + 1
            for n, kk, s, p, d in zip(in_shape[1:], k, stride, pad, dil, strict=True)
        )
        attrs = (("stride", stride), ("padding", pad), ("dilation", dil), ("groups", groups))
        return attrs, (w.shape[0], *spatial)
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(in_shape) != 3:
            raise _edge_error(src, name, f"{kind} expects (C, H, W), got {in_shape}")
        k, s, p = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
        spatial = tuple(
            _conv_out(n, kk, ss, pp, 1) for n, kk, ss, pp in zip(in_shape[1:], k, s, p, strict=True)
        )
        return (("kernel", k), ("stride", s), ("padding", p)), (in_shape[0], *spatial)
    if kind == "Flatten":
        nd = len(in_shape)
        start = int(node.start_dim) % nd if nd else 0
        end = int(node.end_dim) % nd if nd else 0
        mid = math.prod(in_shape[start : end + 1])
        return (("start_dim", start), ("end_dim", end)), (
            *in_shape[:start],
            mid,
            *in_shape[end + 1 :],
        )
    if kind == "Delay":
        from jaxspike.delays import delay_steps

        steps = np.broadcast_to(delay_steps(_arr(node.delay), dt), in_shape)
        return (("steps", tuple(int(v) for v in steps.reshape(-1))),), in_shape
    # elementwise: Scale, Threshold, neurons, Output
    for field in ("scale", "threshold", "tau", "tau_mem", "tau_syn", "r", "v_threshold"):
        if hasattr(node, field):
            shape = np.shape(getattr(node, field))
            try:
                out = np.broadcast_shapes(shape, in_shape)
            except ValueError:
                out = None
            if out != in_shape:
                raise _edge_error(
                    src, name, f"{kind}.{field} has shape {shape}, input is {in_shape}"
                )
    return (), in_shape


def build_program(
    graph: Any, *, dt: float, method: str, convention: Convention
) -> tuple[Program, dict[str, Any], dict[str, Any]]:
    """Flatten, order and shape ``graph``; return the program and the NIR nodes by name."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    ins, outs = _flatten_graph(graph, "", nodes, edges)
    if not ins:
        raise ValueError("import_nir: the graph has no Input node.")
    names = sorted(nodes)
    edges = list(dict.fromkeys(edges))
    _check_stateless_acyclic(names, edges, nodes, dt)
    back = _back_edges(names, edges, ins)
    fwd = [e for e in edges if e not in back]
    order = _topo(names, fwd)
    reach = set(ins)
    for n in order:
        if any(s in reach for s, d in fwd if d == n):
            reach.add(n)
    order = [n for n in order if n in reach]
    shapes: dict[str, tuple[int, ...]] = {}
    ops: dict[str, Op] = {}
    for n in order:
        node = nodes[n]
        kind = _type(node)
        srcs = [s for s, d in fwd if d == n]
        if kind == "Input":
            if srcs:
                in_shape = shapes[srcs[0]]
            elif n in ins:
                in_shape = _io_shape(node)
            else:
                raise ValueError(f"import_nir: nested Input {n!r} receives no edge.")
            shapes[n] = in_shape
            ops[n] = Op(n, kind, (), in_shape, in_shape)
            continue
        if not srcs:
            raise ValueError(f"import_nir: node {n!r} receives no input in the same step.")
        in_shape = shapes[srcs[0]]
        for s in srcs[1:]:
            if shapes[s] != in_shape:
                raise _edge_error(s, n, f"{shapes[s]} differs from {in_shape} of {srcs[0]!r}")
        attrs, out_shape = _op_and_shape(n, node, in_shape, srcs[0], dt)
        shapes[n] = out_shape
        ops[n] = Op(n, kind, attrs, in_shape, out_shape)
    back = {(s, d) for s, d in back if s in reach and d in reach}
    for s, d in sorted(back):
        if shapes[s] != ops[d].in_shape:
            raise _edge_error(s, d, f"{shapes[s]} (recurrent) differs from {ops[d].in_shape}")
    top_outs = tuple(o for o in outs if o in reach)
    if not top_outs:
        raise ValueError("import_nir: no Output node is reachable from the inputs.")
    program = Program(
        ops=tuple(ops[n] for n in order),
        forward=tuple((n, tuple(sorted(s for s, d in fwd if d == n))) for n in order),
        back=tuple((n, tuple(sorted(s for s, d in back if d == n))) for n in order),
        inputs=tuple(ins),
        outputs=top_outs,
        dt=float(dt),
        method=method,
        convention=convention,
    )
    return program, {n: nodes[n] for n in order}, shapes


def positive_dt(fn: str, dt: Any) -> float:
    """``dt`` as a float, or a ValueError when it is not a finite real number > 0."""
    if (
        isinstance(dt, bool)
        or not isinstance(dt, numbers.Real)
        or not math.isfinite(float(dt))
        or not float(dt) > 0
    ):
        raise ValueError(f"{fn}: dt must be > 0 and finite, got {dt!r}.")
    return float(dt)


def require_nir(fn: str) -> Any:
    """The ``nir`` module, or an ImportError that says how to install it."""
    try:
        import nir
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"{fn} needs the 'nir' package: pip install jaxspike[nir]") from err
    return nir


def graph_from(source: Any) -> Any:
    """A ``nir.NIRGraph`` from a graph, a path or a file object."""
    nir = require_nir("import_nir")

    if isinstance(source, nir.NIRGraph):
        return source
    if isinstance(source, Mapping):
        raise TypeError("import_nir: pass a nir.NIRGraph or a path, not a dict.")
    expected = "a NIR HDF5 file (written by nir.write)"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise IsADirectoryError(f"import_nir: {path} is a directory; expected {expected}.")
        if not path.is_file():
            raise FileNotFoundError(f"import_nir: no such file: {path} (expected {expected}).")
    try:
        graph = nir.read(source)
    except Exception as err:  # h5py/nir raise OSError, KeyError, ... for bad files
        raise ValueError(
            f"import_nir: could not read {source!r} as {expected}: the file is empty, "
            f"truncated or not NIR ({type(err).__name__}: {err})."
        ) from None
    if not isinstance(graph, nir.NIRGraph):
        raise ValueError(
            f"import_nir: {source!r} holds a single {type(graph).__name__} node, not a "
            f"graph; expected {expected} holding a NIRGraph."
        )
    return graph
