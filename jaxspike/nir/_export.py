r"""Export jaxspike models to ``nir.NIRGraph``.

Parameters are written so that NIR's continuous-time equations, integrated with the
given ``dt`` and ``method`` by :func:`jaxspike.nir.import_nir`, give back the model's
discrete update. For a multiplicative decay :math:`\beta` (``LIF``, ``LI``) and forward
Euler: :math:`\tau = \Delta t/(1-\beta)` and :math:`R = \tau/\Delta t` (input gain
:math:`R\Delta t/\tau = 1`); with ``method="exact"``: :math:`\tau = -\Delta t/\ln\beta`
and :math:`R = 1/(1-\beta)`. ``CubaLIF`` writes :math:`w_{in}` the same way from its
synaptic decay, ``IF`` writes :math:`R = 1/\Delta t`, and a decay of exactly 1 becomes
``IF`` / ``I``. What NIR cannot express (a constant leak, a membrane floor, refractory
periods, adaptive thresholds, ``reset="none"``, a bias current) is refused with an error
naming the layer; a subtractive reset is refused unless ``approximate=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxspike.nir._graph import NEURON_TYPES, require_nir


class _Chain:
    def __init__(self, nir: Any, input_shape: tuple[int, ...]):
        self.nir = nir
        self.nodes: dict[str, Any] = {"input": nir.Input(input_type=np.asarray(input_shape))}
        self.edges: list[tuple[str, str]] = []
        self.last = "input"
        self.shape = tuple(input_shape)

    def add(self, kind: str, node: Any, shape: tuple[int, ...]) -> None:
        name = f"{len(self.nodes) - 1}_{kind}"
        self.nodes[name] = node
        self.edges.append((self.last, name))
        self.last, self.shape = name, tuple(shape)

    def graph(self) -> Any:
        self.nodes["output"] = self.nir.Output(output_type=np.asarray(self.shape))
        self.edges.append((self.last, "output"))
        return self.nir.NIRGraph(nodes=self.nodes, edges=self.edges)


def _np(x: Any) -> np.ndarray:
    return np.asarray(x, np.float64)


def _refuse(layer: str, what: str, hint: str) -> ValueError:
    return ValueError(f"export_nir: layer {layer} {what}, which NIR cannot express; {hint}.")


def _tau_gain(layer: str, decay: np.ndarray, dt: float, method: str) -> tuple[Any, Any]:
    """``(tau, gain)`` that reproduce ``v <- decay v + x`` under ``method``."""
    if method == "euler":
        return dt / (1.0 - decay), 1.0 / (1.0 - decay)
    if np.any(decay <= 0):
        raise _refuse(layer, "has a decay of 0", "export with method='euler'")
    return -dt / np.log(decay), 1.0 / (1.0 - decay)


def _reset(layer: str, rule: str, approximate: bool) -> dict[str, Any]:
    if rule == "zero":
        return {}
    if rule == "none":
        raise _refuse(layer, "has reset='none'", "build it with reset='zero'")
    if not approximate:
        raise _refuse(
            layer,
            f"uses a subtractive reset ({rule!r}); NIR >= 1.0.6 resets to v_reset",
            "build it with reset='zero', or pass approximate=True to write reset-to-v_reset "
            "(identical in continuous time) and import with reset='subtract'",
        )
    return {"jaxspike.reset": rule}


def _neuron(
    nir: Any,
    layer: str,
    model: str,
    p: Any,
    options: dict[str, Any],
    shape: tuple[int, ...],
    *,
    dt: float,
    method: str,
    approximate: bool,
) -> tuple[str, Any]:
    """The NIR node of one jaxspike neuron layer."""

    def full(x: Any) -> np.ndarray:
        return np.broadcast_to(_np(x), shape).copy()

    if options.get("refractory", 0):
        raise _refuse(layer, "has a refractory period", "use refractory=0")
    rule = options.get("reset", "zero")
    if rule == "subtract" and options.get("decay_reset", True) is False:
        rule = "subtract_undecayed"
    if model in ("alif", "izhikevich"):
        what = "has an adaptive threshold" if model == "alif" else "is an Izhikevich neuron"
        raise _refuse(layer, what, "NIR has no such primitive")
    meta = _reset(layer, rule, approximate) if model != "li" else {}
    if model == "if":
        if np.any(_np(p.leak) != 0):
            raise _refuse(layer, "has a constant subtractive leak", "use leak=0")
        if np.any(np.isfinite(_np(p.v_min))):
            raise _refuse(layer, "has a membrane floor v_min", "use v_min=-inf")
        node = nir.IF(
            r=full(1.0 / dt),
            v_threshold=full(p.v_th),
            v_reset=full(p.v_reset),
            metadata=meta,
        )
        return "if", node
    if model == "ctlif":
        if options.get("method", "exact") != method:
            raise _refuse(
                layer,
                f"integrates with method={options.get('method')!r}",
                f"export with method={options.get('method')!r}",
            )
        if np.any(_np(p.i_bias) != 0):
            raise _refuse(layer, "has a bias current i_bias", "fold it into an Affine bias")
        tau = _np(p.tau_mem) * dt / float(options.get("dt", 1.0))
        node = nir.LIF(
            tau=full(tau),
            r=full(p.r),
            v_leak=full(p.v_leak),
            v_threshold=full(p.v_th),
            v_reset=full(p.v_reset),
            metadata=meta,
        )
        return "lif", node
    if model in ("lif", "li"):
        decay = full(p.decay)
        if np.all(decay == 1.0):
            if model == "li":
                return "i", nir.I(r=full(1.0 / dt))
            return "if", nir.IF(
                r=full(1.0 / dt), v_threshold=full(p.v_th), v_reset=full(p.v_reset), metadata=meta
            )
        if np.any(decay >= 1.0):
            raise _refuse(layer, "mixes decays of 1 and < 1", "NIR LIF needs a finite tau")
        tau, _gain = _tau_gain(layer, decay, dt, method)
        if model == "li":
            return "li", nir.LI(tau=tau, r=_r(tau, decay, dt, method), v_leak=full(0.0))
        node = nir.LIF(
            tau=tau,
            r=_r(tau, decay, dt, method),
            v_leak=full(0.0),
            v_threshold=full(p.v_th),
            v_reset=full(p.v_reset),
            metadata=meta,
        )
        return "lif", node
    if model == "cuba_lif":
        a, b = full(p.decay_syn), full(p.decay_mem)
        if np.any(a >= 1.0) or np.any(b >= 1.0):
            raise _refuse(layer, "has a decay of 1", "NIR CubaLIF needs finite time constants")
        tau_s, _ = _tau_gain(layer, a, dt, method)
        tau_m, _ = _tau_gain(layer, b, dt, method)
        node = nir.CubaLIF(
            tau_syn=tau_s,
            tau_mem=tau_m,
            r=_r(tau_m, b, dt, method),
            v_leak=full(0.0),
            v_threshold=full(p.v_th),
            v_reset=full(p.v_reset),
            w_in=_r(tau_s, a, dt, method),
            metadata=meta,
        )
        return "cubalif", node
    raise ValueError(f"export_nir: layer {layer} has the unknown neuron model {model!r}.")


def _r(tau: np.ndarray, decay: np.ndarray, dt: float, method: str) -> np.ndarray:
    """Gain that maps a unit input jump to the NIR equation under ``method``."""
    return tau / dt if method == "euler" else 1.0 / (1.0 - decay)


def _linear(nir: Any, layer: str, kernel: Any, bias: Any, chain: _Chain) -> None:
    w = _np(kernel).T
    if not chain.shape or chain.shape[-1] != w.shape[1]:
        raise ValueError(
            f"export_nir: layer {layer} expects {w.shape[1]} input features, but the "
            f"previous layer gives shape {chain.shape}."
        )
    shape = (*chain.shape[:-1], w.shape[0])
    if bias is None:
        chain.add("linear", nir.Linear(weight=w), shape)
    else:
        chain.add("affine", nir.Affine(weight=w, bias=_np(bias)), shape)


def _nnx_layers(model: Any) -> list[tuple[str, Any]]:
    from jaxspike.nnx import RNN, Sequential, TimeDistributed

    if isinstance(model, Sequential):
        out = []
        for i, layer in enumerate(model.layers):
            out += [
                (f"layers[{i}]" + ("" if n == "" else "." + n), m) for n, m in _nnx_layers(layer)
            ]
        return out
    if isinstance(model, TimeDistributed):
        return [("", model.layer)]
    if isinstance(model, RNN):
        return [("", model.cell)]
    return [("", model)]


def _export_nnx(
    nir: Any, model: Any, chain: _Chain, *, dt: float, method: str, approximate: bool
) -> None:
    from flax import nnx

    from jaxspike.nnx import NeuronCell, RecurrentCell

    for where, layer in _nnx_layers(model):
        label = f"{where or 'model'} ({type(layer).__name__})"
        if isinstance(layer, nnx.Linear):
            bias = None if layer.bias is None else layer.bias[...]
            _linear(nir, label, layer.kernel[...], bias, chain)
        elif isinstance(layer, NeuronCell):
            kind, node = _neuron(
                nir,
                label,
                layer.model,
                layer.neuron_params(),
                dict(layer.options),
                chain.shape,
                dt=dt,
                method=method,
                approximate=approximate,
            )
            chain.add(kind, node, chain.shape)
        elif isinstance(layer, RecurrentCell) and isinstance(layer.cell, NeuronCell):
            cell = layer.cell
            kind, node = _neuron(
                nir,
                label,
                cell.model,
                cell.neuron_params(),
                dict(cell.options),
                chain.shape,
                dt=dt,
                method=method,
                approximate=approximate,
            )
            w = _np(layer.kernel[...])
            if not layer.self_connections:
                w = w * (1.0 - np.eye(w.shape[0]))
            n = chain.shape
            sub = nir.NIRGraph(
                nodes={
                    "input": nir.Input(input_type=np.asarray(n)),
                    kind: node,
                    "w_rec": nir.Linear(weight=w.T),
                    "output": nir.Output(output_type=np.asarray(n)),
                },
                edges=[("input", kind), (kind, "w_rec"), ("w_rec", kind), (kind, "output")],
            )
            chain.add("rnn", sub, n)
        else:
            raise ValueError(
                f"export_nir: layer {label} is not supported; supported layers are "
                "nnx.Linear, jaxspike.nnx neuron cells and layers (IF, LIF, CTLIF, CubaLIF, "
                "LI), RecurrentCell around them, TimeDistributed and Sequential."
            )


def _export_linen(
    nir: Any,
    model: Any,
    variables: Any,
    chain: _Chain,
    *,
    dt: float,
    method: str,
    approximate: bool,
) -> None:
    from flax import linen as nn

    from jaxspike.linen import NeuronCell, TimeDistributed
    from jaxspike.nnx import _specs

    params = variables.get("params", {}) if variables is not None else {}
    layers = list(model.layers) if isinstance(model, nn.Sequential) else [model]
    for i, layer in enumerate(layers):
        p = params.get(f"layers_{i}", {}) if isinstance(model, nn.Sequential) else params
        label = f"layers[{i}] ({type(layer).__name__})"
        if isinstance(layer, TimeDistributed):
            layer, p = layer.layer, p.get("layer", {})
        if isinstance(layer, nn.Dense):
            _linear(nir, label, p["kernel"], p.get("bias"), chain)
        elif isinstance(layer, NeuronCell):
            slots, per = _specs.plan(label, layer.model, layer.learn, layer.per_neuron)
            stored = [
                p[s.attr]
                if s.learnable
                else _specs.initial_value(
                    label,
                    s,
                    getattr(layer, s.field),
                    num_features=layer.num_features,
                    per_neuron=s.field in per,
                    param_dtype=layer.param_dtype,
                    key=None,
                )
                for s in slots
            ]
            fp = _specs.build_params(layer.model, slots, stored)
            options = {k: getattr(layer, k) for k in layer.option_names}
            kind, node = _neuron(
                nir,
                label,
                layer.model,
                fp,
                options,
                chain.shape,
                dt=dt,
                method=method,
                approximate=approximate,
            )
            chain.add(kind, node, chain.shape)
        else:
            raise ValueError(
                f"export_nir: layer {label} is not supported; supported Linen layers are "
                "nn.Dense, jaxspike.linen neuron layers and cells, TimeDistributed, in an "
                "nn.Sequential."
            )


def _export_imported(nir: Any, module: Any, *, dt: float, approximate: bool) -> Any:
    """Write an imported :class:`NIRModule` back (flat graph, same semantics)."""
    program = module.program
    conv = program.convention.name
    if conv not in ("nir", "jaxspike"):
        raise ValueError(
            f"export_nir: this model was imported with convention={conv!r}, whose timing "
            "rules NIR cannot express; only 'nir' and 'jaxspike' imports can be exported."
        )
    if dt != program.dt:
        raise ValueError(f"export_nir: the model was imported with dt={program.dt}, got {dt}.")
    params = {
        k: {f: np.asarray(v, np.float64) for f, v in p.items()}
        for k, p in module.params_dict().items()
    }
    method = program.method
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []

    def nm(name: str) -> str:
        return name.replace(".", "_")

    for op in program.ops:
        p = params.get(op.name, {})
        label = f"{op.name!r} ({op.kind})"
        if op.kind == "Input":
            node = nir.Input(input_type=np.asarray(op.in_shape))
        elif op.kind == "Output":
            node = nir.Output(output_type=np.asarray(op.out_shape))
        elif op.kind in ("Affine", "Linear"):
            node = (
                nir.Affine(weight=p["weight"], bias=p["bias"])
                if "bias" in p
                else nir.Linear(weight=p["weight"])
            )
        elif op.kind == "Scale":
            node = nir.Scale(scale=p["scale"])
        elif op.kind == "Threshold":
            node = nir.Threshold(threshold=p["threshold"])
        elif op.kind == "Flatten":
            node = nir.Flatten(
                input_type={"input": np.asarray(op.in_shape)},
                start_dim=op.attr("start_dim"),
                end_dim=op.attr("end_dim"),
            )
        elif op.kind == "Delay":
            node = nir.Delay(
                delay=np.reshape(np.asarray(op.attr("steps"), np.float64) * dt, op.out_shape)
            )
        elif op.kind in ("SumPool2d", "AvgPool2d"):
            node = getattr(nir, op.kind)(
                kernel_size=np.asarray(op.attr("kernel")),
                stride=np.asarray(op.attr("stride")),
                padding=np.asarray(op.attr("padding")),
            )
        elif op.kind in ("Conv1d", "Conv2d"):
            pads = op.attr("padding")
            if any(lo != hi for lo, hi in pads):
                raise _refuse(label, "has asymmetric padding", "NIR pads symmetrically")
            pad = tuple(lo for lo, _ in pads)
            one = op.kind == "Conv1d"
            node = getattr(nir, op.kind)(
                input_shape=op.in_shape[1] if one else op.in_shape[1:],
                weight=p["weight"],
                stride=op.attr("stride")[0] if one else op.attr("stride"),
                padding=pad[0] if one else pad,
                dilation=op.attr("dilation")[0] if one else op.attr("dilation"),
                groups=op.attr("groups"),
                bias=p.get("bias", np.zeros(p["weight"].shape[0])),
            )
        elif op.kind in NEURON_TYPES:
            node = _invert(nir, label, op.kind, p, dt, method, module, approximate)
        else:  # pragma: no cover
            raise ValueError(f"export_nir: cannot export {label}.")
        nodes[nm(op.name)] = node
    for dst, srcs in (*program.forward, *program.back):
        edges += [(nm(s), nm(dst)) for s in srcs]
    # inlined subgraph Input/Output nodes are pass-throughs: bypass them
    inner = [
        nm(op.name)
        for op in program.ops
        if (op.kind == "Input" and op.name not in program.inputs)
        or (op.kind == "Output" and op.name not in program.outputs)
    ]
    for name in inner:
        srcs = [s for s, d in edges if d == name]
        dsts = [d for s, d in edges if s == name]
        edges = [e for e in edges if name not in e] + [(s, d) for s in srcs for d in dsts]
        del nodes[name]
    return nir.NIRGraph(nodes=nodes, edges=list(dict.fromkeys(edges)))


def _invert(
    nir: Any,
    label: str,
    kind: str,
    p: dict[str, np.ndarray],
    dt: float,
    method: str,
    module: Any,
    approximate: bool,
) -> Any:
    """NIR fields of a neuron from its discrete coefficients (inverse of the import)."""
    rules = module.apply_fn.rules
    rule = rules.get(label.split("'")[1], "zero")
    meta = _reset(label, rule, approximate) if kind in ("IF", "LIF", "CubaLIF") else {}
    a, b, c = p["a_m"], p["b_m"], p["c_m"]
    if kind in ("I", "IF"):
        fields: dict[str, Any] = {"r": b / dt}
    else:
        k = 1.0 - a
        if np.any(k <= 0):
            raise _refuse(label, "has a membrane decay of 1", "NIR needs a finite tau")
        tau = -dt / np.log(a) if method == "exact" else dt / k
        fields = {"r": b / k, "v_leak": c / k}
        fields["tau_mem" if kind.startswith("Cuba") else "tau"] = tau
    if kind.startswith("Cuba"):
        a_s = p["a_s"]
        fields["tau_syn"] = -dt / np.log(a_s) if method == "exact" else dt / (1.0 - a_s)
        fields["w_in"] = p["b_s"] / (1.0 - a_s)
    if kind in ("IF", "LIF", "CubaLIF"):
        fields["v_threshold"] = p["v_th"]
        fields["v_reset"] = p["v_reset"]
        fields["metadata"] = meta
    return getattr(nir, kind)(**fields)


def export_nir(
    model: Any,
    *,
    dt: float,
    input_shape: tuple[int, ...] | None = None,
    method: str = "euler",
    variables: Any = None,
    approximate: bool = False,
) -> Any:
    """Export a jaxspike model to a ``nir.NIRGraph``.

    Args:
        model: a :class:`jaxspike.nnx.Sequential` (or one layer or cell) of supported
            layers, a ``flax.linen.Sequential`` of ``nn.Dense`` and
            :mod:`jaxspike.linen` neurons (with ``variables``), or a model returned by
            :func:`jaxspike.nir.import_nir` (convention ``"nir"`` or ``"jaxspike"``).
        dt: the time step the file is written for (the importer must use the same).
        input_shape: per-sample input shape (no batch, no time), e.g. ``(784,)``.
            Not needed for an imported model.
        method: ``"euler"`` or ``"exact"``: the discretization the importer will use.
        variables: Linen variables (``{"params": ...}``).
        approximate: write a subtractive reset as NIR's reset-to-``v_reset`` (recorded
            in the node's metadata as ``{"jaxspike.reset": ...}``) instead of refusing.

    Returns:
        A ``nir.NIRGraph``; write it with ``nir.write(path, graph)``.

    Raises:
        ValueError: naming the layer, for anything NIR cannot express exactly.

    Example:
        >>> from jaxspike.nnx import LIF, Sequential
        >>> graph = export_nir(Sequential(LIF(3, decay=0.5, reset="zero")), dt=1e-3,
        ...                    input_shape=(3,))
        >>> float(graph.nodes["0_lif"].tau[0]), float(graph.nodes["0_lif"].r[0])
        (0.002, 2.0)
    """
    nir = require_nir("export_nir")
    if isinstance(dt, bool) or not np.isscalar(dt) or not float(dt) > 0:
        raise ValueError(f"export_nir: dt must be a number > 0, got {dt!r}.")
    if method not in ("euler", "exact"):
        raise ValueError(f"export_nir: method must be 'euler' or 'exact', got {method!r}.")
    dt = float(dt)
    if hasattr(model, "apply_fn") and hasattr(model, "program"):
        return _export_imported(nir, model, dt=dt, approximate=approximate)
    if input_shape is None:
        raise ValueError("export_nir: input_shape is required, e.g. input_shape=(784,).")
    chain = _Chain(nir, tuple(int(n) for n in input_shape))
    if type(model).__module__.startswith("flax.linen") or ("linen" in type(model).__module__):
        _export_linen(nir, model, variables, chain, dt=dt, method=method, approximate=approximate)
    else:
        _export_nnx(nir, model, chain, dt=dt, method=method, approximate=approximate)
    return chain.graph()
