r"""ANN-to-SNN conversion: run a trained Flax ReLU network as integrate-and-fire neurons.

An integrate-and-fire (IF) neuron with subtractive reset, threshold :math:`\theta` and a
constant input :math:`b` per step fires, from rest, :math:`N_T = \min(T, \lfloor T b /
\theta \rfloor)` times in :math:`T` steps (``b >= 0``; none for ``b < 0``), so its rate
:math:`N_T / T` is :math:`\operatorname{clip}(b / \theta, 0, 1)` to within :math:`1/T`:
a ReLU clipped at the threshold (Cao et al. 2015; Diehl et al. 2015). :func:`convert`
turns every ReLU of a trained network into a layer of such neurons, with
:math:`\theta = 1`, and rescales the weights so that no neuron needs to fire faster than
once per step (data-based normalization, Diehl et al. 2015; Rueckauer et al. 2017).
With :math:`\lambda_l` the ``percentile``-th percentile of the positive ReLU outputs of
layer :math:`l` on calibration data (:math:`\lambda_0 = 1` for the input):

.. math::
   \tilde W_l = W_l\,\frac{\lambda_{l-1}}{\lambda_l}, \qquad
   \tilde b_l = \frac{b_l}{\lambda_l},

and the bias is a constant input current added at every step. The spike rate of a
neuron of layer :math:`l` then estimates :math:`a_l / \lambda_l`, its ANN activation in
units of :math:`\lambda_l`; :meth:`SpikingModel.spike_rates` returns it multiplied back
by :math:`\lambda_l`. The layer after the last ReLU is the readout:
``readout="membrane"`` (default) integrates its input current without threshold
(:class:`jaxspike.nnx.LI` with ``decay=1``, :math:`\lambda_L = 1`), so the membrane
divided by the number of steps estimates the ANN's logits; ``readout="spikes"`` uses IF
neurons there as well and estimates :math:`\operatorname{ReLU}` of the logits from
spike counts.

What converts (anything else raises ``ValueError`` naming the layer): a
:class:`flax.nnx.Sequential` (or a list of layers, or a Linen ``nn.Sequential`` with its
variables) of ``Linear``/``Dense`` and ``Conv``; ``BatchNorm`` directly after one of
them (folded into it with its running statistics); ReLU (``nnx.relu``,
``jax.nn.relu``); average pooling (``functools.partial(nnx.avg_pool, ...)``),
:class:`SumPool`; :class:`Flatten` or any function that only reshapes each sample;
``Dropout`` (the identity at inference). Max pooling raises unless ``max_pool="avg"``
replaces it by average pooling, which changes the network (check its accuracy).

References:
    Y. Cao, Y. Chen, D. Khosla. Spiking deep convolutional neural networks for
    energy-efficient object recognition. IJCV 113, 2015.
    P. U. Diehl, D. Neil, J. Binas, M. Cook, S.-C. Liu, M. Pfeiffer. Fast-classifying,
    high-accuracy spiking deep networks through weight and threshold balancing.
    IJCNN 2015.
    B. Rueckauer, I.-A. Lungu, Y. Hu, M. Pfeiffer, S.-C. Liu. Conversion of
    continuous-valued deep networks to efficient event-driven networks for image
    classification. Frontiers in Neuroscience 11, 2017.
    T. Bu, W. Fang, J. Ding, P. Dai, Z. Yu, T. Huang. Optimal ANN-SNN conversion for
    high-accuracy and ultra-low-latency spiking neural networks. ICLR 2022.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Literal, cast

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import nnx

from jaxspike import encoding
from jaxspike._layer.probe import reshape_probe
from jaxspike.nnx import LI, RNN, IFCell, Sequential

__all__ = ["Flatten", "SumPool", "SpikingModel", "activations", "convert", "prepare"]


@dataclasses.dataclass(frozen=True)
class Flatten:
    """Flatten every sample: ``[N, ...] -> [N, F]`` (a layer the converter recognises).

    Example:
        >>> import jax.numpy as jnp
        >>> Flatten()(jnp.ones((2, 4, 4, 3))).shape
        (2, 48)
    """

    def __call__(self, x: jax.Array) -> jax.Array:
        """Reshape ``x`` to ``(x.shape[0], -1)``."""
        return x.reshape(x.shape[0], -1)


@dataclasses.dataclass(frozen=True)
class SumPool:
    """Sum pooling over ``window_shape`` on ``[N, *spatial, C]`` (linear, so it converts).

    Attributes:
        window_shape: pooling window, one entry per spatial axis.
        strides: steps between windows (default: ``window_shape``).
        padding: ``"VALID"``, ``"SAME"`` or explicit pairs, as :func:`flax.linen.pool`.

    Example:
        >>> import jax.numpy as jnp
        >>> SumPool((2, 2))(jnp.ones((1, 4, 4, 1)))[0, :, :, 0].tolist()
        [[4.0, 4.0], [4.0, 4.0]]
    """

    window_shape: tuple[int, ...]
    strides: tuple[int, ...] | None = None
    padding: Any = "VALID"

    def __call__(self, x: jax.Array) -> jax.Array:
        """Sum of every window."""
        strides = self.window_shape if self.strides is None else self.strides
        return nn.pool(x, 0.0, jax.lax.add, self.window_shape, strides, self.padding)


@dataclasses.dataclass(frozen=True)
class _Reshape:
    """Reshape every sample to ``shape`` (what a reshaping function becomes)."""

    shape: tuple[int, ...]

    def __call__(self, x: jax.Array) -> jax.Array:
        return x.reshape(x.shape[0], *self.shape)


@dataclasses.dataclass(frozen=True)
class _Scale:
    """Multiply by a constant (rescales a segment that has no weights)."""

    factor: float

    def __call__(self, x: jax.Array) -> jax.Array:
        return x * jnp.asarray(self.factor, x.dtype)


class _ResidualIFCell(IFCell):
    """IF cell (threshold 1, subtractive reset) whose membrane starts at ``v_init``."""

    def __init__(self, num_features: int, *, v_init: float):
        super().__init__(num_features, v_th=1.0, reset="subtract")
        self.v_init = v_init

    def initialize_carry(
        self, input_shape: tuple[int, ...], rngs: Any = None, carry_init: Any = None
    ) -> Any:
        """The resting state with the membrane at ``v_init``."""
        state = super().initialize_carry(input_shape, rngs, carry_init)
        return state._replace(v=jnp.full_like(state.v, self.v_init))


# -- the plan: a flat list of supported operations ------------------------------------------


@dataclasses.dataclass
class _Affine:
    """A Linear or Conv layer as arrays (bias always present, batch norm folded in)."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray
    conv: dict[str, Any] | None = None  # None: dense

    def module(self, kernel: np.ndarray | None = None, bias: np.ndarray | None = None) -> Any:
        k = self.kernel if kernel is None else kernel
        b = self.bias if bias is None else bias
        inits: dict[str, Any] = dict(
            kernel_init=lambda *_: jnp.asarray(k, jnp.float32),
            bias_init=lambda *_: jnp.asarray(b, jnp.float32),
            rngs=nnx.Rngs(0),
        )
        if self.conv is None:
            return nnx.Linear(k.shape[0], k.shape[1], **inits)
        groups = self.conv["feature_group_count"]
        return nnx.Conv(k.shape[-2] * groups, k.shape[-1], k.shape[:-2], **self.conv, **inits)


