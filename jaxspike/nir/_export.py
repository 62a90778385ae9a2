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

Convolutions and pooling are channels first in NIR and channels last in jaxspike: an
image input is written as ``(C, H, W)``, Flax kernels ``(kH, kW, Cin, Cout)`` as
``(Cout, Cin, kH, kW)``, and the ``Affine`` after a ``Flatten`` gets its weight columns
permuted from jaxspike's ``(H, W, C)`` order to NIR's ``(C, H, W)`` order, so that the
graph computes the same function. Layers that cannot be identified (arbitrary lambdas)
are refused, never dropped.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

import numpy as np

from jaxspike.nir._graph import NEURON_TYPES, positive_dt, require_nir


class _Chain:
    """The graph being written, and where each jaxspike feature sits in the NIR tensor.

    ``jshape`` is jaxspike's per-sample shape (channels last); ``index`` has the NIR
    shape and holds, at each NIR position, the flat (C-order) index of the jaxspike
    feature stored there. A channels-last map ``(H, W, C)`` is ``(C, H, W)`` in NIR, and
    a flattened one keeps NIR's C-major order until the next ``Linear`` undoes it.
    """

    def __init__(self, nir: Any, input_shape: tuple[int, ...], channels_first: bool):
        self.nir = nir
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.last = "input"
        self.jshape = tuple(input_shape)
        self.index = _ident(self.jshape)
        if channels_first and len(self.jshape) >= 2:
            self.index = np.moveaxis(self.index, -1, 0)
        self.nodes["input"] = nir.Input(input_type=np.asarray(self.index.shape))

    @property
    def shape(self) -> tuple[int, ...]:
        """The NIR per-sample shape of the last node."""
        return tuple(self.index.shape)

    def identity(self) -> bool:
        """NIR holds the features in jaxspike's own layout."""
        return self.shape == self.jshape and bool(
            np.array_equal(self.index.reshape(-1), np.arange(self.index.size))
        )

    def channels_last(self) -> bool:
        """A jaxspike channels-last map stored channels first (as NIR convolutions want)."""
        return len(self.jshape) >= 2 and bool(
            np.array_equal(self.index, np.moveaxis(_ident(self.jshape), -1, 0))
        )

    def to_nir(self, x: Any) -> np.ndarray:
        """A per-feature jaxspike parameter (broadcast to ``jshape``) in the NIR layout."""
        return np.broadcast_to(_np(x), self.jshape).reshape(-1)[self.index]

    def add(
        self, kind: str, node: Any, jshape: tuple[int, ...], *, channels_first: bool = False
    ) -> None:
        """Append ``node``; its output has jaxspike shape ``jshape``."""
        name = f"{len(self.nodes) - 1}_{kind}"
        self.nodes[name] = node
        self.edges.append((self.last, name))
        self.last, self.jshape = name, tuple(jshape)
        self.index = _ident(self.jshape)
        if channels_first:
            self.index = np.moveaxis(self.index, -1, 0)

    def graph(self) -> Any:
        """The finished graph; a permuted flat output is put back in jaxspike's order."""
        if self.index.ndim == 1 and not self.identity():
            perm = np.zeros((self.index.size, self.index.size))
            perm[self.index, np.arange(self.index.size)] = 1.0
            self.add("linear", self.nir.Linear(weight=perm), self.jshape)
        self.nodes["output"] = self.nir.Output(output_type=np.asarray(self.shape))
        self.edges.append((self.last, "output"))
        return self.nir.NIRGraph(nodes=self.nodes, edges=self.edges)


