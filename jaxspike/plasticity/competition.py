r"""Competition for local learning: winner-take-all and lateral inhibition.

These functions act on spikes and membrane potentials of one time step, whatever neuron
produced them, and return masks, so they slot into a scan body between the neuron step
and a plasticity rule (see :mod:`jaxspike.plasticity`). Persistent effects (a feature
map that has already learned, a location already claimed) are carried as boolean
``allowed`` / ``inhibited`` masks in the scan state.

* :func:`k_winners`: the ``k`` largest entries along an axis.
* :func:`lateral_inhibition`: at each location of a convolutional layer, the first
  feature map to fire silences the others there for the rest of the sequence
  (Kheradpisheh et al. 2018, section 2.3; ties broken by the larger potential).
* :func:`wta_per_feature_map`: the competition for STDP of Kheradpisheh et al. (2018,
  section 2.4): at most one winner per feature map, the earliest-firing neuron with the
  largest potential, and no two winners closer than an inhibition radius.

References:
    Kheradpisheh, S. R., Ganjtabesh, M., Thorpe, S. J. & Masquelier, T. (2018).
    STDP-based spiking deep convolutional neural networks for object recognition.
    Neural Networks 99, 56-67. Masquelier, T. & Thorpe, S. J. (2007). Unsupervised
    learning of visual features through spike timing dependent plasticity. PLoS Comput.
    Biol. 3(2).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["k_winners", "lateral_inhibition", "wta_per_feature_map"]


def _check_float(fn: str, name: str, x: jax.Array) -> None:
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{fn}: {name} must have a floating dtype, got {x.dtype}.")


def _check_same(fn: str, a: jax.Array, b: Any, name_a: str, name_b: str) -> None:
    if b is not None and jnp.shape(b) != a.shape:
        raise ValueError(
            f"{fn}: {name_b} has shape {jnp.shape(b)} but {name_a} has shape {a.shape}."
        )


def k_winners(x: jax.Array, k: int, *, axis: int = -1, mask: jax.Array | None = None) -> jax.Array:
    r"""Mask of the ``k`` largest entries of ``x`` along ``axis`` (1 = winner).

    .. math:: m_i = \mathbb{1}[\,i \in \operatorname{top}_k\{x_j : \text{mask}_j\}\,]

    Entries outside ``mask`` never win, so fewer than ``k`` winners come back when
    fewer are eligible. Ties go to the lower index (:func:`jax.lax.top_k`).

    Args:
        x: scores (e.g. membrane potentials), any shape.
        k: number of winners, ``1 <= k <= x.shape[axis]``.
        axis: the axis the competition runs along.
        mask: optional boolean (or 0/1) array of ``x``'s shape: who may win.

    Returns:
        A 0/1 array of ``x``'s shape and dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> k_winners(jnp.array([0.1, 0.7, 0.3, 0.9]), 2).tolist()
        [0.0, 1.0, 0.0, 1.0]
        >>> k_winners(jnp.array([0.1, 0.7, 0.3]), 2, mask=jnp.array([1, 0, 0])).tolist()
        [1.0, 0.0, 0.0]
    """
    fn = "k_winners"
    x = jnp.asarray(x)
    _check_float(fn, "x", x)
    if x.ndim == 0:
        raise ValueError(f"{fn}: x must have at least one axis, got a scalar.")
    axis = axis % x.ndim
    n = x.shape[axis]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= n:
        raise ValueError(f"{fn}: k must be an int in [1, {n}] (x.shape[{axis}]), got {k!r}.")
    _check_same(fn, x, mask, "x", "mask")
    eligible = jnp.ones(x.shape, bool) if mask is None else jnp.asarray(mask).astype(bool)
    score = jnp.where(eligible, x, -jnp.inf)
    moved = jnp.moveaxis(score, axis, -1)
    _, idx = lax.top_k(moved, k)
    hot = jnp.sum(jax.nn.one_hot(idx, n, dtype=x.dtype), axis=-2)
    hot = jnp.moveaxis(hot, -1, axis)
    return hot * eligible.astype(x.dtype)


def lateral_inhibition(
    spikes: jax.Array,
    potential: jax.Array,
    *,
    inhibited: jax.Array | None = None,
    feature_axis: int = -1,
) -> tuple[jax.Array, jax.Array]:
    r"""Keep at most one spiking feature per location; the others stay silent afterwards.

    At every location (all axes but ``feature_axis``), among the features that spike
    and are not inhibited, only the one with the largest potential keeps its spike:

    .. math::
       a_c &= s_c\,(1 - h_c) \\
       s'_{c} &= a_c\,\mathbb{1}[c = \arg\max_{c'} \{u_{c'} : a_{c'} = 1\}] \\
       h'_{c} &= h_c \lor \big(\textstyle\max_{c'} s'_{c'} = 1 \land s'_c = 0\big)

    so once a location has fired, every other feature there is inhibited for the rest of
    the sequence (carry ``inhibited`` in the scan state, starting from ``None`` or all
    ``False``). The neurons' own states are untouched; only their spikes are masked.

    Args:
        spikes: 0/1 spikes of this step, e.g. ``[..., H, W, C]``.
        potential: membrane potentials used to break ties (same shape), e.g. the
            pre-reset membrane ``v_pre`` from ``step_with_trace(if_step)``.
        inhibited: boolean mask carried from the previous step (same shape).
        feature_axis: the feature (channel) axis.

    Returns:
        ``(spikes, inhibited)``: the surviving spikes and the updated mask.

    Example:
        >>> import jax.numpy as jnp
        >>> s = jnp.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])  # 2 locations, 3 maps
        >>> u = jnp.array([[11.0, 12.0, 3.0], [1.0, 2.0, 3.0]])
        >>> out, inh = lateral_inhibition(s, u)
        >>> out.tolist(), inh.tolist()
        ([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], [[True, False, True], [False, False, False]])
    """
    fn = "lateral_inhibition"
    spikes = jnp.asarray(spikes)
    _check_float(fn, "spikes", spikes)
    _check_same(fn, spikes, potential, "spikes", "potential")
    _check_same(fn, spikes, inhibited, "spikes", "inhibited")
    if inhibited is None:
        inhibited = jnp.zeros(spikes.shape, bool)
    inhibited = jnp.asarray(inhibited).astype(bool)
    axis = feature_axis % spikes.ndim
    live = (spikes > 0) & ~inhibited
    score = jnp.where(live, potential, -jnp.inf)
    best = jnp.argmax(score, axis=axis, keepdims=True)
    one = jnp.arange(spikes.shape[axis]).reshape(
        [-1 if d == axis else 1 for d in range(spikes.ndim)]
    )
    win = (one == best) & live
    fired_here = jnp.any(win, axis=axis, keepdims=True)
    inhibited = inhibited | (fired_here & ~win)
    return spikes * win.astype(spikes.dtype), inhibited


def _wta_single(
    potential: jax.Array, spikes: jax.Array, allowed: jax.Array, k: int, radius: int
) -> tuple[jax.Array, jax.Array]:
    """Greedy winners for one sample ``[H, W, C]``."""
    h, w, c = potential.shape
    ys = jnp.arange(h)[:, None, None]
    xs = jnp.arange(w)[None, :, None]
    cs = jnp.arange(c)[None, None, :]

    def pick(_: int, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        winners, allowed = carry
        score = jnp.where((spikes > 0) & allowed, potential, -jnp.inf)
        flat = jnp.argmax(score.reshape(-1))
        found = score.reshape(-1)[flat] > -jnp.inf
        y, rem = jnp.divmod(flat, w * c)
        x, ch = jnp.divmod(rem, c)
        here = (ys == y) & (xs == x) & (cs == ch) & found
        near = (jnp.abs(ys - y) <= radius) & (jnp.abs(xs - x) <= radius)
        blocked = ((cs == ch) | near) & found
        return winners | here, allowed & ~blocked

    winners = jnp.zeros(potential.shape, bool)
    winners, allowed = lax.fori_loop(0, k, pick, (winners, allowed))
    return winners, allowed


def wta_per_feature_map(
    potential: jax.Array,
    spikes: jax.Array,
    *,
    k: int | None = None,
    radius: int = 0,
    allowed: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    r"""Winners for competitive STDP: at most one per feature map, ``radius`` apart.

    Greedy selection of Kheradpisheh et al. (2018): repeat up to ``k`` times: among the
    neurons that spike now and are still allowed, the one with the largest potential
    wins; its whole feature map is then disallowed, and so is every feature map within
    ``radius`` positions of it (Chebyshev distance :math:`\le r`), so later winners
    learn different features at different places. Carry the returned ``allowed`` mask
    through the time scan so a map learns at most once per sequence and the earliest
    spike wins (the paper's "earliest spike, then largest potential").

    Args:
        potential: membrane potentials ``[..., H, W, C]`` (e.g. pre-reset).
        spikes: 0/1 spikes of this step, same shape.
        k: most winners per sample and call (default ``C``: one per map).
        radius: inhibition radius in positions (``0``: only the winner's own location).
        allowed: boolean mask of neurons that may still win (default all).

    Returns:
        ``(winners, allowed)``: a 0/1 mask of ``spikes``'s dtype and the updated mask.

    Example:
        >>> import jax.numpy as jnp
        >>> u = jnp.zeros((1, 3, 2)).at[0, 0, 0].set(5.0).at[0, 1, 1].set(4.0)
        >>> u = u.at[0, 2, 0].set(9.0)
        >>> s = (u > 0).astype(jnp.float32)
        >>> win, allowed = wta_per_feature_map(u, s, radius=1)
        >>> win[0].tolist()  # map 0 wins at x=2; map 1 at x=1 is within radius 1
        [[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    """
    fn = "wta_per_feature_map"
    spikes = jnp.asarray(spikes)
    potential = jnp.asarray(potential)
    _check_float(fn, "spikes", spikes)
    _check_same(fn, spikes, potential, "spikes", "potential")
    _check_same(fn, spikes, allowed, "spikes", "allowed")
    if spikes.ndim < 3:
        raise ValueError(f"{fn}: expected spikes [..., H, W, C], got shape {spikes.shape}.")
    n_maps = spikes.shape[-1]
    k = n_maps if k is None else k
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{fn}: k must be an int >= 1, got {k!r}.")
    if not isinstance(radius, int) or isinstance(radius, bool) or radius < 0:
        raise ValueError(f"{fn}: radius must be an int >= 0, got {radius!r}.")
    if allowed is None:
        allowed = jnp.ones(spikes.shape, bool)
    allowed = jnp.asarray(allowed).astype(bool)
    lead = spikes.shape[:-3]
    event = spikes.shape[-3:]
    n = math.prod(lead)
    flat = lambda a: a.reshape((n, *event))
    win, allowed_out = jax.vmap(lambda u, s, a: _wta_single(u, s, a, min(k, n_maps), radius))(
        flat(potential), flat(spikes), flat(allowed)
    )
    return win.reshape(spikes.shape).astype(spikes.dtype), allowed_out.reshape(spikes.shape)