@dataclasses.dataclass
class _Linear:
    """A stateless, homogeneous linear map (pooling, reshape)."""

    name: str
    fn: Callable[[jax.Array], jax.Array]


@dataclasses.dataclass
class _ReLU:
    name: str


_Op = _Affine | _Linear | _ReLU

_ACTIVATIONS = {
    jax.nn.gelu: "gelu",
    jax.nn.sigmoid: "sigmoid",
    jax.nn.silu: "silu",
    jax.nn.elu: "elu",
    jax.nn.celu: "celu",
    jax.nn.selu: "selu",
    jax.nn.leaky_relu: "leaky_relu",
    jax.nn.relu6: "relu6",
    jax.nn.softplus: "softplus",
    jax.nn.soft_sign: "soft_sign",
    jax.nn.log_sigmoid: "log_sigmoid",
    jax.nn.hard_tanh: "hard_tanh",
    jax.nn.hard_sigmoid: "hard_sigmoid",
    jax.nn.hard_silu: "hard_silu",
    jax.nn.glu: "glu",
    jax.nn.softmax: "softmax",
    jax.nn.log_softmax: "log_softmax",
    jnp.tanh: "tanh",
}


def _describe(layer: Any) -> str:
    """A short human name of a layer for error messages."""
    if isinstance(layer, functools.partial):
        return f"functools.partial({_describe(layer.func)})"
    if layer is jax.nn.relu:
        return "relu"
    if isinstance(layer, (nnx.Module, nn.Module)):
        kind = "nnx" if isinstance(layer, nnx.Module) else "linen"
        return f"{kind}.{type(layer).__name__}"
    name = getattr(layer, "__name__", None)
    return f"function {name}" if name else type(layer).__name__


