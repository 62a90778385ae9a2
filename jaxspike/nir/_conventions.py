r"""How other libraries write and run NIR graphs: the presets of :func:`import_nir`.

A preset fixes every choice that a NIR file leaves open (NIR defines continuous-time
equations and no simulator). The fields, and the value each preset gives them:

=================  =======  =======  =========  ========  =========  =======  ==========
field              nir      jaxspike snntorch   norse     sinabs     spyx     meaning
=================  =======  =======  =========  ========  =========  =======  ==========
typical dt         any      any      1e-4       1e-3      1          1        dt the writer
                                                                              assumed
method             euler    euler    euler      euler     exact      euler    discretization
compare            ``>``    ``>=``   ``>``      ``>``     ``>=``     ``>``    spike test
reset              file     file     subtract*  file      subtract   subtract after a spike
fire               post     post     post       post      post       pre      spike on new or
                                                                              carried membrane
current_jump       nir      nir      nir        impulse   nir        impulse  synaptic gain
cuba_order         new_i    new_i    new_i      old_i     new_i      new_i    v uses i_t or
                                                                              i_{t-1}
v0                 v_leak   v_leak   zero       v_leak    zero       zero     initial membrane
spikes             binary   binary   binary     binary    multi      binary   spike counts
use_r              yes      yes      yes        yes       yes        no       honour r, w_in,
                                                                              v_leak
=================  =======  =======  =========  ========  =========  =======  ==========

``*`` Spyx, and snnTorch's default ``reset_mechanism="subtract"`` with ``reset_delay=True``: the
threshold is subtracted from the pre-reset membrane one step later, i.e. the post-reset
membrane loses :math:`v_{th}/\\beta`; its files always say ``v_reset = 0``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Compare = Literal[">", ">="]
ResetRule = Literal["file", "zero", "subtract", "subtract_undecayed"]


@dataclasses.dataclass(frozen=True)
class Convention:
    """Every discretization choice of an imported graph (hashable, static).

    Attributes:
        name: preset name.
        typical_dt: the dt the writer usually assumed (documentation only; dt is
            always an explicit argument).
        method: ``"euler"`` or ``"exact"``.
        compare: ``">"`` (NIR's ``z = v > v_th``) or ``">="`` (jaxspike, sinabs).
        reset: ``"file"`` (to ``v_reset``; subtract for legacy files when asked),
            ``"zero"`` (to ``v_reset``), ``"subtract"`` (``v - v_th``) or
            ``"subtract_undecayed"`` (snnTorch's delayed subtraction).
        fire: ``"post"`` (integrate, then spike) or ``"pre"`` (spike on the carried
            membrane, then integrate: Spyx, one step of latency per layer).
        current_jump: ``"nir"`` (gain ``w_in dt/tau_syn``; IF/I gain ``r dt``) or
            ``"impulse"`` (each input adds ``w_in`` to the current; IF/I gain ``r``).
        cuba_order: ``"new_i"`` (v integrates the current of this step) or ``"old_i"``
            (of the previous step, Norse).
        v0: ``"v_leak"`` or ``"zero"``.
        spikes: ``"binary"`` or ``"multi"`` (``floor(v / v_th)`` spikes per step).
        use_r: honour ``r``, ``w_in`` and ``v_leak`` (False: gain 1, no leak target,
            as Spyx's importer).
    """

    name: str
    typical_dt: str
    method: str = "euler"
    compare: Compare = ">"
    reset: ResetRule = "file"
    fire: Literal["post", "pre"] = "post"
    current_jump: Literal["nir", "impulse"] = "nir"
    cuba_order: Literal["new_i", "old_i"] = "new_i"
    v0: Literal["v_leak", "zero"] = "v_leak"
    spikes: Literal["binary", "multi"] = "binary"
    use_r: bool = True


CONVENTIONS: dict[str, Convention] = {
    "nir": Convention("nir", "any"),
    "jaxspike": Convention("jaxspike", "any", compare=">="),
    "snntorch": Convention("snntorch", "1e-4", reset="subtract_undecayed", v0="zero"),
    "norse": Convention("norse", "1e-3", current_jump="impulse", cuba_order="old_i"),
    "sinabs": Convention(
        "sinabs", "1", method="exact", compare=">=", reset="subtract", v0="zero", spikes="multi"
    ),
    "spyx": Convention(
        "spyx",
        "1",
        reset="subtract_undecayed",
        fire="pre",
        current_jump="impulse",
        v0="zero",
        use_r=False,
    ),
}