def _ident(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(math.prod(shape)).reshape(shape)


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
    full: Any,
    *,
    dt: float,
    method: str,
    approximate: bool,
) -> tuple[str, Any]:
    """The NIR node of one jaxspike neuron layer (``full`` lays a parameter out in NIR)."""
    if options.get("refractory", 0):
        raise _refuse(layer, "has a refractory period", "use refractory=0")
    if options.get("multi_spike", False):
        raise _refuse(layer, "emits several spikes per step", "use multi_spike=False")
    if options.get("v_min") is not None:
        raise _refuse(layer, "has a membrane floor v_min", "use v_min=None")
    rule = options.get("reset", "zero")
    next_step = options.get("reset_at", "same_step") == "next_step"
    if next_step and rule == "zero":
        raise _refuse(layer, "resets to zero one step late", "use reset_at='same_step'")
    if rule == "subtract" and (options.get("decay_reset", True) is False or next_step):
        # the delayed, undecayed subtraction (snnTorch reset_delay=True)
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
    """``y = x @ kernel + bias`` on the last jaxspike axis."""
    k = _np(kernel)
    if not chain.jshape or chain.jshape[-1] != k.shape[0]:
        raise ValueError(
            f"export_nir: layer {layer} expects {k.shape[0]} input features, but the "
            f"previous layer gives shape {chain.jshape} (channels last)."
        )
    b = np.zeros(k.shape[1]) if bias is None else _np(bias)
    jshape = (*chain.jshape[:-1], k.shape[1])
    if chain.identity() or chain.index.ndim == 1:
        # NIR feature j is jaxspike feature index[j]: permute the weight's input columns
        w = k[chain.index].T if chain.index.ndim == 1 else k.T
        if bias is None:
            chain.add("linear", nir.Linear(weight=w), jshape)
        else:
            chain.add("affine", nir.Affine(weight=w, bias=b), jshape)
    elif chain.channels_last() and len(chain.jshape) in (2, 3):
        # a Linear on the channels of a map is a 1x1 convolution
        nd = len(chain.jshape) - 1
        w = k.T.reshape((k.shape[1], k.shape[0]) + (1,) * nd)
        cls = nir.Conv1d if nd == 1 else nir.Conv2d
        node = cls(
            input_shape=chain.jshape[0] if nd == 1 else chain.jshape[:2],
            weight=w,
            stride=1 if nd == 1 else (1, 1),
            padding=0 if nd == 1 else (0, 0),
            dilation=1 if nd == 1 else (1, 1),
            groups=1,
            bias=b,
        )
        chain.add("conv", node, jshape, channels_first=True)
    else:  # a rank-4+ channels-last map: NIR has no 3-d convolution
        raise _refuse(layer, f"acts on a tensor of shape {chain.jshape}", "flatten it first")


def _ints(value: Any, nd: int, default: int = 1) -> tuple[int, ...]:
    if value is None:
        return (default,) * nd
    if isinstance(value, int):
        return (value,) * nd
    out = tuple(int(v) for v in value)
    return out * nd if len(out) == 1 else out


def _pads(
    layer: str,
    padding: Any,
    spatial: tuple[int, ...],
    window: tuple[int, ...],
    strides: tuple[int, ...],
) -> tuple[int, ...]:
    """Flax padding (``"SAME"``, ``"VALID"``, int, pairs) as NIR's symmetric pads."""
    from jax import lax

    nd = len(spatial)
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise _refuse(layer, f"uses padding={padding!r}", "use 'SAME', 'VALID' or ints")
        pairs = lax.padtype_to_pads(spatial, window, strides, padding.upper())
    elif isinstance(padding, int):
        pairs = [(padding, padding)] * nd
    else:
        items = list(padding)
        pairs = [(p, p) if isinstance(p, int) else tuple(p) for p in items]
        if len(pairs) == 1:
            pairs = pairs * nd
    pairs = [(int(lo), int(hi)) for lo, hi in pairs]
    if any(lo != hi for lo, hi in pairs):
        raise _refuse(
            layer,
            f"pads asymmetrically {pairs} (input {spatial}, window {window}, strides {strides})",
            "NIR pads both sides equally: use explicit symmetric padding or an input size "
            "that makes 'SAME' symmetric",
        )
    return tuple(lo for lo, _ in pairs)


def _out(spatial: tuple[int, ...], window: tuple[int, ...], strides: Any, pads: Any) -> tuple:
    return tuple(
        (n + 2 * p - k) // s + 1 for n, k, s, p in zip(spatial, window, strides, pads, strict=True)
    )


