"""Flax NNX modules for jaxspike: cells, layers, composition and training helpers.

Cells (``LIFCell``, ...) follow Flax's RNN-cell contract and work inside
:class:`flax.nnx.RNN`; layers (``LIF``, ...) scan a whole sequence with
:func:`jaxspike.unroll` and copy ``nnx.RNN``'s call surface. :class:`Sequential` makes
a network one module and :class:`Streaming` runs it online, keeping the neuron state in
:class:`NeuronState` variables. Every module only declares parameters and calls the
functional core.
"""

# ANN-to-SNN conversion builds these layers, so it is imported last.
from jaxspike.nnx._cells import AdLIFCell as AdLIFCell
from jaxspike.nnx._cells import ALIFCell as ALIFCell
from jaxspike.nnx._cells import CTLIFCell as CTLIFCell
from jaxspike.nnx._cells import CubaLIFCell as CubaLIFCell
from jaxspike.nnx._cells import Fixed as Fixed
from jaxspike.nnx._cells import IFCell as IFCell
from jaxspike.nnx._cells import IzhikevichCell as IzhikevichCell
from jaxspike.nnx._cells import LICell as LICell
from jaxspike.nnx._cells import LIFCell as LIFCell
from jaxspike.nnx._cells import NeuronCell as NeuronCell
from jaxspike.nnx._cells import SpikingCell as SpikingCell
from jaxspike.nnx._cells import cell_class as cell_class
from jaxspike.nnx._compose import Sequential as Sequential
from jaxspike.nnx._compose import Streaming as Streaming
from jaxspike.nnx._compose import TimeDistributed as TimeDistributed
from jaxspike.nnx._compose import streamed_layers as streamed_layers
from jaxspike.nnx._delays import Delay as Delay
from jaxspike.nnx._delays import DelayCell as DelayCell
from jaxspike.nnx._delays import DelayedLinear as DelayedLinear
from jaxspike.nnx._fast import Fused as Fused
from jaxspike.nnx._fast import SpikeLinear as SpikeLinear
from jaxspike.nnx._layers import ALIF as ALIF
from jaxspike.nnx._layers import CTLIF as CTLIF
from jaxspike.nnx._layers import IF as IF
from jaxspike.nnx._layers import LI as LI
from jaxspike.nnx._layers import LIF as LIF
from jaxspike.nnx._layers import RNN as RNN
from jaxspike.nnx._layers import AdLIF as AdLIF
from jaxspike.nnx._layers import CubaLIF as CubaLIF
from jaxspike.nnx._layers import Izhikevich as Izhikevich
from jaxspike.nnx._layers import NeuronState as NeuronState
from jaxspike.nnx._layers import RecurrentCell as RecurrentCell
from jaxspike.nnx._layers import RecurrentState as RecurrentState
from jaxspike.nnx._layers import Trace as Trace
from jaxspike.nnx._layers import layer_class as layer_class
from jaxspike.nnx._parallel import data_mesh as data_mesh
from jaxspike.nnx._parallel import replicate as replicate
from jaxspike.nnx._parallel import shard_batch as shard_batch
from jaxspike.nnx._train import eval_step as eval_step
from jaxspike.nnx._train import evaluate as evaluate
from jaxspike.nnx._train import load_checkpoint as load_checkpoint
from jaxspike.nnx._train import save_checkpoint as save_checkpoint
from jaxspike.nnx._train import train_step as train_step

# isort: split
# ANN-to-SNN conversion builds the layers above, so it is imported last.
from jaxspike.nnx import convert as convert

__all__ = [
    "cell_class",
    "layer_class",
    "convert",
    "Delay",
    "DelayCell",
    "DelayedLinear",
    "Fused",
    "SpikeLinear",
    "data_mesh",
    "replicate",
    "shard_batch",
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
    "Fixed",
    "IFCell",
    "AdLIF",
    "AdLIFCell",
    "Izhikevich",
    "IzhikevichCell",
    "LICell",
    "LIFCell",
    "NeuronCell",
    "NeuronState",
    "RecurrentCell",
    "RecurrentState",
    "Sequential",
    "SpikingCell",
    "Streaming",
    "TimeDistributed",
    "Trace",
    "streamed_layers",
    "eval_step",
    "evaluate",
    "load_checkpoint",
    "save_checkpoint",
    "train_step",
]
