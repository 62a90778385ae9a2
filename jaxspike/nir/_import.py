"""Import a NIR graph as a pure function (:func:`import_nir_fn`) or an NNX module."""

from __future__ import annotations

from typing import Any, Literal

import jax.numpy as jnp

from jaxspike._validate import check_choice
from jaxspike.neurons.surrogates import FastSigmoid, Surrogate, get_surrogate
from jaxspike.nir import _run
from jaxspike.nir._conventions import CONVENTIONS, Convention
from jaxspike.nir._graph import (
    NEURON_TYPES,
    Program,
    build_program,
    graph_from,
    positive_dt,
    require_nir,
)

Method = Literal["euler", "exact"]


def _legacy_file(source: Any) -> bool:
    """True when ``source`` is a file written by nir <= 1.0.5 (no ``v_reset``)."""
    nir = require_nir("import_nir")
    if isinstance(source, nir.NIRGraph):
        return False
    import h5py

    try:
        with h5py.File(source, "r") as f:
            stored: Any = f["version"]
            version = stored[()]
    except (OSError, KeyError, TypeError):
        return False
    version = version.decode() if isinstance(version, bytes) else str(version)
    parts = [int(p) for p in version.split(".")[:3] if p.isdigit()]
    return tuple(parts) <= (1, 0, 5)


def prepare(
    source: Any,
    *,
    dt: Any,
    method: Method | None,
    convention: str | Convention,
    reset: str | None,
    legacy_reset: str | None,
    param_dtype: Any,
) -> tuple[Program, dict[str, Any], dict[str, dict[str, Any]]]:
    """Shared front end of both importers: validate, parse, compute parameters and options."""
    fn = "import_nir"
    if isinstance(convention, Convention):
        conv = convention
    else:
        check_choice(fn, "convention", convention, tuple(CONVENTIONS))
        conv = CONVENTIONS[convention]
    if dt is None:
        raise ValueError(
            f"{fn}: dt is required: a NIR file carries no time step, and its time constants "
            f"mean nothing without one. The {conv.name!r} convention usually assumes "
            f"dt = {conv.typical_dt} (snntorch 1e-4, norse 1e-3, sinabs 1, spyx 1)."
        )
    step = positive_dt(fn, dt)
    if method is not None:
        check_choice(fn, "method", method, ("euler", "exact"))
    if reset is not None:
        check_choice(fn, "reset", reset, ("zero", "subtract"))
    if legacy_reset is not None:
        check_choice(fn, "legacy_reset", legacy_reset, ("zero", "subtract"))
    graph = graph_from(source)
    # A file says which nir wrote it; a graph object does not, so there an explicit
    # legacy_reset applies to every spiking node.
    legacy = legacy_reset is not None and (graph is source or _legacy_file(source))
    program, nodes, _ = build_program(
        graph, dt=step, method=method or conv.default.method, convention=conv
    )
    params: dict[str, Any] = {}
    options: dict[str, dict[str, Any]] = {}
    for op in program.ops:
        node = nodes[op.name]
        rule: str = reset or conv.rule(op.kind).reset
        if rule == "file" and legacy and legacy_reset is not None:
            rule = legacy_reset
        p = _run.node_params(op, node, conv, step, method, rule)
        if p:
            params[op.name] = {k: jnp.asarray(v, param_dtype) for k, v in p.items()}
        if op.kind in NEURON_TYPES:
            options[op.name] = _run.node_options(op, node, conv, rule)
            # export_nir(approximate=True) records the reset it could not write; jaxspike's
            # own reading restores it (other tools read NIR's reset to v_reset)
            written = (getattr(node, "metadata", None) or {}).get("jaxspike.reset")
            if written and reset is None and conv.rule(op.kind).reset == "file":
                options[op.name]["reset"] = "subtract"
                if written == "subtract_undecayed":
                    options[op.name]["reset_at"] = "next_step"
    return program, params, options


