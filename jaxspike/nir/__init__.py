"""NIR (Neuromorphic Intermediate Representation) import and export.

Needs the optional ``nir`` package (``pip install jaxspike[nir]``), imported only when
a function here runs; flax is imported only by :func:`import_nir` and by
:func:`export_nir` on Flax models. See ``docs/guides/nir.md`` for the supported nodes,
the discretization of each and the compatibility presets.
"""

from jaxspike.nir._conventions import CONVENTIONS as CONVENTIONS
from jaxspike.nir._conventions import Convention as Convention
from jaxspike.nir._conventions import NodeRule as NodeRule
from jaxspike.nir._export import export_nir as export_nir
from jaxspike.nir._import import import_nir as import_nir
from jaxspike.nir._import import import_nir_fn as import_nir_fn
from jaxspike.nir._run import GraphCarry as GraphCarry
from jaxspike.nir._run import NodeTrace as NodeTrace

__all__ = [
    "CONVENTIONS",
    "Convention",
    "GraphCarry",
    "NodeRule",
    "NodeTrace",
    "export_nir",
    "import_nir",
    "import_nir_fn",
]