def _layers(fn: str, model: Any, variables: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Flatten a model into ``(name, layer, linen_variables_or_None)``."""
    if isinstance(model, nnx.Sequential):
        items, linen = list(model.layers), False
    elif isinstance(model, (list, tuple)):
        items, linen = list(model), False
    elif isinstance(model, nn.Sequential):
        if variables is None:
            raise ValueError(
                f"{fn}: a Linen model needs its variables; pass variables=model.init(...) "
                "(or the trained {'params': ..., 'batch_stats': ...})."
            )
        items, linen = list(model.layers), True
    else:
        raise TypeError(
            f"{fn}: model must be an nnx.Sequential, a list of layers, or a linen "
            f"nn.Sequential with variables=, got {type(model).__name__}; write the network "
            "as a sequence so it can be converted layer by layer."
        )
    out = []
    for i, layer in enumerate(items):
        name = f"layer {prefix}{i} ({_describe(layer)})"
        sub = None
        if linen and isinstance(layer, nn.Module):
            key = layer.name or f"layers_{i}"
            sub = {col: tree[key] for col, tree in variables.items() if key in tree}
        if isinstance(layer, (nnx.Sequential, nn.Sequential)):
            out += _layers(fn, layer, sub, f"{prefix}{i}.")
        else:
            out.append((name, layer, sub))
    return out


def _conv_options(layer: Any) -> dict[str, Any]:
    return dict(
        strides=layer.strides,
        padding=layer.padding,
        input_dilation=layer.input_dilation,
        kernel_dilation=layer.kernel_dilation,
        feature_group_count=layer.feature_group_count,
    )


def _affine(name: str, layer: Any, sub: Any) -> _Affine | None:
    """The arrays of a Linear/Dense/Conv layer, or ``None`` for another layer."""
    if isinstance(layer, (nnx.Linear, nnx.Conv)):
        kernel = np.asarray(layer.kernel[...], np.float32)
        bias: Any = None if layer.bias is None else layer.bias[...]
        mask = getattr(layer, "mask", None)
    elif isinstance(layer, (nn.Dense, nn.Conv)):
        kernel = np.asarray(sub["params"]["kernel"], np.float32)
        bias = sub["params"].get("bias")
        mask = getattr(layer, "mask", None)
    else:
        return None
    if mask is not None:
        kernel = kernel * np.asarray(mask, np.float32)
    bias = np.zeros(kernel.shape[-1], np.float32) if bias is None else np.asarray(bias, np.float32)
    conv = _conv_options(layer) if isinstance(layer, (nnx.Conv, nn.Conv)) else None
    return _Affine(name, kernel, bias, conv)


def _fold(fn: str, name: str, layer: Any, sub: Any, plan: list[_Op]) -> None:
    """Fold a batch norm into the Linear/Conv just before it (running statistics)."""
    if layer.axis not in (-1,):
        raise ValueError(
            f"{fn}: {name} normalizes axis {layer.axis}; only the last (feature) axis can be "
            "folded into the preceding layer."
        )
    if not plan or not isinstance(plan[-1], _Affine):
        raise ValueError(
            f"{fn}: {name} must directly follow a Linear/Dense or Conv layer so that it can "
            "be folded into that layer's weights; move it before the activation."
        )
    if isinstance(layer, nnx.BatchNorm):
        mean: Any
        var: Any
        mean, var = layer.mean[...], layer.var[...]
        scale: Any = None if layer.scale is None else layer.scale[...]
        shift: Any = None if layer.bias is None else layer.bias[...]
    else:
        mean, var = sub["batch_stats"]["mean"], sub["batch_stats"]["var"]
        scale = sub["params"].get("scale") if layer.use_scale else None
        shift = sub["params"].get("bias") if layer.use_bias else None
    mean, var = np.asarray(mean, np.float64), np.asarray(var, np.float64)
    gain = 1.0 / np.sqrt(var + layer.epsilon)
    if scale is not None:
        gain = gain * np.asarray(scale, np.float64)
    shift = 0.0 if shift is None else np.asarray(shift, np.float64)
    prev = plan[-1]
    prev.kernel = (prev.kernel.astype(np.float64) * gain).astype(np.float32)
    prev.bias = ((prev.bias - mean) * gain + shift).astype(np.float32)
    prev.name = f"{prev.name} + {name}"


def _parse(
    fn: str, model: Any, variables: Any, sample_shape: tuple[int, ...], max_pool: str
) -> list[_Op]:
    """The flat plan of a model; raises for anything that does not convert."""
    if max_pool not in ("error", "avg"):
        raise ValueError(f"{fn}: max_pool must be 'error' or 'avg', got {max_pool!r}.")
    plan: list[_Op] = []
    shape = (2, *sample_shape[1:])
    for name, layer, sub in _layers(fn, model, variables):
        op: _Op | None = _affine(name, layer, sub)
        if isinstance(layer, (nnx.BatchNorm, nn.BatchNorm)):
            _fold(fn, name, layer, sub, plan)
            continue
        if isinstance(layer, (nnx.Dropout, nn.Dropout)):
            continue
        if op is None:
            op = _simple(fn, name, layer, shape, max_pool)
        plan.append(op)
        if not isinstance(op, _ReLU):
            apply = op.module() if isinstance(op, _Affine) else op.fn
            shape = jax.eval_shape(apply, jax.ShapeDtypeStruct(shape, jnp.float32)).shape
    return plan


def _simple(fn: str, name: str, layer: Any, shape: tuple[int, ...], max_pool: str) -> _Op:
    """A ReLU or a stateless linear layer; raises for everything else."""
    base = layer.func if isinstance(layer, functools.partial) else layer
    if layer is jax.nn.relu:
        return _ReLU(name)
    if base is nn.avg_pool or isinstance(layer, (SumPool, Flatten, _Reshape, _Scale)):
        return _Linear(name, layer)
    if base is nn.max_pool:
        if max_pool == "avg" and isinstance(layer, functools.partial):
            return _Linear(name, functools.partial(nn.avg_pool, *layer.args, **layer.keywords))
        raise ValueError(
            f"{fn}: {name}: max pooling has no exact integrate-and-fire equivalent; retrain "
            "with nnx.avg_pool, or pass max_pool='avg' to replace it by average pooling "
            "(this changes the network: check the accuracy of jaxspike.nnx.convert.prepare)."
        )
    if base in _ACTIVATIONS:
        raise ValueError(
            f"{fn}: {name}: the activation {_ACTIVATIONS[base]} cannot be converted; only "
            "ReLU (nnx.relu / jax.nn.relu) maps to integrate-and-fire rates (drop a final "
            "softmax: it does not change the argmax)."
        )
    if not isinstance(layer, (nnx.Module, nn.Module)) and callable(layer):
        target = reshape_probe(layer, shape)
        if target is not None:
            return _Linear(name, _Reshape(target))
    raise ValueError(
        f"{fn}: {name} is not supported; a convertible model holds only Linear/Dense, Conv, "
        "BatchNorm (after Linear/Conv), ReLU, average or sum pooling (SumPool), Dropout "
        "and reshapes (Flatten)."
    )


def _run_plan(plan: list[_Op], x: jax.Array) -> tuple[jax.Array, list[jax.Array]]:
    """The ANN: ``(output, [output of every ReLU])``."""
    acts = []
    for op in plan:
        if isinstance(op, _ReLU):
            x = jax.nn.relu(x)
            acts.append(x)
        else:
            x = (op.module() if isinstance(op, _Affine) else op.fn)(x)
    return x, acts


def _plan_layers(plan: list[_Op]) -> list[Any]:
    return [
        op.module() if isinstance(op, _Affine) else jax.nn.relu if isinstance(op, _ReLU) else op.fn
        for op in plan
    ]


def prepare(model: Any, x: Any, *, variables: Any = None, max_pool: str = "error") -> Any:
    """The ANN that :func:`convert` converts, as an :class:`flax.nnx.Sequential`.

    Batch norms are folded into the preceding Linear/Conv with their running statistics,
    dropout is removed, reshaping functions become fixed reshapes and, with
    ``max_pool="avg"``, max pools become average pools. In inference mode its output
    equals the model's (up to float rounding), except for replaced max pools.

    Args:
        model: an ``nnx.Sequential``, a list of layers, or a Linen ``nn.Sequential``.
        x: an input batch ``[B, ...]`` (its shape is used to recognise reshapes).
        variables: the Linen model's variables (``params`` and ``batch_stats``).
        max_pool: ``"error"`` (default) or ``"avg"`` (replace max pooling).

    Returns:
        An ``nnx.Sequential`` of ``nnx.Linear``/``nnx.Conv``, ``jax.nn.relu``, pooling
        and reshapes.

    Raises:
        ValueError: naming the first layer that cannot be converted.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> rngs = nnx.Rngs(0)
        >>> bn = nnx.BatchNorm(4, use_running_average=True, rngs=rngs)
        >>> model = nnx.Sequential(nnx.Linear(3, 4, rngs=rngs), bn, nnx.relu)
        >>> ann = prepare(model, jnp.ones((2, 3)))
        >>> len(ann.layers), bool(jnp.allclose(ann(jnp.ones((2, 3))), model(jnp.ones((2, 3)))))
        (2, True)
    """
    x = jnp.asarray(x, jnp.float32)
    return nnx.Sequential(*_plan_layers(_parse("prepare", model, variables, x.shape, max_pool)))


def activations(model: Any, x: Any, *, variables: Any = None, max_pool: str = "error") -> Any:
    """The output of every ReLU of a convertible model, and its final output.

    These are the quantities the spiking network's rates estimate (see
    :meth:`SpikingModel.spike_rates`); :func:`convert` normalizes with them.

    Args:
        model: as :func:`prepare`.
        x: an input batch ``[B, ...]``.
        variables: the Linen model's variables.
        max_pool: as :func:`prepare`.

    Returns:
        ``(relu_outputs, output)``: a list with one array per ReLU, and the last output.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> model = nnx.Sequential(nnx.Linear(3, 4, rngs=nnx.Rngs(0)), nnx.relu)
        >>> acts, out = activations(model, jnp.ones((2, 3)))
        >>> len(acts), out.shape
        (1, (2, 4))
    """
    x = jnp.asarray(x, jnp.float32)
    plan = _parse("activations", model, variables, x.shape, max_pool)
    out, acts = _run_plan(plan, x)
    return acts, out


def _percentile(values: Any, q: float) -> float:
    """The ``q``-th percentile of the positive entries (1 when there are none)."""
    a = np.asarray(values, np.float64).ravel()
    a = a[a > 0]
    return float(np.percentile(a, q)) if a.size else 1.0


class SpikingModel(nnx.Module):
    r"""A converted network: IF neurons (threshold 1, subtractive reset) run for T steps.

    Built by :func:`convert`. ``network`` is a :class:`jaxspike.nnx.Sequential` that maps
    input currents or spikes ``[B, T, ...]`` to the readout ``[B, T, C]`` (membranes of
    ``readout="membrane"``, spikes of ``readout="spikes"``); calling the model encodes the
    input and turns the readout into an estimate of the ANN's output.

    Attributes:
        network: the spiking network.
        scales: :math:`\lambda_l` of every IF layer (ANN activation per unit rate).
        output_scale: :math:`\lambda_L` of the readout (1 for ``"membrane"``).
        coding: ``"constant"`` (the input is a current at every step) or ``"rate"``
            (Bernoulli spikes with probability ``x``; needs ``key``).
        readout: ``"membrane"`` or ``"spikes"``.
    """

    def __init__(
        self,
        network: Sequential,
        *,
        scales: tuple[float, ...],
        output_scale: float,
        coding: str,
        readout: str,
    ):
        self.network = network
        self.scales = scales
        self.output_scale = output_scale
        self.coding = coding
        self.readout = readout

    def _run(self, x: Any, num_steps: int, key: Any) -> tuple[jax.Array, list[jax.Array]]:
        fn = "SpikingModel"
        if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
            raise ValueError(f"{fn}: num_steps must be a Python int >= 1, got {num_steps!r}.")
        if self.coding == "rate" and key is None:
            raise ValueError(
                f"{fn}: coding='rate' draws input spikes; pass key=jax.random.key(...)."
            )
        key = jax.random.key(0) if key is None else key
        # nnx.jit's wrapper type hides _simulate's signature from type checkers.
        return cast(Any, _simulate)(self, jnp.asarray(x, jnp.float32), key, num_steps)

    def __call__(self, x: Any, num_steps: int, *, key: Any = None) -> jax.Array:
        """Run ``num_steps`` steps; the ANN output estimated after each step.

        Args:
            x: an input batch ``[B, ...]``, as the ANN takes it.
            num_steps: number of steps ``T``.
            key: random key for ``coding="rate"``.

        Returns:
            ``[B, T, C]``: entry ``t`` estimates the ANN's output from the first ``t + 1``
            steps (membrane or spike count divided by ``t + 1``, times ``output_scale``),
            so one run gives the estimate for every shorter duration too.
        """
        ys, _ = self._run(x, num_steps, key)
        if self.readout == "spikes":
            ys = jnp.cumsum(ys, axis=1)
        steps = jnp.arange(1, num_steps + 1, dtype=ys.dtype)
        return ys / steps.reshape((1, num_steps) + (1,) * (ys.ndim - 2)) * self.output_scale

    def spike_rates(self, x: Any, num_steps: int, *, key: Any = None) -> list[jax.Array]:
        """Spikes per step of every IF layer times its scale, comparable with the ANN.

        Returns:
            One ``[B, ...]`` array per IF layer (the readout's too with
            ``readout="spikes"``), in the units of :func:`activations`.
        """
        _, spikes = self._run(x, num_steps, key)
        return [s.mean(axis=1) * lam for s, lam in zip(spikes, self.all_scales, strict=True)]

    @property
    def all_scales(self) -> tuple[float, ...]:
        """The scales of every IF layer, the readout's included when it spikes."""
        return self.scales + ((self.output_scale,) if self.readout == "spikes" else ())


