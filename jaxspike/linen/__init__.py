"""Flax Linen modules for jaxspike: the same cells and layers as :mod:`jaxspike.nnx`.

Cells (``LIFCell``, ...) are :class:`flax.linen.RNNCellBase` and work inside
:class:`flax.linen.RNN`; layers (``LIF``, ...) scan a sequence with
:func:`jaxspike.unroll`. Every module only declares parameters and calls the core.
"""

from jaxspike.linen._modules import ALIF as ALIF
from jaxspike.linen._modules import CTLIF as CTLIF
from jaxspike.linen._modules import IF as IF
from jaxspike.linen._modules import LI as LI
from jaxspike.linen._modules import LIF as LIF
from jaxspike.linen._modules import ALIFCell as ALIFCell
from jaxspike.linen._modules import CTLIFCell as CTLIFCell
from jaxspike.linen._modules import CubaLIF as CubaLIF
from jaxspike.linen._modules import CubaLIFCell as CubaLIFCell
from jaxspike.linen._modules import IFCell as IFCell
from jaxspike.linen._modules import Izhikevich as Izhikevich
from jaxspike.linen._modules import IzhikevichCell as IzhikevichCell
from jaxspike.linen._modules import LICell as LICell
from jaxspike.linen._modules import LIFCell as LIFCell
from jaxspike.linen._modules import NeuronCell as NeuronCell
from jaxspike.linen._modules import TimeDistributed as TimeDistributed

__all__ = [
    "ALIF",
    "CTLIF",
    "IF",
    "LI",
    "LIF",
    "ALIFCell",
    "CTLIFCell",
    "CubaLIF",
    "CubaLIFCell",
    "IFCell",
    "Izhikevich",
    "IzhikevichCell",
    "LICell",
    "LIFCell",
    "NeuronCell",
    "TimeDistributed",
]