def _conv(nir: Any, layer: str, module: Any, kernel: Any, bias: Any, chain: _Chain) -> None:
    """A Flax ``Conv`` (kernel ``(*k, Cin/g, Cout)``, channels last) as NIR Conv1d/Conv2d."""
    k = _np(kernel)
    mask = getattr(module, "mask", None)
    if mask is not None:
        k = k * _np(mask)
    nd = k.ndim - 2
    if nd not in (1, 2):
        raise _refuse(layer, f"is a {nd}-d convolution", "NIR has Conv1d and Conv2d only")
    groups = int(module.feature_group_count)
    cin, cout = k.shape[-2] * groups, k.shape[-1]
    if len(chain.jshape) != nd + 1 or chain.jshape[-1] != cin:
        raise ValueError(
            f"export_nir: layer {layer} expects a channels-last input (*spatial x{nd}, "
            f"C={cin}), but the previous layer gives shape {chain.jshape}."
        )
    if not chain.channels_last():  # pragma: no cover - the pre-scan prevents it
        raise _refuse(layer, "receives a flattened tensor", "convolve before flattening")
    if any(d != 1 for d in _ints(module.input_dilation, nd)):
        raise _refuse(layer, "has input_dilation != 1", "NIR convolutions have none")
    strides = _ints(module.strides, nd)
    dil = _ints(module.kernel_dilation, nd)
    spatial = chain.jshape[:nd]
    eff = tuple(d * (n - 1) + 1 for d, n in zip(dil, k.shape[:nd], strict=True))
    pads = _pads(layer, module.padding, spatial, eff, strides)
    w = np.transpose(k, (nd + 1, nd, *range(nd)))  # HWIO -> OIHW
    if groups > 1:
        # nir's type inference reads Cin from the weight alone, so a grouped file would be
        # rejected on reading: write the equivalent dense, block-diagonal weight
        dense = np.zeros((cout, cin, *w.shape[2:]))
        co, ci = cout // groups, cin // groups
        for g in range(groups):
            dense[g * co : (g + 1) * co, g * ci : (g + 1) * ci] = w[g * co : (g + 1) * co]
        w, groups = dense, 1
    b = np.zeros(cout) if bias is None else _np(bias)
    one = nd == 1
    node = (nir.Conv1d if one else nir.Conv2d)(
        input_shape=spatial[0] if one else spatial,
        weight=w,
        stride=strides[0] if one else strides,
        padding=pads[0] if one else pads,
        dilation=dil[0] if one else dil,
        groups=groups,
        bias=b,
    )
    chain.add("conv", node, (*_out(spatial, eff, strides, pads), cout), channels_first=True)


def _pool_spec(layer: Any) -> tuple[str, tuple[int, ...], Any, Any, bool] | None:
    """``(kind, window, strides, padding, count_include_pad)`` of a recognised pooling."""
    from flax import linen as nn

    from jaxspike.nnx.convert import SumPool

    if isinstance(layer, SumPool):
        window = tuple(layer.window_shape)
        return "SumPool2d", window, layer.strides or window, layer.padding, True
    if isinstance(layer, functools.partial) and layer.func is nn.avg_pool and not layer.args:
        try:
            bound = inspect.signature(nn.avg_pool).bind(None, **layer.keywords)
        except TypeError:
            return None
        bound.apply_defaults()
        a = bound.arguments
        window = tuple(a["window_shape"])
        return "AvgPool2d", window, a["strides"] or window, a["padding"], a["count_include_pad"]
    return None


def _pool(nir: Any, layer: str, spec: tuple, chain: _Chain) -> None:
    kind, window, strides, padding, count_pad = spec
    if len(window) != 2 or len(chain.jshape) != 3:
        raise _refuse(
            layer,
            f"pools {len(window)}-d windows over a sample of shape {chain.jshape}",
            "NIR has only 2-d pooling of (H, W, C) maps",
        )
    if not chain.channels_last():  # pragma: no cover - the pre-scan prevents it
        raise _refuse(layer, "receives a flattened tensor", "pool before flattening")
    strides = _ints(strides, 2)
    pads = _pads(layer, padding, chain.jshape[:2], window, strides)
    if kind == "AvgPool2d" and any(pads) and not count_pad:
        raise _refuse(layer, "averages without counting the padding", "use count_include_pad")
    node = getattr(nir, kind)(
        kernel_size=np.asarray(window), stride=np.asarray(strides), padding=np.asarray(pads)
    )
    out = (*_out(chain.jshape[:2], window, strides, pads), chain.jshape[2])
    chain.add(kind.lower()[:-2], node, out, channels_first=True)


