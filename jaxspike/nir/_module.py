"""The NNX module of an imported NIR graph (imports flax)."""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from jaxspike.nir._run import FIXED
from jaxspike.nnx import Fixed


class NIRModule(nnx.Module):
    """An imported NIR graph: one module, one call over a whole sequence.

    Parameters live in ``self.nodes[name][field]`` (``nnx.Param``, or :class:`Fixed`
    for the initial membrane); a neuron's fields are those of
    :class:`~jaxspike.neurons.affine_lif.AffineLIFParams`. Build it with
    :func:`jaxspike.nir.import_nir`.

    Args:
        apply_fn: the pure function of :func:`jaxspike.nir.import_nir_fn`.
        params: its parameters.
    """

    def __init__(self, apply_fn: Any, params: dict[str, Any]):
        self.apply_fn = apply_fn
        self.program = apply_fn.program
        self.nodes = nnx.Dict(
            {
                name: nnx.Dict(
                    {k: (Fixed(v) if k in FIXED else nnx.Param(v)) for k, v in p.items()}
                )
                for name, p in params.items()
            }
        )

    def params_dict(self) -> dict[str, Any]:
        """The current parameters as the plain dict ``apply_fn`` takes."""
        return {name: {k: var[...] for k, var in p.items()} for name, p in self.nodes.items()}

    def __call__(
        self,
        inputs: Any,
        *,
        initial_carry: Any = None,
        return_carry: bool = False,
        record: Any = None,
    ) -> Any:
        """Run the graph on ``inputs[B, T, *shape]``, like ``nnx.RNN``.

        Args:
            inputs: the input sequence (or a dict by Input node name).
            initial_carry: a :class:`~jaxspike.nir.GraphCarry` (default: resting).
            return_carry: return ``(carry, outputs)``.
            record: node names, ``"neurons"`` or ``"all"``: the outputs become
                ``(outputs, traces)`` with a :class:`~jaxspike.nir.NodeTrace` per node
                (its output, named state and pre-reset membrane over time).

        Returns:
            ``outputs``, or ``(carry, outputs)`` with ``return_carry``.
        """
        return self.apply_fn(
            self.params_dict(),
            inputs,
            initial_carry=initial_carry,
            return_carry=return_carry,
            record=record,
        )


_ = jax
