r"""Fast paths: parallel-in-time linear recurrences, event-driven and bit-packed spike layers.

Each function here computes exactly what a plain path computes (same outputs, same
gradients up to float rounding) with less time or memory in some regime; the
benchmarks in ``benchmarks/bench_workloads.py`` say which (``docs/benchmarks.md``).

* :func:`linear_recurrence` / :func:`li_parallel`: the linear recurrence
  :math:`h_t = a_t h_{t-1} + x_t` (leaky-integrator readouts, synaptic currents: any
  dynamics *without* reset) as a :func:`jax.lax.associative_scan`, depth
  :math:`O(\log T)` instead of :math:`T`.
* :func:`spike_indices` / :func:`event_matmul`: a binary spike matrix times a weight
  matrix as a sum of the weight rows of the active inputs (work proportional to the
  number of spikes, not to the number of inputs).
* :func:`packed_linear`: ``s @ w + b`` for binary ``s`` whose backward pass keeps ``s``
  bit-packed (1 bit per spike instead of 32) until it is needed for ``dL/dw``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxspike._validate import broadcast_param, is_concrete
from jaxspike.neurons.li import LIParams, LIState

__all__ = [
    "linear_recurrence",
    "li_parallel",
    "spike_indices",
    "event_matmul",
    "packed_linear",
]


def _combine(left: tuple[jax.Array, jax.Array], right: tuple[jax.Array, jax.Array]) -> Any:
    # (a_l, b_l) then (a_r, b_r): h -> a_r (a_l h + b_l) + b_r
    a_l, b_l = left
    a_r, b_r = right
    return a_l * a_r, a_r * b_l + b_r


def linear_recurrence(a: Any, x: jax.Array, h0: Any = None) -> jax.Array:
    r"""All states of :math:`h_t = a_t\, h_{t-1} + x_t` over axis 0, in parallel over time.

    .. math:: h_t = a_t\, h_{t-1} + x_t, \qquad h_{-1} = h_0,
       \qquad t = 0, \dots, T-1.

    Computed with :func:`jax.lax.associative_scan` on the pairs :math:`(a_t, x_t)` and
    the operator :math:`(a, b) \circ (a', b') = (a a', a' b + b')` (Blelloch 1990;
    Martin & Cundy 2018). The result equals the sequential scan up to float rounding
    (the products are summed in a different order).

    Args:
        a: decay per step: a scalar, an array broadcastable to one step ``x[0]`` (e.g.
            per neuron), or a full ``[T, ...]`` array.
        x: inputs, time on axis 0, shape ``[T, ...]``.
        h0: initial state, broadcastable to ``x[0]`` (default 0).

    Returns:
        ``h`` of shape ``[T, ...]``.

    Raises:
        ValueError: when ``x`` has no time axis or ``a`` does not broadcast.

    Example:
        >>> import jax.numpy as jnp
        >>> linear_recurrence(0.5, jnp.asarray([1.0, 0.0, 2.0]), h0=4.0).tolist()
        [3.0, 1.5, 2.75]

    References:
        G. E. Blelloch. Prefix sums and their applications. CMU-CS-90-190, 1990.
        E. Martin, C. Cundy. Parallelizing linear recurrent neural nets over sequence
        length. ICLR 2018.
    """
    fn = "linear_recurrence"
    x = jnp.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{fn}: x needs a time axis at position 0, got a scalar.")
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        raise TypeError(
            f"{fn}: x must have a floating dtype, got {x.dtype} (the decay would be cast "
            "to it); cast it with x.astype(jnp.float32)."
        )
    a = jnp.asarray(a)
    if jnp.result_type(a, x) != x.dtype:
        raise TypeError(
            f"{fn}: a has dtype {a.dtype}, which does not fit x's dtype {x.dtype} without "
            f"changing it; give a of dtype {x.dtype} or a Python number."
        )
    a = a.astype(x.dtype)
    try:
        a = jnp.broadcast_to(a, x.shape)
    except ValueError:
        raise ValueError(
            f"{fn}: a of shape {a.shape} does not broadcast to x of shape {x.shape}; give "
            "a scalar, one value per neuron (shape of x[0]) or one per step (shape of x)."
        ) from None
    if h0 is not None:
        h0 = jnp.asarray(h0, x.dtype)
        try:
            h0 = jnp.broadcast_to(h0, x.shape[1:])
        except ValueError:
            raise ValueError(
                f"{fn}: h0 of shape {h0.shape} does not broadcast to one step of x, {x.shape[1:]}."
            ) from None
        x = x.at[0].add(a[0] * h0)
    return lax.associative_scan(_combine, (a, x), axis=0)[1]


def li_parallel(params: LIParams, state: LIState, xs: jax.Array) -> tuple[LIState, jax.Array]:
    r"""A leaky integrator over a whole sequence, parallel in time.

    Same result as ``unroll(functools.partial(li_step, params), state, xs)``:
    :math:`v_t = \beta v_{t-1} + x_t` for :math:`t = 0, \dots, T-1`, via
    :func:`linear_recurrence`.

    Args:
        params: :class:`~jaxspike.LIParams`.
        state: :class:`~jaxspike.LIState` before the first step (shape of ``xs[0]``).
        xs: inputs ``[T, ...]``.

    Returns:
        ``(final_state, vs)`` with ``vs`` of shape ``[T, ...]``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxspike import LIParams, li_init
        >>> p = LIParams(decay=0.5)
        >>> final, v = li_parallel(p, li_init(p, ()), jnp.asarray([2.0, 0.0, 1.0]))
        >>> v.tolist(), float(final.v)
        ([2.0, 1.0, 1.5], 1.5)
    """
    xs = jnp.asarray(xs)
    if xs.ndim < 1 or xs.shape[1:] != jnp.shape(state.v):
        raise ValueError(
            f"li_parallel: xs must be [T, *state.v.shape] = [T, {jnp.shape(state.v)}], got "
            f"shape {xs.shape}."
        )
    decay = broadcast_param("li_parallel", "decay", params.decay, state.v)
    vs = linear_recurrence(decay, xs.astype(state.v.dtype), state.v)
    return LIState(vs[-1]), vs


# --------------------------------------------------------------------- event-driven


# Position of the r-th set bit of a byte (r = 0..7), bits numbered from the most
# significant one as `jnp.packbits` packs them; 8 where the byte has fewer than r + 1 bits.
def _byte_select_table() -> np.ndarray:
    table = np.full((256, 8), 8, np.int32)
    for byte in range(256):
        pos = [i for i in range(8) if (byte >> (7 - i)) & 1]
        table[byte, : len(pos)] = pos
    return table


_BYTE_SELECT = _byte_select_table()
_BYTE_COUNT = (_BYTE_SELECT < 8).sum(axis=1).astype(np.int32)  # set bits per byte
_GROUP = 16  # index slots summed in one fused expression by `event_matmul`


def spike_indices(spikes: jax.Array, *, capacity: int) -> jax.Array:
    """Indices of the active inputs of each row of a binary spike array.

    Compaction without a sort: the row is packed into bytes, a running count of spikes
    per byte says which byte holds the ``k``-th spike (a binary search,
    :func:`jax.numpy.searchsorted`), and a 256 x 8 table gives its position inside
    the byte. Work per row is ``F/8 + capacity * log2(F/8)``, not ``F log F``.

    Args:
        spikes: ``[..., F]`` with values 0 or 1 (any dtype; nonzero counts as a spike).
        capacity: number of index slots per row (static). Rows with more spikes keep
            their first ``capacity`` ones (the rest are dropped: choose it above the
            largest count you expect, e.g. ``F p + 6 sqrt(F p)`` at density ``p``).

    Returns:
        ``int32`` array ``[..., capacity]``: the active feature indices in increasing
        order, padded with ``F`` (one past the last feature).

    Example:
        >>> import jax.numpy as jnp
        >>> spike_indices(jnp.asarray([[0, 1, 0, 1], [0, 0, 0, 0]]), capacity=3).tolist()
        [[1, 3, 4], [4, 4, 4]]
    """
    fn = "spike_indices"
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(f"{fn}: capacity must be an int >= 1, got {capacity!r}.")
    spikes = jnp.asarray(spikes)
    if spikes.ndim < 1:
        raise ValueError(f"{fn}: spikes needs a feature axis, got a scalar.")
    lead, n = spikes.shape[:-1], spikes.shape[-1]
    nb = -(-n // 8)
    byte = jnp.packbits(spikes.reshape((-1, n)) != 0, axis=-1)  # [N, nb] uint8
    count = jnp.asarray(_BYTE_COUNT)[byte]  # spikes per byte
    byte = byte.astype(jnp.int32)
    if nb <= 256:  # running count as a matmul with a triangular matrix (exact in float32)
        tri = jnp.triu(jnp.ones((nb, nb), jnp.float32))
        upto = jnp.matmul(count.astype(jnp.float32), tri, precision=lax.Precision.HIGHEST)
        upto = upto.astype(jnp.int32)
    else:
        upto = jnp.cumsum(count, axis=-1)  # spikes up to and including each byte
    k = jnp.arange(capacity, dtype=jnp.int32)
    # the byte holding spike k is the first whose running count exceeds k
    where = jax.vmap(lambda c: jnp.searchsorted(c, k, side="right", method="scan_unrolled"))
    at = where(upto).astype(jnp.int32)  # [N, capacity]; nb where the row has <= k spikes
    found = at < nb
    at = jnp.minimum(at, nb - 1)
    rank = k[None] - jnp.take_along_axis(upto - count, at, axis=-1)  # rank of spike k in its byte
    in_byte = jnp.asarray(_BYTE_SELECT)[
        jnp.take_along_axis(byte, at, axis=-1), jnp.clip(rank, 0, 7)
    ]
    out = jnp.where(found, 8 * at + in_byte, n).astype(jnp.int32)
    return out.reshape((*lead, capacity))


def _gather_rows(table: jax.Array, rows: jax.Array) -> jax.Array:
    # table[rows] for in-range rows, without the bounds handling of jnp indexing
    dims = lax.GatherDimensionNumbers(
        offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,)
    )
    return lax.gather(
        table,
        rows[:, None],
        dims,
        (1, table.shape[1]),
        mode=lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )


def _slot_sum(table: jax.Array, idx: jax.Array, acc_dtype: Any) -> jax.Array:
    # sum over the slots of idx [N, G] of table rows, as one fused expression
    out = _gather_rows(table, idx[:, 0]).astype(acc_dtype)
    for j in range(1, idx.shape[1]):
        out = out + _gather_rows(table, idx[:, j]).astype(acc_dtype)
    return out


def _event_forward(idx: jax.Array, w: jax.Array) -> jax.Array:
    f, h = w.shape
    acc_dtype = jnp.promote_types(w.dtype, jnp.float32)
    table = jnp.concatenate([w, jnp.zeros((1, h), w.dtype)])  # row f: padding
    k = idx.shape[1]
    groups = -(-k // _GROUP)
    idx = jnp.pad(idx, ((0, 0), (0, groups * _GROUP - k)), constant_values=f)
    if groups <= 8:  # unrolled: every group in one graph
        out = _slot_sum(table, idx[:, :_GROUP], acc_dtype)
        for g in range(1, groups):
            out = out + _slot_sum(table, idx[:, g * _GROUP : (g + 1) * _GROUP], acc_dtype)
    else:  # many slots: a loop over groups keeps the graph small
        blocks = idx.reshape((idx.shape[0], groups, _GROUP)).transpose(1, 0, 2)
        out, _ = lax.scan(
            lambda acc, blk: (acc + _slot_sum(table, blk, acc_dtype), None),
            jnp.zeros((idx.shape[0], h), acc_dtype),
            blocks,
        )
    return out.astype(w.dtype)


@jax.custom_vjp
def _event_matmul(idx: jax.Array, w: jax.Array) -> jax.Array:
    return _event_forward(idx, w)


def _event_matmul_fwd(idx: jax.Array, w: jax.Array) -> tuple[jax.Array, Any]:
    return _event_forward(idx, w), (idx, w)


def _event_matmul_bwd(res: Any, g: jax.Array) -> tuple[None, jax.Array]:
    # dL/dw = s^T g with s rebuilt from the indices (a scatter of ones, then one
    # dense matmul: faster than scatter-adding the rows of g into w's rows)
    idx, w = res
    f = w.shape[0]
    rows = jnp.arange(idx.shape[0], dtype=jnp.int32)[:, None]
    s = jnp.zeros((idx.shape[0], f), g.dtype).at[rows, idx].add(1, mode="drop")
    return None, (s.T @ g).astype(w.dtype)


_event_matmul.defvjp(_event_matmul_fwd, _event_matmul_bwd)


def event_matmul(indices: jax.Array, w: jax.Array) -> jax.Array:
    r"""``spikes @ w`` from the spike indices: :math:`y_n = \sum_{k} w_{i_{nk}}`.

    Sums the rows of ``w`` selected by ``indices``; the padding index ``F`` (and any
    index outside ``[0, F)``) selects nothing. The work is ``capacity`` row gathers per
    output row instead of ``F`` multiply-adds: slots are summed sixteen at a time in
    one fused expression, so the partial sums stay in registers. Low-precision weights
    are accumulated in float32. Differentiable in ``w``: ``dL/dw = s^T g`` with the
    binary ``s`` rebuilt from the indices; ``indices`` get no gradient.

    Args:
        indices: ``int [..., K]`` from :func:`spike_indices` or
            :func:`jaxspike.data.events.to_indices`.
        w: weights ``[F, H]``.

    Returns:
        ``[..., H]`` in ``w``'s dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> w = jnp.arange(8.0).reshape(4, 2)
        >>> event_matmul(jnp.asarray([[1, 3, 4]]), w).tolist()
        [[8.0, 10.0]]
    """
    w = jnp.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"event_matmul: w must be [F, H], got shape {w.shape}.")
    indices = jnp.asarray(indices)
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        raise TypeError(
            f"event_matmul: indices must be integers (from spike_indices), got {indices.dtype}."
        )
    if indices.ndim < 1 or indices.shape[-1] < 1:
        raise ValueError(
            f"event_matmul: indices must be [..., K] with K >= 1, got {indices.shape}."
        )
    lead = indices.shape[:-1]
    flat = indices.reshape((-1, indices.shape[-1])).astype(jnp.int32)
    f = w.shape[0]
    flat = jnp.where((flat >= 0) & (flat < f), flat, f)  # out of range -> padding
    return _event_matmul(flat, w).reshape((*lead, w.shape[1]))


# --------------------------------------------------------------------- bit-packed residuals


def _pack(s: jax.Array) -> jax.Array:
    return jnp.packbits(s != 0, axis=-1)


def _unpack(bits: jax.Array, n: int, dtype: Any) -> jax.Array:
    return jnp.unpackbits(bits, axis=-1, count=n).astype(dtype)


def _affine(s: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    y = s @ w
    return y + jnp.broadcast_to(b, y.shape)


@jax.custom_vjp
def _packed_linear(s: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
    return _affine(s, w, b)


def _packed_linear_fwd(s: jax.Array, w: jax.Array, b: jax.Array) -> tuple[jax.Array, Any]:
    binary = jnp.all((s == 0) | (s == 1))
    return _affine(s, w, b), (_pack(s), w, jnp.zeros((0,), s.dtype), binary)


def _packed_linear_bwd(res: Any, g: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    bits, w, like, binary = res
    s = _unpack(bits, w.shape[0], like.dtype)
    lead = tuple(range(g.ndim - 1))
    dw = jnp.tensordot(s, g, axes=(lead, lead)).astype(w.dtype)
    # The bits hold only s != 0: for a traced non-binary s the weight gradient would be
    # wrong, so it is NaN instead (concrete inputs are rejected in packed_linear).
    dw = jnp.where(binary, dw, jnp.asarray(jnp.nan, dw.dtype))
    return (g @ w.T.astype(g.dtype)).astype(like.dtype), dw, jnp.sum(g, axis=lead)


_packed_linear.defvjp(_packed_linear_fwd, _packed_linear_bwd)


def packed_linear(s: jax.Array, w: jax.Array, b: Any = None) -> jax.Array:
    """``s @ w + b`` for binary ``s``, keeping ``s`` bit-packed for the backward pass.

    The forward value is the dense matmul. For ``dL/dw = s^T g`` the backward pass needs
    ``s``: a plain matmul stores it in its own dtype (32 bits per spike in float32),
    this stores ``packbits(s != 0)`` (1 bit). ``dL/ds = g w^T`` and ``dL/db`` are as usual.

    Only for 0/1 inputs (spikes): other values raise ``ValueError`` when ``s`` is
    concrete; under :func:`jax.jit` (traced ``s``) they make ``dL/dw`` NaN.

    Args:
        s: binary spikes ``[..., F]``.
        w: weights ``[F, H]``.
        b: bias ``[H]`` (default none).

    Returns:
        ``[..., H]``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> s, w = jnp.asarray([[1.0, 0.0, 1.0]]), jnp.ones((3, 2))
        >>> jax.grad(lambda w: packed_linear(s, w).sum())(w)[:, 0].tolist()
        [1.0, 0.0, 1.0]
    """
    s, w = jnp.asarray(s), jnp.asarray(w)
    if w.ndim != 2 or s.ndim < 1 or s.shape[-1] != w.shape[0]:
        raise ValueError(
            f"packed_linear: need s [..., F] and w [F, H], got s {s.shape} and w {w.shape}."
        )
    if is_concrete(s) and not np.all((np.asarray(s) == 0) | (np.asarray(s) == 1)):
        raise ValueError(
            "packed_linear: s must hold only 0 and 1 (the backward pass stores one bit "
            "per entry), got other values; use s @ w + b for graded inputs."
        )
    b = jnp.zeros((w.shape[1],), w.dtype) if b is None else jnp.asarray(b)
    return _packed_linear(s, w, b)
