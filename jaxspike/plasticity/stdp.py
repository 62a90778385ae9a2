r"""Spike-timing-dependent plasticity (STDP): pure, jit-compatible local learning rules.

Every rule here is a function of the spikes of one time step, the synaptic traces and
the weights, returning the new traces and the new weights. The traces and the weights
are ordinary arrays, so they ride in the carry of :func:`jaxspike.unroll` next to the
neuron state and learning happens online, inside the same scan as the neurons.

**Traces** (Morrison, Diesmann & Gerstner 2008). Time is counted in steps. Each
presynaptic neuron keeps a trace :math:`x` and each postsynaptic neuron a trace
:math:`y`, updated every step, in this order, from the spikes :math:`s^{pre}_t`,
:math:`s^{post}_t`:

.. math::
   x_t &= e^{-1/\tau_+}\,x_{t-1} + s^{pre}_t \\
   y^-_t &= e^{-1/\tau_-}\,y_{t-1} \\
   y_t &= y^-_t + s^{post}_t

(``interaction="all_to_all"``; ``"nearest"`` resets a trace to 1 on a spike instead of
adding 1, so only the nearest spike counts).

**Pair-based STDP** (Bi & Poo 1998; Song, Miller & Abbott 2000). The weight
:math:`w_{ij}` from presynaptic :math:`i` to postsynaptic :math:`j` changes by

.. math::
   \Delta w_{ij} = A_+\,f_+(w_{ij})\,x_{i,t}\,s^{post}_{j,t}
                 - A_-\,f_-(w_{ij})\,s^{pre}_{i,t}\,y^-_{j,t}.

Potentiation reads the presynaptic trace *including* the current presynaptic spike and
depression the postsynaptic trace *before* the current postsynaptic spike, so a single
pair with :math:`\Delta t = t_{post} - t_{pre}` (in steps) gives exactly the STDP window

.. math::
   \Delta w = \begin{cases} A_+ f_+(w)\, e^{-\Delta t/\tau_+} & \Delta t \ge 0 \\
   -A_- f_-(w)\, e^{\Delta t/\tau_-} & \Delta t < 0 \end{cases}

(simultaneous spikes potentiate). The weight dependence follows Gütig et al. (2003),
with :math:`R = w_{max} - w_{min}`:

* ``"additive"`` (Song et al. 2000): :math:`f_+ = f_- = 1`;
* ``"multiplicative"``: :math:`f_+ = ((w_{max} - w)/R)^{\mu}`,
  :math:`f_- = ((w - w_{min})/R)^{\mu}` (:math:`\mu = 1`: the multiplicative rule of
  Rubin, Lee & Sompolinsky 2001; :math:`\mu \to 0`: additive).

``bounds="hard"`` clips :math:`w + \Delta w` to :math:`[w_{min}, w_{max}]`;
``bounds="soft"`` adds :math:`\Delta w` unclipped and relies on the multiplicative
dependence, which with :math:`\mu = 1` keeps :math:`w` inside the bounds as long as
:math:`A_+ x \le 1` and :math:`A_- y \le 1` summed over the batch (true for the usual
small amplitudes: the traces never exceed :math:`1/(1 - e^{-1/\tau})`).

**Batches.** Spikes may carry leading batch axes; the per-sample changes are summed
(``reduce="sum"``, the same as presenting the samples one after another with frozen
weights) or averaged (``reduce="mean"``, a step size independent of the batch size).

**Simplified STDP** of Kheradpisheh et al. (2018), :func:`kheradpisheh_stdp`, and the
**reward-modulated** three-factor rule (Izhikevich 2007; Frémaux & Gerstner 2016),
:func:`rstdp_step`, complete the module.

References:
    Bi, G. & Poo, M. (1998). Synaptic modifications in cultured hippocampal neurons.
    J. Neurosci. 18(24). Song, S., Miller, K. D. & Abbott, L. F. (2000). Competitive
    Hebbian learning through spike-timing-dependent synaptic plasticity. Nat. Neurosci.
    3(9). Morrison, A., Diesmann, M. & Gerstner, W. (2008). Phenomenological models of
    synaptic plasticity based on spike timing. Biol. Cybern. 98(6). Gütig, R. et al.
    (2003). Learning input correlations through nonlinear temporally asymmetric Hebbian
    plasticity. J. Neurosci. 23(9). Kheradpisheh, S. R. et al. (2018). STDP-based
    spiking deep convolutional neural networks for object recognition. Neural Networks
    99. Izhikevich, E. M. (2007). Solving the distal reward problem through linkage of
    STDP and dopamine signaling. Cereb. Cortex 17(10). Frémaux, N. & Gerstner, W.
    (2016). Neuromodulated spike-timing-dependent plasticity, and theory of three-factor
    learning rules. Front. Neural Circuits 9.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxspike._validate import (
    check_choice,
    check_in_range,
    check_not_nan,
    check_positive,
    is_concrete,
)

__all__ = [
    "RSTDPParams",
    "RSTDPState",
    "STDPParams",
    "STDPState",
    "conv_patches",
    "kheradpisheh_stdp",
    "rstdp_init",
    "rstdp_step",
    "stdp_conv_step",
    "stdp_init",
    "stdp_step",
]

WeightDependence = Literal["additive", "multiplicative"]
Bounds = Literal["hard", "soft"]
Reduce = Literal["sum", "mean"]
Padding = str | Sequence[tuple[int, int]]
_DN = ("NHWC", "HWIO", "NHWC")


class STDPParams(NamedTuple):
    r"""Pair-based STDP parameters (scalars, or arrays broadcasting to the weights).

    Attributes:
        a_plus: potentiation amplitude :math:`A_+ \ge 0`.
        a_minus: depression amplitude :math:`A_- \ge 0` (the change is :math:`-A_-`).
        tau_plus: presynaptic trace time constant :math:`\tau_+`, in steps (> 0).
        tau_minus: postsynaptic trace time constant :math:`\tau_-`, in steps (> 0).
        w_min: lower weight bound.
        w_max: upper weight bound (> ``w_min``).
        mu: exponent :math:`\mu \ge 0` of the multiplicative weight dependence.
    """

    a_plus: Any = 0.01
    a_minus: Any = 0.0105
    tau_plus: Any = 20.0
    tau_minus: Any = 20.0
    w_min: Any = 0.0
    w_max: Any = 1.0
    mu: Any = 1.0

    @classmethod
    def create(
        cls,
        a_plus: Any = 0.01,
        a_minus: Any = 0.0105,
        tau_plus: Any = 20.0,
        tau_minus: Any = 20.0,
        w_min: Any = 0.0,
        w_max: Any = 1.0,
        mu: Any = 1.0,
        dtype: Any = jnp.float32,
    ) -> STDPParams:
        """Validated constructor: negative amplitudes, ``tau <= 0``, ``w_max <= w_min`` raise."""
        fn = "STDPParams"
        check_positive(fn, "a_plus", a_plus, allow_zero=True)
        check_positive(fn, "a_minus", a_minus, allow_zero=True)
        check_positive(fn, "tau_plus", tau_plus)
        check_positive(fn, "tau_minus", tau_minus)
        check_not_nan(fn, "w_min", w_min)
        check_not_nan(fn, "w_max", w_max)
        check_positive(fn, "mu", mu, allow_zero=True)
        if is_concrete((w_min, w_max)) and np.any(np.asarray(w_max) <= np.asarray(w_min)):
            raise ValueError(f"{fn}: w_max must be > w_min, got w_min={w_min}, w_max={w_max}.")
        values = (a_plus, a_minus, tau_plus, tau_minus, w_min, w_max, mu)
        return cls(*(jnp.asarray(a, dtype) for a in values))


class STDPState(NamedTuple):
    """Synaptic traces of :func:`stdp_step` and :func:`stdp_conv_step`.

    ``pre`` is :math:`x` (shape of the presynaptic spikes), ``post`` is :math:`y` (shape
    of the postsynaptic spikes).
    """

    pre: jax.Array
    post: jax.Array


def stdp_init(
    params: STDPParams,
    pre_shape: tuple[int, ...],
    post_shape: tuple[int, ...],
    dtype: Any = jnp.float32,
) -> STDPState:
    """Zero traces for presynaptic spikes of ``pre_shape`` and postsynaptic ``post_shape``.

    Shapes include any batch axes: ``(B, N_in)`` and ``(B, N_out)`` for a dense layer,
    ``(B, H, W, C_in)`` and ``(B, H', W', C_out)`` for a convolution.
    """
    del params
    return STDPState(jnp.zeros(pre_shape, dtype), jnp.zeros(post_shape, dtype))


def _decay(tau: Any, dtype: Any) -> jax.Array:
    return jnp.exp(-1.0 / jnp.asarray(tau, dtype))


def _traces(
    fn: str,
    params: STDPParams,
    state: STDPState,
    pre: jax.Array,
    post: jax.Array,
    interaction: str,
) -> tuple[STDPState, jax.Array]:
    """Advance the traces; return the new state and the post trace before its spike."""
    check_choice(fn, "interaction", interaction, ("all_to_all", "nearest"))
    for name, s, like in (("pre_spikes", pre, state.pre), ("post_spikes", post, state.post)):
        if s.shape != like.shape:
            raise ValueError(
                f"{fn}: {name} has shape {s.shape} but its trace has shape {like.shape}; "
                "initialize the state with the spikes' shapes."
            )
        if not jnp.issubdtype(s.dtype, jnp.floating):
            raise TypeError(f"{fn}: {name} must have a floating dtype, got {s.dtype}.")
    dtype = state.pre.dtype
    x = _decay(params.tau_plus, dtype) * state.pre
    y_before = _decay(params.tau_minus, dtype) * state.post
    if interaction == "all_to_all":
        x = x + pre
        y = y_before + post
    else:
        x = jnp.where(pre > 0, pre, x)
        y = jnp.where(post > 0, post, y_before)
    return STDPState(x, y), y_before


def _check_options(fn: str, weight_dependence: str, bounds: str, reduce: str) -> None:
    check_choice(fn, "weight_dependence", weight_dependence, ("additive", "multiplicative"))
    check_choice(fn, "bounds", bounds, ("hard", "soft"))
    check_choice(fn, "reduce", reduce, ("sum", "mean"))
    if bounds == "soft" and weight_dependence == "additive":
        raise ValueError(
            f"{fn}: bounds='soft' needs weight_dependence='multiplicative' (additive "
            "updates do not slow down near a bound); use bounds='hard' to clip."
        )


def _apply(
    params: STDPParams,
    w: jax.Array,
    ltp: jax.Array,
    ltd: jax.Array,
    weight_dependence: str,
    bounds: str,
) -> jax.Array:
    """``w + A+ f+(w) ltp - A- f-(w) ltd``, then the bounds."""
    dtype = w.dtype
    p = {k: jnp.asarray(getattr(params, k), dtype) for k in STDPParams._fields}
    if weight_dependence == "additive":
        dw = p["a_plus"] * ltp - p["a_minus"] * ltd
    else:
        span = p["w_max"] - p["w_min"]
        up = jnp.clip((p["w_max"] - w) / span, 0.0, None) ** p["mu"]
        down = jnp.clip((w - p["w_min"]) / span, 0.0, None) ** p["mu"]
        dw = p["a_plus"] * up * ltp - p["a_minus"] * down * ltd
    w = w + dw
    if bounds == "hard":
        w = jnp.clip(w, p["w_min"], p["w_max"])
    return w


def _n_samples(shape: tuple[int, ...], event_ndim: int) -> int:
    return math.prod(shape[: len(shape) - event_ndim])


def stdp_step(
    params: STDPParams,
    state: STDPState,
    pre_spikes: jax.Array,
    post_spikes: jax.Array,
    w: jax.Array,
    *,
    weight_dependence: WeightDependence = "additive",
    bounds: Bounds = "hard",
    reduce: Reduce = "sum",
    interaction: Literal["all_to_all", "nearest"] = "all_to_all",
) -> tuple[STDPState, jax.Array]:
    r"""One step of pair-based STDP for a dense layer ``y = x @ w`` (equations: module doc).

    With batch axes the pair terms are reduced over the batch ``b``:

    .. math::
       \Delta w = A_+ f_+(w) \odot \sum_b x_{b}\, {s^{post}_{b}}^{\!\top}
                - A_- f_-(w) \odot \sum_b s^{pre}_{b}\, {y^-_{b}}^{\!\top}

    (divided by the number of samples with ``reduce="mean"``).

    Args:
        params: :class:`STDPParams`.
        state: :class:`STDPState` from :func:`stdp_init` with the spikes' shapes.
        pre_spikes: presynaptic spikes of this step, ``[..., N_in]``.
        post_spikes: postsynaptic spikes of this step, ``[..., N_out]`` (same batch axes).
        w: weights ``[N_in, N_out]``.
        weight_dependence: ``"additive"`` or ``"multiplicative"``.
        bounds: ``"hard"`` (clip) or ``"soft"`` (multiplicative only, no clip).
        reduce: ``"sum"`` or ``"mean"`` over the batch axes.
        interaction: ``"all_to_all"`` or ``"nearest"`` trace update.

    Returns:
        ``(state, w)``: the new traces and the new weights.

    Example:
        >>> import jax.numpy as jnp
        >>> p = STDPParams(a_plus=0.1, a_minus=0.1, tau_plus=2.0, tau_minus=2.0)
        >>> st = stdp_init(p, (1,), (1,))
        >>> w = jnp.full((1, 1), 0.5)
        >>> st, w = stdp_step(p, st, jnp.ones(1), jnp.zeros(1), w)  # pre at t=0
        >>> st, w = stdp_step(p, st, jnp.zeros(1), jnp.ones(1), w)  # post at t=1
        >>> round(float(w[0, 0]), 4)  # 0.5 + 0.1 * exp(-1/2)
        0.5607
    """
    fn = "stdp_step"
    _check_options(fn, weight_dependence, bounds, reduce)
    if w.ndim != 2 or pre_spikes.shape[-1:] != w.shape[:1] or post_spikes.shape[-1:] != w.shape[1:]:
        raise ValueError(
            f"{fn}: expected w of shape [N_in, N_out] with pre_spikes [..., N_in] and "
            f"post_spikes [..., N_out]; got w {w.shape}, pre_spikes {pre_spikes.shape}, "
            f"post_spikes {post_spikes.shape}."
        )
    if pre_spikes.shape[:-1] != post_spikes.shape[:-1]:
        raise ValueError(
            f"{fn}: pre_spikes {pre_spikes.shape} and post_spikes {post_spikes.shape} have "
            "different batch axes."
        )
    state, y_before = _traces(fn, params, state, pre_spikes, post_spikes, interaction)
    x2 = state.pre.reshape(-1, w.shape[0])
    ltp = x2.T @ post_spikes.reshape(-1, w.shape[1]).astype(w.dtype)
    ltd = pre_spikes.reshape(-1, w.shape[0]).astype(w.dtype).T @ y_before.reshape(-1, w.shape[1])
    if reduce == "mean":
        n = _n_samples(pre_spikes.shape, 1)
        ltp, ltd = ltp / n, ltd / n
    return state, _apply(
        params, w, ltp.astype(w.dtype), ltd.astype(w.dtype), weight_dependence, bounds
    )


def _check_conv(fn: str, pre: jax.Array, post: jax.Array, w: jax.Array) -> None:
    if w.ndim != 4 or pre.ndim < 3 or post.ndim < 3:
        raise ValueError(
            f"{fn}: expected w [kh, kw, C_in, C_out] (HWIO), pre [..., H, W, C_in] and "
            f"post [..., H', W', C_out]; got w {w.shape}, pre {pre.shape}, post {post.shape}."
        )
    if pre.shape[-1] != w.shape[2] or post.shape[-1] != w.shape[3]:
        raise ValueError(
            f"{fn}: channels disagree: pre has {pre.shape[-1]} and post {post.shape[-1]}, "
            f"w expects C_in={w.shape[2]} and C_out={w.shape[3]}."
        )
    if pre.shape[:-3] != post.shape[:-3]:
        raise ValueError(f"{fn}: pre {pre.shape} and post {post.shape} have different batch axes.")


def conv_patches(
    x: jax.Array,
    kernel_size: tuple[int, int],
    *,
    strides: Sequence[int] = (1, 1),
    padding: Padding = "VALID",
) -> jax.Array:
    """Receptive-field patches of ``x [..., H, W, C]``: ``[..., H', W', kh, kw, C]``.

    The patch at ``(i, j)`` holds the inputs that the convolution
    ``lax.conv_general_dilated(x, w, strides, padding)`` with an HWIO kernel ``w`` of
    ``kernel_size`` weighs into output ``(i, j)``, so ``sum(patch * w[..., c])`` is the
    output of channel ``c``.
    """
    lead = x.shape[:-3]
    x4 = x.reshape((-1, *x.shape[-3:]))
    p = lax.conv_general_dilated_patches(
        x4, tuple(kernel_size), tuple(strides), padding, dimension_numbers=_DN
    )
    kh, kw = kernel_size
    c = x.shape[-1]
    p = p.reshape((*p.shape[:3], c, kh, kw))
    p = jnp.moveaxis(p, 3, -1)
    return p.reshape((*lead, *p.shape[1:]))


def _conv_pairs(
    a: jax.Array, b: jax.Array, w: jax.Array, strides: Sequence[int], padding: Padding
) -> jax.Array:
    """``sum_{batch, i, j} patches(a)[.., i, j, :, :, :] * b[.., i, j, None, None, None, :]``."""
    p = conv_patches(a, (w.shape[0], w.shape[1]), strides=strides, padding=padding)
    if p.shape[:-3] != b.shape[:-1]:
        raise ValueError(
            f"stdp_conv_step: post has spatial shape {b.shape[-3:-1]} but the convolution "
            f"of pre {a.shape} with kernel {w.shape[:2]}, strides {tuple(strides)} and "
            f"padding {padding!r} gives {p.shape[-6:-4]}."
        )
    p = p.reshape((-1, math.prod(w.shape[:3])))
    return (p.T @ b.reshape(-1, w.shape[3]).astype(p.dtype)).reshape(w.shape)


def stdp_conv_step(
    params: STDPParams,
    state: STDPState,
    pre_spikes: jax.Array,
    post_spikes: jax.Array,
    w: jax.Array,
    *,
    strides: Sequence[int] = (1, 1),
    padding: Padding = "VALID",
    weight_dependence: WeightDependence = "additive",
    bounds: Bounds = "hard",
    reduce: Reduce = "sum",
    interaction: Literal["all_to_all", "nearest"] = "all_to_all",
) -> tuple[STDPState, jax.Array]:
    r"""One step of pair-based STDP for a shared-weight convolution (NHWC / HWIO).

    The kernel is shared, so each kernel entry collects the pair terms of every output
    position :math:`(i, j)` whose receptive field contains the synapse (im2col with
    :func:`jax.lax.conv_general_dilated_patches`):

    .. math::
       \Delta w_{\cdot,c} = A_+ f_+(w) \sum_{b,i,j} P(x)_{b,i,j}\, s^{post}_{b,i,j,c}
                 - A_- f_-(w) \sum_{b,i,j} P(s^{pre})_{b,i,j}\, y^-_{b,i,j,c}

    where :math:`P(\cdot)_{b,i,j}` is the ``[kh, kw, C_in]`` patch read by output
    ``(i, j)``. ``reduce="mean"`` divides by the number of samples (not positions).

    Args:
        params: :class:`STDPParams`.
        state: traces from :func:`stdp_init` with shapes ``[..., H, W, C_in]`` and
            ``[..., H', W', C_out]``.
        pre_spikes: input spikes ``[..., H, W, C_in]``.
        post_spikes: output spikes ``[..., H', W', C_out]``.
        w: kernel ``[kh, kw, C_in, C_out]``.
        strides: convolution strides.
        padding: ``"VALID"``, ``"SAME"`` or explicit pairs, as in the forward convolution.
        weight_dependence: ``"additive"`` or ``"multiplicative"``.
        bounds: ``"hard"`` or ``"soft"``.
        reduce: ``"sum"`` or ``"mean"`` over the batch axes.
        interaction: ``"all_to_all"`` or ``"nearest"``.

    Returns:
        ``(state, w)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = STDPParams(a_plus=0.1, a_minus=0.1)
        >>> st = stdp_init(p, (3, 3, 1), (1, 1, 1))
        >>> w = jnp.full((3, 3, 1, 1), 0.5)
        >>> pre = jnp.zeros((3, 3, 1)).at[1, 1, 0].set(1.0)
        >>> st, w = stdp_conv_step(p, st, pre, jnp.ones((1, 1, 1)), w)
        >>> w[:, :, 0, 0].round(4).tolist()
        [[0.5, 0.5, 0.5], [0.5, 0.6, 0.5], [0.5, 0.5, 0.5]]
    """
    fn = "stdp_conv_step"
    _check_options(fn, weight_dependence, bounds, reduce)
    _check_conv(fn, pre_spikes, post_spikes, w)
    state, y_before = _traces(fn, params, state, pre_spikes, post_spikes, interaction)
    ltp = _conv_pairs(state.pre.astype(w.dtype), post_spikes, w, strides, padding)
    ltd = _conv_pairs(pre_spikes.astype(w.dtype), y_before, w, strides, padding)
    if reduce == "mean":
        n = _n_samples(pre_spikes.shape, 3)
        ltp, ltd = ltp / n, ltd / n
    return state, _apply(params, w, ltp, ltd, weight_dependence, bounds)


def kheradpisheh_stdp(
    w: jax.Array,
    pre_fired: jax.Array,
    winners: jax.Array,
    *,
    a_plus: Any = 0.004,
    a_minus: Any = 0.003,
    strides: Sequence[int] = (1, 1),
    padding: Padding = "VALID",
    reduce: Reduce = "sum",
) -> jax.Array:
    r"""Simplified STDP of Kheradpisheh et al. (2018), applied to the winners only.

    For a winner neuron :math:`j` (feature map :math:`k`) that fires at :math:`t_j`, each
    synapse :math:`i` of its receptive field changes by

    .. math::
       \Delta w_{ik} = \begin{cases} +a^+\, w_{ik}(1 - w_{ik}) & t_i \le t_j \\
                                     -a^-\, w_{ik}(1 - w_{ik}) & t_i > t_j
                                     \text{ or } i \text{ never fires} \end{cases}

    (eq. 3 of the paper, which writes :math:`a^- < 0`; here ``a_minus`` is the positive
    magnitude). The time difference plays no role, only the order, and
    :math:`w(1 - w)` keeps :math:`w` in :math:`[0, 1]` (a soft bound) when the summed
    amplitude per step stays :math:`\le 1`. Online, inside a time scan, "fired at or
    before the winner" is the latch ``pre_fired`` (1 once the input has spiked) at the
    step the winner fires, so this function is called at every step with that step's
    winners (e.g. from :func:`jaxspike.plasticity.competition.wta_per_feature_map`, which picks at
    most one per feature map). Kernels of maps without a winner are left unchanged.

    Works for convolutions (``w [kh, kw, C_in, C_out]``, ``pre_fired [..., H, W, C_in]``,
    ``winners [..., H', W', C_out]``) and dense layers (``w [N_in, N_out]``,
    ``pre_fired [..., N_in]``, ``winners [..., N_out]``). Several winners (batch samples
    or positions) add their changes (``reduce="sum"``) or average over samples
    (``reduce="mean"``).

    Args:
        w: weights in ``[0, 1]``.
        pre_fired: 1 where the presynaptic neuron has fired up to this step, else 0.
        winners: 1 at the winner neurons of this step, else 0.
        a_plus: learning rate :math:`a^+ \in [0, 1]` (paper: 0.004).
        a_minus: magnitude :math:`a^- \in [0, 1]` of the depression (paper: 0.003).
        strides: convolution strides (convolutions only).
        padding: convolution padding (convolutions only).
        reduce: ``"sum"`` or ``"mean"`` over batch axes.

    Returns:
        The new weights.

    Example:
        >>> import jax.numpy as jnp
        >>> w = jnp.full((2, 2), 0.5)  # 2 inputs, 2 outputs
        >>> w = kheradpisheh_stdp(w, jnp.array([1.0, 0.0]), jnp.array([1.0, 0.0]),
        ...                       a_plus=0.4, a_minus=0.2)
        >>> w.round(4).tolist()  # map 0 won: +0.4*0.25 where input 0 fired, else -0.2*0.25
        [[0.6, 0.5], [0.45, 0.5]]
    """
    fn = "kheradpisheh_stdp"
    check_choice(fn, "reduce", reduce, ("sum", "mean"))
    check_in_range(fn, "a_plus", a_plus, 0.0, 1.0)
    check_in_range(fn, "a_minus", a_minus, 0.0, 1.0)
    dtype = w.dtype
    if w.ndim == 4:
        _check_conv(fn, pre_fired, winners, w)
        sel = _conv_pairs(pre_fired.astype(dtype), winners.astype(dtype), w, strides, padding)
        n_win = jnp.sum(winners.reshape(-1, w.shape[3]).astype(dtype), axis=0)
        event_ndim = 3
    elif w.ndim == 2:
        if pre_fired.shape[-1:] != w.shape[:1] or winners.shape[-1:] != w.shape[1:]:
            raise ValueError(
                f"{fn}: expected pre_fired [..., {w.shape[0]}] and winners [..., {w.shape[1]}] "
                f"for w {w.shape}; got {pre_fired.shape} and {winners.shape}."
            )
        pf = pre_fired.reshape(-1, w.shape[0]).astype(dtype)
        wn = winners.reshape(-1, w.shape[1]).astype(dtype)
        sel = pf.T @ wn
        n_win = jnp.sum(wn, axis=0)
        event_ndim = 1
    else:
        raise ValueError(f"{fn}: w must be [N_in, N_out] or [kh, kw, C_in, C_out], got {w.shape}.")
    n_win = n_win.reshape((1,) * (w.ndim - 1) + (-1,))
    # sel: number of winners of map k for which input i fired first; the others depress.
    dw = (jnp.asarray(a_plus, dtype) * sel - jnp.asarray(a_minus, dtype) * (n_win - sel)) * (
        w * (1.0 - w)
    )
    if reduce == "mean":
        dw = dw / _n_samples(winners.shape, event_ndim)
    return w + dw


class RSTDPParams(NamedTuple):
    r"""Reward-modulated STDP parameters.

    Attributes:
        stdp: the pair rule (:class:`STDPParams`) whose changes feed the eligibility.
        tau_e: eligibility-trace time constant :math:`\tau_e`, in steps (> 0).
        lr: learning rate :math:`\eta` applied to reward times eligibility.
    """

    stdp: STDPParams = STDPParams()
    tau_e: Any = 200.0
    lr: Any = 1.0


class RSTDPState(NamedTuple):
    """Traces of the pair rule and the eligibility ``[..., N_in, N_out]`` (per sample)."""

    traces: STDPState
    eligibility: jax.Array


def rstdp_init(
    params: RSTDPParams,
    pre_shape: tuple[int, ...],
    post_shape: tuple[int, ...],
    dtype: Any = jnp.float32,
) -> RSTDPState:
    """Zero traces and eligibility for dense spikes ``[..., N_in]`` and ``[..., N_out]``."""
    check_positive("rstdp_init", "tau_e", params.tau_e)
    elig = jnp.zeros((*pre_shape, post_shape[-1]), dtype)
    return RSTDPState(stdp_init(params.stdp, pre_shape, post_shape, dtype), elig)


def rstdp_step(
    params: RSTDPParams,
    state: RSTDPState,
    pre_spikes: jax.Array,
    post_spikes: jax.Array,
    w: jax.Array,
    reward: Any,
    *,
    reduce: Reduce = "sum",
    interaction: Literal["all_to_all", "nearest"] = "all_to_all",
) -> tuple[RSTDPState, jax.Array]:
    r"""One step of reward-modulated STDP (three-factor rule with an eligibility trace).

    The pair rule's change (additive, module doc) is not applied but accumulated in a
    per-synapse, per-sample eligibility trace :math:`e`; a third factor, the reward (or
    neuromodulator) :math:`r_t`, turns it into a weight change (Izhikevich 2007,
    Euler step of :math:`\dot c = -c/\tau_c + \mathrm{STDP}`, :math:`\dot w = c\,d`;
    Frémaux & Gerstner 2016):

    .. math::
       e_{b,t} &= e^{-1/\tau_e}\, e_{b,t-1} + A_+\, x_{b,t} {s^{post}_{b,t}}^{\!\top}
                 - A_-\, s^{pre}_{b,t} {y^-_{b,t}}^{\!\top} \\
       w_t &= \operatorname{clip}\Big(w_{t-1} + \eta \sum_b r_{b,t}\, e_{b,t},\;
              w_{min}, w_{max}\Big)

    (``reduce="mean"`` averages over samples). Pass :math:`r - \bar r` (reward minus a
    baseline) for the unbiased rule of Frémaux & Gerstner.

    Args:
        params: :class:`RSTDPParams`.
        state: :class:`RSTDPState` from :func:`rstdp_init`.
        pre_spikes: ``[..., N_in]``.
        post_spikes: ``[..., N_out]``.
        w: ``[N_in, N_out]``.
        reward: scalar, or one value per sample (the batch shape).
        reduce: ``"sum"`` or ``"mean"`` over the batch axes.
        interaction: trace update, as in :func:`stdp_step`.

    Returns:
        ``(state, w)``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = RSTDPParams(STDPParams(a_plus=0.1, a_minus=0.1, tau_plus=2.0), tau_e=10.0)
        >>> st = rstdp_init(p, (1,), (1,))
        >>> w = jnp.full((1, 1), 0.5)
        >>> st, w = rstdp_step(p, st, jnp.ones(1), jnp.ones(1), w, 0.0)  # no reward yet
        >>> float(w[0, 0]), round(float(st.eligibility[0, 0]), 4)
        (0.5, 0.1)
        >>> st, w = rstdp_step(p, st, jnp.zeros(1), jnp.zeros(1), w, 1.0)  # reward arrives
        >>> round(float(w[0, 0]), 4)  # 0.5 + 0.1 * exp(-1/10)
        0.5905
    """
    fn = "rstdp_step"
    check_choice(fn, "reduce", reduce, ("sum", "mean"))
    sp = params.stdp
    if w.ndim != 2 or state.eligibility.shape[-2:] != w.shape:
        raise ValueError(
            f"{fn}: w {w.shape} must be [N_in, N_out] matching the eligibility "
            f"{state.eligibility.shape[-2:]}."
        )
    traces, y_before = _traces(fn, sp, state.traces, pre_spikes, post_spikes, interaction)
    dtype = w.dtype
    pair = jnp.asarray(sp.a_plus, dtype) * (
        traces.pre[..., :, None] * post_spikes[..., None, :]
    ) - jnp.asarray(sp.a_minus, dtype) * (pre_spikes[..., :, None] * y_before[..., None, :])
    elig = _decay(params.tau_e, dtype) * state.eligibility + pair
    batch = pre_spikes.shape[:-1]
    r = jnp.asarray(reward, dtype)
    if r.shape not in ((), batch):
        raise ValueError(f"{fn}: reward must be a scalar or of shape {batch}, got {r.shape}.")
    r = jnp.broadcast_to(r, batch)
    dw = jnp.sum(r[..., None, None] * elig, axis=tuple(range(len(batch))))
    if reduce == "mean":
        dw = dw / max(math.prod(batch), 1)
    w = jnp.clip(w + jnp.asarray(params.lr, dtype) * dw, sp.w_min, sp.w_max)
    return RSTDPState(traces, elig), w