@functools.partial(nnx.jit, static_argnums=3)
def _simulate(
    model: SpikingModel, x: jax.Array, key: jax.Array, num_steps: int
) -> tuple[jax.Array, list[jax.Array]]:
    """Encode ``x`` and run the network: ``(readout [B, T, C], [spikes of each IF layer])``."""
    if model.coding == "rate":
        xs = encoding.rate(key, x, num_steps, time_axis=1)
    else:
        xs = encoding.direct(x, num_steps, time_axis=1)
    spikes = []
    for layer in model.network.layers:
        xs = layer(xs)
        if isinstance(layer, RNN) and isinstance(layer.cell, IFCell):
            spikes.append(xs)
    return xs, spikes


def convert(
    model: Any,
    calibration: Any,
    *,
    variables: Any = None,
    percentile: float = 99.9,
    coding: Literal["constant", "rate"] = "constant",
    readout: Literal["membrane", "spikes"] = "membrane",
    v_init: float = 0.0,
    max_pool: str = "error",
) -> SpikingModel:
    r"""Convert a trained ReLU network into integrate-and-fire neurons (see the module).

    Args:
        model: an ``nnx.Sequential``, a list of layers, or a Linen ``nn.Sequential`` (with
            ``variables``) of the layers listed in the module docstring.
        calibration: inputs ``[B, ...]`` whose activations set the scales :math:`\lambda_l`
            (a few hundred training samples are enough).
        variables: the Linen model's variables (``params`` and ``batch_stats``).
        percentile: percentile of the positive activations used as :math:`\lambda_l`
            (100: the maximum, Diehl et al. 2015; 99.9: Rueckauer et al. 2017).
        coding: ``"constant"`` feeds the input as a current at every step; ``"rate"`` feeds
            Bernoulli spikes with probability ``x`` (inputs must lie in ``[0, 1]``).
        readout: ``"membrane"`` (integrate the last layer's current, no threshold) or
            ``"spikes"`` (IF neurons there too; estimates ReLU of the output).
        v_init: initial membrane of every IF neuron, in units of the threshold. ``0.5``
            rounds the rate to the nearest multiple of ``1/T`` instead of flooring it
            (Rueckauer et al. 2017; Bu et al. 2022).
        max_pool: ``"error"`` or ``"avg"`` (replace max pooling by average pooling).

    Returns:
        A :class:`SpikingModel`.

    Raises:
        ValueError: for an unsupported layer (naming it) or a bad argument.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> rngs = nnx.Rngs(0)
        >>> ann = nnx.Sequential(nnx.Linear(4, 8, rngs=rngs), nnx.relu, nnx.Linear(8, 2, rngs=rngs))
        >>> x = jnp.linspace(0.0, 1.0, 12).reshape(3, 4)
        >>> snn = convert(ann, x, percentile=100.0)
        >>> est = snn(x, 200)  # [B, T, 2]: the estimate after 1..200 steps
        >>> est.shape, bool(jnp.abs(est[:, -1] - ann(x)).max() < 0.1)
        ((3, 200, 2), True)
    """
    fn = "convert"
    if coding not in ("constant", "rate"):
        raise ValueError(f"{fn}: coding must be 'constant' or 'rate', got {coding!r}.")
    if readout not in ("membrane", "spikes"):
        raise ValueError(f"{fn}: readout must be 'membrane' or 'spikes', got {readout!r}.")
    if not isinstance(percentile, (int, float)) or not 0.0 < percentile <= 100.0:
        raise ValueError(f"{fn}: percentile must lie in (0, 100], got {percentile!r}.")
    if not isinstance(v_init, (int, float)) or not 0.0 <= v_init < 1.0:
        raise ValueError(
            f"{fn}: v_init must lie in [0, 1) (units of the threshold), got {v_init!r}."
        )
    x = jnp.asarray(calibration, jnp.float32)
    if coding == "rate" and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(
            f"{fn}: coding='rate' needs inputs in [0, 1] (spike probabilities), but the "
            f"calibration data lie in [{float(x.min())}, {float(x.max())}]; rescale the "
            "inputs (and retrain) or use coding='constant'."
        )
    plan = _parse(fn, model, variables, x.shape, max_pool)
    if isinstance(plan[-1], _ReLU) and readout == "membrane":
        raise ValueError(
            f"{fn}: the model ends with a ReLU ({plan[-1].name}), so there is no layer to "
            "read out as a membrane; pass readout='spikes'."
        )
    out, acts = _run_plan(plan, x)
    lambdas = [_percentile(a, percentile) for a in acts]
    has_readout = not isinstance(plan[-1], _ReLU)
    if has_readout:
        lambdas.append(_percentile(out, percentile) if readout == "spikes" else 1.0)

    # Split the plan at the ReLUs: segment k (linear ops) feeds neuron layer k.
    segments: list[list[_Op]] = [[]]
    for op in plan:
        if isinstance(op, _ReLU):
            segments.append([])
        else:
            segments[-1].append(op)
    if not has_readout:
        segments.pop()
    layers: list[Any] = []
    for k, segment in enumerate(segments):
        lam_in = 1.0 if k == 0 else lambdas[k - 1]
        layers += _segment(segment, lam_in, lambdas[k])
        channels = (acts[k] if k < len(acts) else out).shape[-1]
        if k == len(acts) and readout == "membrane":
            layers.append(LI(channels, decay=1.0))
        else:
            layers.append(RNN(_ResidualIFCell(channels, v_init=float(v_init))))
    n_if = len(acts)
    return SpikingModel(
        Sequential(*layers),
        scales=tuple(lambdas[:n_if]),
        output_scale=lambdas[-1],
        coding=coding,
        readout=readout,
    )


def _segment(ops: list[_Op], lam_in: float, lam_out: float) -> list[Any]:
    """The layers of one segment (between two ReLUs) rescaled from ``lam_in`` to ``lam_out``."""
    layers: list[Any] = []
    first = True
    for op in ops:
        if isinstance(op, _Affine):
            gain = lam_in / lam_out if first else 1.0
            layers.append(op.module(op.kernel * np.float32(gain), op.bias / np.float32(lam_out)))
            first = False
        else:
            layers.append(op.fn)  # type: ignore[union-attr]
    if first and lam_in != lam_out:
        layers.append(_Scale(lam_in / lam_out))
    return layers
