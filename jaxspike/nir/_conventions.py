r"""How other libraries run NIR graphs: the presets of :func:`import_nir`.

A NIR file fixes continuous-time equations and no simulator. A preset (:class:`Convention`)
says, **per neuron node type**, how one library discretises that node (a :class:`NodeRule`:
the options of :func:`jaxspike.neurons.affine_lif.affine_lif_step` plus how its
coefficients come from the file). Each preset reproduces either the library's own
simulation of the network it exported or its own importer's reading of the file; which
one, per type, is in :attr:`NodeRule.reproduces` and in the table of ``docs/guides/nir.md``
(measured against files and traces written by the libraries themselves, in
``tests/fixtures/peers``).

snnTorch files say ``v_reset = 0`` whatever ``reset_mechanism`` and ``reset_delay`` the
model used, so the file cannot tell; the ``"snntorch"`` preset is snnTorch's default
(``reset_mechanism="subtract"``, ``reset_delay=True``) and ``"snntorch-zero"``,
``"snntorch-nodelay"``, ``"snntorch-zero-nodelay"`` name the other three. snnTorch's own
importer reads every file as ``reset_mechanism="zero"``, ``reset_delay=False``, which is
NIR's rule: the ``"nir"`` preset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

Compare = Literal[">", ">="]
ResetRule = Literal["file", "zero", "subtract"]


@dataclasses.dataclass(frozen=True)
class NodeRule:
    r"""How one library runs one NIR neuron type (hashable, static).

    Attributes:
        reproduces: ``"nir"`` (NIR's equations), ``"simulation"`` (the library's own
            simulation of its network) or ``"importer"`` (its importer's reading).
        method: ``"euler"`` or ``"exact"`` discretisation of the time constants.
        threshold: ``">"`` (NIR) or ``">="``.
        reset: ``"file"`` (to the node's ``v_reset``), ``"zero"`` (to 0) or ``"subtract"``.
        reset_at: ``"same_step"`` or ``"next_step"`` (snnTorch ``reset_delay=True``).
        emit: ``"now"`` or ``"late"`` (spikes of the carried membrane: Spyx).
        multi_spike: several spikes per step (sinabs).
        floor: ``"none"`` or ``"-v_th"`` (sinabs' importer: ``min_v_mem = -v_th``).
        membrane_gain: ``"continuous"`` (:math:`R\Delta t/\tau`) or ``"impulse"`` (:math:`R`).
        synapse_gain: ``"continuous"`` (:math:`w_{in}\Delta t/\tau_{syn}`) or
            ``"impulse"`` (:math:`w_{in}`).
        use_r: honour ``r``, ``w_in`` and ``v_leak`` (False: 1, 1, 0, as Spyx).
        v0: initial membrane: ``"v_leak"``, ``"zero"`` or ``"v_reset"``.
        tau_per_dt: the file's time constants are :math:`\tau\,\Delta t` (Norse 1.1's
            exporter writes ``dt / tau_mem_inv``); True divides them by ``dt``.
    """

    reproduces: str = "nir"
    method: str = "euler"
    threshold: Compare = ">"
    reset: ResetRule = "file"
    reset_at: Literal["same_step", "next_step"] = "same_step"
    emit: Literal["now", "late"] = "now"
    multi_spike: bool = False
    floor: Literal["none", "-v_th"] = "none"
    membrane_gain: Literal["continuous", "impulse"] = "continuous"
    synapse_gain: Literal["continuous", "impulse"] = "continuous"
    use_r: bool = True
    v0: Literal["v_leak", "zero", "v_reset"] = "v_leak"
    tau_per_dt: bool = False


@dataclasses.dataclass(frozen=True)
class Convention:
    """A library's reading of NIR files: one :class:`NodeRule` per neuron type.

    Attributes:
        name: preset name.
        typical_dt: the dt the writer usually assumed (a hint; dt is always explicit).
        default: the rule of types not listed in ``rules``.
        rules: ``(type name, rule)`` pairs, e.g. ``(("CubaLIF", NodeRule(...)),)``.
        recurrent_init: what a recurrent edge carries at ``t = 0``: ``"zero"`` (nothing,
            Norse's importer) or ``"output"`` (the source node's output for an all-zero
            previous step: a recurrent ``Affine``'s bias, as snnTorch computes).
    """

    name: str
    typical_dt: str
    default: NodeRule = NodeRule()
    rules: tuple[tuple[str, NodeRule], ...] = ()
    recurrent_init: Literal["zero", "output"] = "zero"

    def rule(self, kind: str) -> NodeRule:
        """The rule of neuron type ``kind`` (``"LIF"``, ``"CubaLIF"``, ...)."""
        return dict(self.rules).get(kind, self.default)

    def replace(self, **changes: object) -> Convention:
        """A copy with fields changed (``rules`` given as a mapping merges by type)."""
        rules = changes.pop("rules", None)
        out = dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        if isinstance(rules, Mapping):
            merged = dict(self.rules) | dict(rules)
            out = dataclasses.replace(out, rules=tuple(sorted(merged.items())))
        return out


def _snntorch(name: str, reset: ResetRule, delay: bool) -> Convention:
    sim = NodeRule("simulation", reset=reset, v0="zero")
    if not delay:
        # reset_delay=False: the reset acts in the same step
        return Convention(name, "1e-4", sim, recurrent_init="output")
    # reset_delay=True: the reset of a spike acts in the next step (Leaky's zero reset
    # before the decay, the subtraction after the integration: the core's "next_step")
    later = dataclasses.replace(sim, reset_at="next_step")
    return Convention(name, "1e-4", later, recurrent_init="output")


_NORSE_SIM = NodeRule("simulation", synapse_gain="impulse", tau_per_dt=True)
_SPYX = NodeRule(
    "simulation",
    reset="subtract",
    reset_at="next_step",
    emit="late",
    membrane_gain="impulse",
    synapse_gain="impulse",
    use_r=False,
    v0="zero",
)
_SINABS = NodeRule(
    "importer",
    method="exact",
    threshold=">=",
    reset="subtract",
    multi_spike=True,
    floor="-v_th",
    membrane_gain="impulse",
    v0="zero",
)

CONVENTIONS: dict[str, Convention] = {
    "nir": Convention("nir", "any"),
    "jaxspike": Convention("jaxspike", "any", NodeRule(threshold=">=")),
    "snntorch": _snntorch("snntorch", "subtract", True),
    "snntorch-zero": _snntorch("snntorch-zero", "zero", True),
    "snntorch-nodelay": _snntorch("snntorch-nodelay", "subtract", False),
    "snntorch-zero-nodelay": _snntorch("snntorch-zero-nodelay", "zero", False),
    "norse": Convention(
        "norse", "1e-3", _NORSE_SIM, rules=(("IF", NodeRule("importer", membrane_gain="impulse")),)
    ),
    # sinabs' importer floors IAF at -v_th (IAFSqueeze(min_v_mem=-v_th)), not LIF
    "sinabs": Convention(
        "sinabs", "1", _SINABS, rules=(("LIF", dataclasses.replace(_SINABS, floor="none")),)
    ),
    # Spyx: LIF and IF subtract after the decay, CuBaLIF before it (spyx/nn.py)
    "spyx": Convention(
        "spyx", "1", _SPYX, rules=(("CubaLIF", dataclasses.replace(_SPYX, reset_at="same_step")),)
    ),
}
