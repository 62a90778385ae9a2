"""Flax Linen modules for jaxspike: the same cells, layers and containers as :mod:`jaxspike.nnx`.

Cells (``LIFCell``, ..., ``RecurrentCell``) are :class:`flax.linen.RNNCellBase` and work
inside :class:`flax.linen.RNN`; layers (``LIF``, ..., ``RNN``) scan a sequence with
:func:`jaxspike.unroll`; :class:`Sequential` threads the carries of a whole network.
Every module only declares parameters and calls the core.
"""

from jaxspike.linen._delays import Delay as Delay
from jaxspike.linen._delays import DelayCell as DelayCell
from jaxspike.linen._delays import DelayedDense as DelayedDense
from jaxspike.linen._modules import ALIF as ALIF
from jaxspike.linen._modules import CTLIF as CTLIF
from jaxspike.linen._modules import IF as IF
from jaxspike.linen._modules import LI as LI
from jaxspike.linen._modules import LIF as LIF
from jaxspike.linen._modules import RNN as RNN
from jaxspike.linen._modules import AdLIF as AdLIF
from jaxspike.linen._modules import AdLIFCell as AdLIFCell
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
from jaxspike.linen._modules import RecurrentCell as RecurrentCell
from jaxspike.linen._modules import RecurrentState as RecurrentState
from jaxspike.linen._modules import Sequential as Sequential
from jaxspike.linen._modules import TimeDistributed as TimeDistributed
from jaxspike.linen._modules import Trace as Trace
from jaxspike.linen._modules import cell_class as cell_class
from jaxspike.linen._modules import layer_class as layer_class

__all__ = [
    "cell_class",
    "layer_class",
    "Delay",
    "DelayCell",
    "DelayedDense",
    "ALIF",
    "CTLIF",
    "IF",
    "LI",
    "LIF",
    "RNN",
    "ALIFCell",
    "CTLIFCell",
    "CubaLIF",
    "CubaLIFCell",
    "IFCell",
    "AdLIF",
    "AdLIFCell",
    "Izhikevich",
    "IzhikevichCell",
    "LICell",
    "LIFCell",
    "NeuronCell",
    "RecurrentCell",
    "RecurrentState",
    "Trace",
    "Sequential",
    "TimeDistributed",
]