def import_nir_fn(
    source: Any,
    *,
    dt: float | None = None,
    method: Method | None = None,
    convention: str | Convention = "nir",
    reset: Literal["zero", "subtract"] | None = None,
    legacy_reset: Literal["zero", "subtract"] | None = None,
    surrogate: Surrogate | str = FastSigmoid(),
    time_major: bool = False,
    param_dtype: Any = jnp.float32,
) -> tuple[Any, dict[str, Any]]:
    """Import a NIR graph as a pure function and its parameters.

    Every neuron node runs the core :func:`~jaxspike.neurons.affine_lif.affine_lif_step`
    with the options the preset gives its type; the whole graph is one
    :func:`jaxspike.unroll`.

    Args:
        source: a ``nir.NIRGraph`` or a path / file object for ``nir.read``.
        dt: the time step, in the unit of the graph's time constants (required: NIR
            files carry none).
        method: ``"euler"`` or ``"exact"`` for every node (default: the preset's).
        convention: a preset name (``"nir"``, ``"jaxspike"``, ``"snntorch"``,
            ``"snntorch-zero"``, ``"snntorch-nodelay"``, ``"snntorch-zero-nodelay"``,
            ``"norse"``, ``"sinabs"``, ``"spyx"``; see :data:`jaxspike.nir.CONVENTIONS`)
            or a :class:`~jaxspike.nir.Convention`.
        reset: override every spiking node's reset: ``"zero"`` (to 0) or ``"subtract"``.
        legacy_reset: reset of graphs written by nir <= 1.0.5, whose nodes had no
            ``v_reset`` and meant a subtractive reset: ``"zero"`` (how nir >= 1.0.6
            reads them) or ``"subtract"`` (what their writer meant). Files are detected
            by their version; a ``nir.NIRGraph`` object carries none, so there a given
            value applies to every spiking node.
        surrogate: surrogate gradient of every spike.
        time_major: inputs and outputs are ``[T, B, ...]`` instead of ``[B, T, ...]``.
        param_dtype: dtype of the parameters.

    Returns:
        ``(apply_fn, params)`` with ``apply_fn(params, xs, *, initial_carry=None,
        return_carry=False, record=None)``. ``xs`` has the per-sample shape of the
        graph's Input (channels first for convolutions) after the batch and time axes, or
        is a dict by Input name. The output is the Output node's sequence (a dict if
        several). ``record`` (node names, ``"neurons"`` or ``"all"``) adds a dict of
        :class:`~jaxspike.nir.NodeTrace` (output, named state and pre-reset membrane of
        each step): the output becomes ``(outputs, traces)``. ``return_carry=True``
        returns ``(carry, output)`` with the final :class:`~jaxspike.nir.GraphCarry`.

    Example:
        >>> import numpy as np, nir
        >>> g = nir.NIRGraph.from_list(nir.LIF(tau=np.full(2, 10.0), r=np.full(2, 10.0),
        ...     v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2)))
        >>> apply_fn, params = import_nir_fn(g, dt=1.0)
        >>> apply_fn(params, np.full((1, 3, 2), 0.6))[0, :, 0].tolist()
        [0.0, 1.0, 0.0]
    """
    program, params, options = prepare(
        source,
        dt=dt,
        method=method,
        convention=convention,
        reset=reset,
        legacy_reset=legacy_reset,
        param_dtype=param_dtype,
    )
    sur = get_surrogate(surrogate)

    def apply_fn(
        params: dict[str, Any],
        xs: Any,
        *,
        initial_carry: Any = None,
        return_carry: bool = False,
        record: Any = None,
    ) -> Any:
        return _run.run(
            program,
            params,
            xs,
            time_major=time_major,
            initial_carry=initial_carry,
            return_carry=return_carry,
            record=record,
            surrogate=sur,
            options=options,
        )

    apply_fn.program = program  # type: ignore[attr-defined]
    apply_fn.options = options  # type: ignore[attr-defined]
    return apply_fn, params


def import_nir(
    source: Any,
    *,
    dt: float | None = None,
    method: Method | None = None,
    convention: str | Convention = "nir",
    reset: Literal["zero", "subtract"] | None = None,
    legacy_reset: Literal["zero", "subtract"] | None = None,
    surrogate: Surrogate | str = FastSigmoid(),
    time_major: bool = False,
    param_dtype: Any = jnp.float32,
) -> Any:
    """Import a NIR graph as a Flax NNX module (:class:`NIRModule`).

    Arguments as :func:`import_nir_fn`. Weights, biases, scales and each neuron's
    :class:`~jaxspike.neurons.affine_lif.AffineLIFParams` fields (``a_syn``, ``b_syn``,
    ``a_mem``, ``b_mem``, ``c_mem``, ``v_th``, ``v_reset``) are ``nnx.Param``;
    initial membranes are fixed.

    Example:
        >>> import numpy as np, nir
        >>> g = nir.NIRGraph.from_list(nir.Affine(np.eye(2), np.zeros(2)),
        ...     nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)))
        >>> model = import_nir(g, dt=1.0)
        >>> model(np.full((1, 4, 2), 0.5))[0, :, 0].tolist()
        [0.0, 0.0, 1.0, 0.0]
    """
    apply_fn, params = import_nir_fn(
        source,
        dt=dt,
        method=method,
        convention=convention,
        reset=reset,
        legacy_reset=legacy_reset,
        surrogate=surrogate,
        time_major=time_major,
        param_dtype=param_dtype,
    )
    from jaxspike.nir._module import NIRModule

    return NIRModule(apply_fn, params)


__all__ = ["import_nir", "import_nir_fn"]