def _is_flatten(layer: Any, jshape: tuple[int, ...], lead: int) -> bool:
    """True for :class:`jaxspike.nnx.convert.Flatten` or a function that flattens each sample.

    A function is probed once on ``arange`` (with ``lead`` leading batch axes): it is a
    flatten exactly when it returns the same numbers, in the same order, as one axis.
    """
    from jaxspike._layer.probe import reshape_probe
    from jaxspike.nnx.convert import Flatten

    if isinstance(layer, Flatten):
        return lead == 1
    if not callable(layer) or len(jshape) < 2:
        return False
    lead_shape = (6,) if lead == 1 else (2, 3)
    return reshape_probe(layer, lead_shape + jshape) == (*lead_shape[1:], math.prod(jshape))


def _flatten(nir: Any, chain: _Chain) -> None:
    if len(chain.jshape) <= 1:
        return
    node = nir.Flatten(input_type={"input": np.asarray(chain.shape)}, start_dim=0, end_dim=-1)
    index = chain.index.reshape(-1)
    chain.add("flatten", node, (math.prod(chain.jshape),))
    chain.index = index


def _neuron_layer(
    nir: Any, label: str, model: str, p: Any, options: dict[str, Any], chain: _Chain, **kw: Any
) -> None:
    kind, node = _neuron(nir, label, model, p, options, chain.to_nir, **kw)
    index, jshape = chain.index, chain.jshape
    chain.add(kind, node, jshape)
    chain.index = index  # elementwise: the layout is unchanged


def _kind(layer: Any) -> str:
    """``"conv"``, ``"pool"``, ``"flat"`` (Flatten) or ``"other"`` (layout pre-scan)."""
    from flax import linen as nn
    from flax import nnx

    if isinstance(layer, (nnx.Conv, nn.Conv)):
        return "conv"
    if _pool_spec(layer) is not None:
        return "pool"
    from jaxspike.nnx.convert import Flatten

    return "flat" if isinstance(layer, Flatten) else "other"


def _channels_first(layers: list[Any]) -> bool:
    """Whether the input is an image: a convolution or pooling comes before any Flatten."""
    for layer in layers:
        kind = _kind(layer)
        if kind in ("conv", "pool"):
            return True
        if kind == "flat":
            return False
    return False


def _unsupported(label: str, flax_kind: str) -> ValueError:
    return ValueError(
        f"export_nir: layer {label} is not supported; supported layers are {flax_kind}, "
        "jaxspike neuron layers and cells (IF, LIF, CTLIF, CubaLIF, LI), RecurrentCell around "
        "them, average pooling written as functools.partial(nnx.avg_pool, window_shape=..., "
        "strides=...), jaxspike.nnx.convert.SumPool, and jaxspike.nnx.convert.Flatten() (or a "
        "function that only flattens each sample). A lambda or other function that does "
        "anything else cannot be identified: rewrite it as one of these."
    )


def _nnx_layers(model: Any, input_shape: tuple[int, ...] | None = None) -> list[tuple[str, Any]]:
    from flax import nnx

    from jaxspike.nnx import RNN, NeuronCell, RecurrentCell, Sequential, TimeDistributed

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
    known = (nnx.Linear, nnx.Conv, NeuronCell, RecurrentCell)
    if isinstance(model, nnx.Module) and not isinstance(model, known) and input_shape:
        return _traced_layers(model, input_shape)
    return [("", model)]


def _layer_classes() -> list[type]:
    """Classes whose calls are the layers of a traced model (with their subclasses)."""
    from flax import nnx

    from jaxspike.nnx import RNN, Sequential, TimeDistributed
    from jaxspike.nnx.convert import Flatten, SumPool

    roots: list[type] = [nnx.Linear, nnx.Conv, RNN, Sequential, TimeDistributed, SumPool, Flatten]
    out: list[type] = []
    while roots:
        cls = roots.pop()
        if cls not in out:
            out.append(cls)
            roots += cls.__subclasses__()
    return [c for c in out if "__call__" in vars(c)]


def _traced_layers(model: Any, input_shape: tuple[int, ...]) -> list[tuple[str, Any]]:
    """The supported layers a user's ``nnx.Module`` calls, in order, found by running it.

    The model runs once on a zero probe ``[1, 2, *input_shape]`` while the ``__call__`` of
    every supported layer class records (layer, input, output) at the outermost level.
    The model is exported when those calls form a chain: each layer consumes exactly the
    previous layer's output and the model returns the last one.
    """
    import jax.numpy as jnp

    calls: list[tuple[Any, Any, Any]] = []
    depth = [0]
    saved = {cls: vars(cls)["__call__"] for cls in _layer_classes()}

    def wrap(fn: Any) -> Any:
        @functools.wraps(fn)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            try:
                out = fn(self, *args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                calls.append((self, args[0] if args else None, out))
            return out

        return call

    probe = jnp.zeros((1, 2, *input_shape), jnp.float32)
    try:
        for cls, fn in saved.items():
            cls.__call__ = wrap(fn)  # type: ignore[method-assign]
        result = model(probe)
    finally:
        for cls, fn in saved.items():
            cls.__call__ = fn  # type: ignore[method-assign]
    names = {id(v): k for k, v in vars(model).items()}
    label = type(model).__name__
    if not calls:
        raise _unsupported(f"model ({label})", "nnx.Linear, nnx.Conv, jaxspike layers")
    previous, where = probe, "its input"
    out: list[tuple[str, Any]] = []
    for layer, x, y in calls:
        name = names.get(id(layer), type(layer).__name__)
        if x is not previous:
            raise ValueError(
                f"export_nir: {label} computes something between {where} and its layer "
                f"{name!r} ({type(layer).__name__}) that is not a supported layer, or does "
                "not feed one layer's output straight into the next; export needs a chain of "
                "supported layers (write a reshape as jaxspike.nnx.convert.Flatten() and "
                "pooling as jaxspike.nnx.convert.SumPool or functools.partial(nnx.avg_pool, "
                "...) inside a jaxspike.nnx.Sequential)."
            )
        out += [(f"{name}" + ("" if n == "" else "." + n), m) for n, m in _nnx_layers(layer)]
        previous, where = y, f"layer {name!r}"
    if result is not previous:
        raise ValueError(
            f"export_nir: {label} does not return the output of its last layer {where}; "
            "export needs a chain of supported layers."
        )
    return out


def _describe(layer: Any) -> str:
    if isinstance(layer, functools.partial):
        return f"functools.partial({_describe(layer.func)})"
    name = getattr(layer, "__name__", None)
    return f"function {name}" if name and not hasattr(layer, "__self__") else type(layer).__name__


def _export_nnx(
    nir: Any, model: Any, input_shape: tuple[int, ...], *, dt: float, method: str, approximate: bool
) -> _Chain:
    from flax import nnx

    from jaxspike.nnx import NeuronCell, RecurrentCell

    layers = _nnx_layers(model, input_shape)
    chain = _Chain(nir, input_shape, _channels_first([layer for _, layer in layers]))
    kw: dict[str, Any] = {"dt": dt, "method": method, "approximate": approximate}
    for where, layer in layers:
        label = f"{where or 'model'} ({_describe(layer)})"
        if isinstance(layer, nnx.Linear):
            bias = None if layer.bias is None else layer.bias[...]
            _linear(nir, label, layer.kernel[...], bias, chain)
        elif isinstance(layer, nnx.Conv):
            bias = None if layer.bias is None else layer.bias[...]
            _conv(nir, label, layer, layer.kernel[...], bias, chain)
        elif isinstance(layer, NeuronCell):
            p, opts = layer.neuron_params(), dict(layer.options)
            _neuron_layer(nir, label, layer.model, p, opts, chain, **kw)
        elif isinstance(layer, RecurrentCell) and isinstance(layer.cell, NeuronCell):
            cell = layer.cell
            p, opts = cell.neuron_params(), dict(cell.options)
            kind, node = _neuron(nir, label, cell.model, p, opts, chain.to_nir, **kw)
            w = _np(layer.kernel[...])
            if not layer.self_connections:
                w = w * (1.0 - np.eye(w.shape[0]))
            if chain.index.ndim != 1:
                raise _refuse(label, f"receives shape {chain.jshape}", "flatten its input first")
            w = w[np.ix_(chain.index, chain.index)]
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
            index = chain.index
            chain.add("rnn", sub, chain.jshape)
            chain.index = index
        elif (spec := _pool_spec(layer)) is not None:
            _pool(nir, label, spec, chain)
        elif not isinstance(layer, nnx.Module) and _is_flatten(layer, chain.jshape, 1):
            _flatten(nir, chain)
        elif "max_pool" in getattr(getattr(layer, "func", layer), "__name__", ""):
            raise _refuse(
                label,
                "is max pooling",
                "NIR has SumPool2d and AvgPool2d only; use "
                "jaxspike.nnx.convert.SumPool(window, strides) (of spikes: a count, exact "
                "when at most one input spikes per window) or functools.partial(nnx.avg_pool, "
                "window_shape=..., strides=...), and retrain",
            )
        else:
            raise _unsupported(label, "nnx.Linear, nnx.Conv")
    return chain


def _export_linen(
    nir: Any,
    model: Any,
    variables: Any,
    input_shape: tuple[int, ...],
    *,
    dt: float,
    method: str,
    approximate: bool,
) -> _Chain:
    from flax import linen as nn

    from jaxspike._layer import spec as _specs
    from jaxspike.linen import NeuronCell, TimeDistributed

    params = variables.get("params", {}) if variables is not None else {}
    layers = list(model.layers) if isinstance(model, nn.Sequential) else [model]
    bare = [layer.layer if isinstance(layer, TimeDistributed) else layer for layer in layers]
    chain = _Chain(nir, input_shape, _channels_first(bare))
    kw: dict[str, Any] = {"dt": dt, "method": method, "approximate": approximate}
    for i, layer in enumerate(layers):
        p = params.get(f"layers_{i}", {}) if isinstance(model, nn.Sequential) else params
        lead = 2
        if isinstance(layer, TimeDistributed):
            layer, p, lead = layer.layer, p.get("layer", {}), 1
        label = f"layers[{i}] ({_describe(layer)})"
        if isinstance(layer, nn.Dense):
            _linear(nir, label, p["kernel"], p.get("bias"), chain)
        elif isinstance(layer, nn.Conv):
            _conv(nir, label, layer, p["kernel"], p.get("bias"), chain)
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
            _neuron_layer(nir, label, layer.model, fp, options, chain, **kw)
        elif (spec := _pool_spec(layer)) is not None:
            _pool(nir, label, spec, chain)
        elif not isinstance(layer, nn.Module) and _is_flatten(layer, chain.jshape, lead):
            _flatten(nir, chain)
        else:
            raise _unsupported(label, "nn.Dense, nn.Conv (in an nn.Sequential)")
    return chain


def _export_imported(nir: Any, module: Any, *, dt: float, approximate: bool) -> Any:
    """Write an imported :class:`NIRModule` back (flat graph, same semantics)."""
    program = module.program
    conv = program.convention.name
    for name, opts in module.apply_fn.options.items():
        # NIR's rule: integrate, test, reset in the same step, one spike, output now
        timing = (opts.get("reset_at", "same_step"), opts.get("emit", "now"))
        if timing != ("same_step", "now") or opts.get("multi_spike", False):
            raise ValueError(
                f"export_nir: node {name!r} was imported with convention={conv!r}, whose "
                f"timing rules ({dict(opts)}) NIR cannot express; export models imported "
                "with 'nir', 'jaxspike' or a preset that resets in the same step (e.g. "
                "'snntorch-zero-nodelay')."
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
    options = module.apply_fn.options.get(label.split("'")[1], {})
    rule = options.get("reset", "zero")
    meta = _reset(label, rule, approximate) if kind in ("IF", "LIF", "CubaLIF") else {}
    a, b, c = p["a_mem"], p["b_mem"], p["c_mem"]
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
        a_s = p["a_syn"]
        fields["tau_syn"] = -dt / np.log(a_s) if method == "exact" else dt / (1.0 - a_s)
        fields["w_in"] = p["b_syn"] / (1.0 - a_s)
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
        model: a :class:`jaxspike.nnx.Sequential`, one layer or cell, or any
            ``nnx.Module`` whose ``__call__`` chains supported layers (found by tracing
            the model on a probe input), of supported
            layers (``nnx.Linear``, ``nnx.Conv``, average pooling as
            ``functools.partial(nnx.avg_pool, ...)``, :class:`jaxspike.nnx.convert.SumPool`,
            :class:`jaxspike.nnx.convert.Flatten`, jaxspike neurons), a
            ``flax.linen.Sequential`` of the Linen equivalents (with ``variables``), or a
            model returned by :func:`jaxspike.nir.import_nir` (convention ``"nir"`` or
            ``"jaxspike"``). See ``docs/guides/nir.md`` for the table.
        dt: the time step the file is written for (the importer must use the same).
        input_shape: per-sample input shape (no batch, no time), channels last as
            jaxspike runs it, e.g. ``(784,)`` or ``(28, 28, 1)`` (written as
            ``(1, 28, 28)`` when a convolution or pooling reads it). Not needed for an
            imported model.
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
    dt = positive_dt("export_nir", dt)
    if method not in ("euler", "exact"):
        raise ValueError(f"export_nir: method must be 'euler' or 'exact', got {method!r}.")
    if hasattr(model, "apply_fn") and hasattr(model, "program"):
        return _export_imported(nir, model, dt=dt, approximate=approximate)
    if input_shape is None:
        raise ValueError("export_nir: input_shape is required, e.g. input_shape=(784,).")
    shape = tuple(int(n) for n in input_shape)
    kw: dict[str, Any] = {"dt": dt, "method": method, "approximate": approximate}
    if "linen" in type(model).__module__:
        chain = _export_linen(nir, model, variables, shape, **kw)
    else:
        chain = _export_nnx(nir, model, shape, **kw)
    graph = chain.graph()
    if approximate and "linen" not in type(model).__module__:
        _warn_approximation(model, graph, shape, dt=dt, method=method)
    return graph


def _warn_approximation(model: Any, graph: Any, shape: tuple[int, ...], **kw: Any) -> None:
    """Warn with the measured output difference of the file read as NIR says."""
    approximated = [
        n
        for n, node in graph.nodes.items()
        if "jaxspike.reset" in (getattr(node, "metadata", None) or {})
    ]
    if not approximated:
        return
    import warnings

    import jax
    import jax.numpy as jnp

    from jaxspike.nir._import import import_nir_fn

    probe = jax.random.uniform(jax.random.key(0), (4, 50, *shape), jnp.float32, 0.0, 2.0)
    ours = np.asarray(model(probe), np.float64)
    apply_fn, params = import_nir_fn(graph, convention="nir", reset="zero", **kw)
    other = np.asarray(apply_fn(params, probe), np.float64)
    diff = float(np.max(np.abs(ours - other))) if ours.shape == other.shape else float("nan")
    warnings.warn(
        f"export_nir: approximate=True wrote reset-to-v_reset for {approximated}; a tool that "
        f"reads the file as NIR defines it (e.g. snnTorch's importer) gives outputs that "
        f"differ from this model by up to {diff:.3g} (max |difference| on a uniform [0, 2) "
        f"probe of shape {(4, 50, *shape)}). jaxspike's import_nir restores the exact model "
        "from the node metadata.",
        UserWarning,
        stacklevel=3,
    )
