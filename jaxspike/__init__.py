"""jaxspike: spiking neural networks in JAX, as pure functions.

The top-level package is the functional core and imports only JAX and NumPy. Flax
modules live in :mod:`jaxspike.nnx` and :mod:`jaxspike.linen`.
"""

from jaxspike import data as data
from jaxspike import delays as delays
from jaxspike import encoding as encoding
from jaxspike import losses as losses
from jaxspike import neurons as neurons
from jaxspike import ops as ops
from jaxspike import plasticity as plasticity
from jaxspike import plot as plot
from jaxspike import readout as readout
from jaxspike import regularizers as regularizers
from jaxspike.neurons.alif import ALIFParams as ALIFParams
from jaxspike.neurons.alif import ALIFState as ALIFState
from jaxspike.neurons.alif import alif_init as alif_init
from jaxspike.neurons.alif import alif_step as alif_step
from jaxspike.neurons.cuba_lif import CubaLIFParams as CubaLIFParams
from jaxspike.neurons.cuba_lif import CubaLIFState as CubaLIFState
from jaxspike.neurons.cuba_lif import cuba_lif_init as cuba_lif_init
from jaxspike.neurons.cuba_lif import cuba_lif_step as cuba_lif_step
from jaxspike.neurons.iaf import IFParams as IFParams
from jaxspike.neurons.iaf import IFState as IFState
from jaxspike.neurons.iaf import if_init as if_init
from jaxspike.neurons.iaf import if_step as if_step
from jaxspike.neurons.izhikevich import IZHIKEVICH_PRESETS as IZHIKEVICH_PRESETS
from jaxspike.neurons.izhikevich import IzhikevichParams as IzhikevichParams
from jaxspike.neurons.izhikevich import IzhikevichState as IzhikevichState
from jaxspike.neurons.izhikevich import izhikevich_init as izhikevich_init
from jaxspike.neurons.izhikevich import izhikevich_step as izhikevich_step
from jaxspike.neurons.li import LIParams as LIParams
from jaxspike.neurons.li import LIState as LIState
from jaxspike.neurons.li import li_init as li_init
from jaxspike.neurons.li import li_step as li_step
from jaxspike.neurons.lif import CTLIFParams as CTLIFParams
from jaxspike.neurons.lif import LIFParams as LIFParams
from jaxspike.neurons.lif import LIFState as LIFState
from jaxspike.neurons.lif import ctlif_init as ctlif_init
from jaxspike.neurons.lif import ctlif_step as ctlif_step
from jaxspike.neurons.lif import lif_init as lif_init
from jaxspike.neurons.lif import lif_step as lif_step
from jaxspike.neurons.registry import NEURONS as NEURONS
from jaxspike.neurons.registry import Neuron as Neuron
from jaxspike.neurons.registry import NeuronModel as NeuronModel
from jaxspike.neurons.registry import create_neuron as create_neuron
from jaxspike.neurons.reset import RESETS as RESETS
from jaxspike.neurons.reset import fire as fire
from jaxspike.neurons.spike import ForwardMode as ForwardMode
from jaxspike.neurons.spike import spike as spike
from jaxspike.neurons.surrogates import ATan as ATan
from jaxspike.neurons.surrogates import Boxcar as Boxcar
from jaxspike.neurons.surrogates import Exponential as Exponential
from jaxspike.neurons.surrogates import FastSigmoid as FastSigmoid
from jaxspike.neurons.surrogates import Gaussian as Gaussian
from jaxspike.neurons.surrogates import Sigmoid as Sigmoid
from jaxspike.neurons.surrogates import StraightThrough as StraightThrough
from jaxspike.neurons.surrogates import SuperSpike as SuperSpike
from jaxspike.neurons.surrogates import Surrogate as Surrogate
from jaxspike.neurons.surrogates import Triangle as Triangle
from jaxspike.neurons.surrogates import get_surrogate as get_surrogate
from jaxspike.neurons.surrogates import surrogate_class as surrogate_class
from jaxspike.ops.fast import event_matmul as event_matmul
from jaxspike.ops.fast import li_parallel as li_parallel
from jaxspike.ops.fast import linear_recurrence as linear_recurrence
from jaxspike.ops.fast import packed_linear as packed_linear
from jaxspike.ops.fast import spike_indices as spike_indices
from jaxspike.ops.scan import unroll as unroll
from jaxspike.ops.scan import unroll_batch_major as unroll_batch_major

__version__ = "0.1.0"

__all__ = [
    "IZHIKEVICH_PRESETS",
    "NEURONS",
    "RESETS",
    "ALIFParams",
    "ALIFState",
    "ATan",
    "Boxcar",
    "CTLIFParams",
    "CubaLIFParams",
    "CubaLIFState",
    "Exponential",
    "FastSigmoid",
    "ForwardMode",
    "Gaussian",
    "IFParams",
    "IFState",
    "IzhikevichParams",
    "IzhikevichState",
    "LIFParams",
    "LIFState",
    "LIParams",
    "LIState",
    "Neuron",
    "NeuronModel",
    "Sigmoid",
    "StraightThrough",
    "SuperSpike",
    "Surrogate",
    "Triangle",
    "__version__",
    "data",
    "neurons",
    "ops",
    "delays",
    "encoding",
    "losses",
    "plasticity",
    "plot",
    "readout",
    "regularizers",
    "alif_init",
    "alif_step",
    "create_neuron",
    "event_matmul",
    "ctlif_init",
    "ctlif_step",
    "cuba_lif_init",
    "cuba_lif_step",
    "fire",
    "get_surrogate",
    "if_init",
    "if_step",
    "izhikevich_init",
    "izhikevich_step",
    "li_init",
    "li_parallel",
    "li_step",
    "lif_init",
    "lif_step",
    "linear_recurrence",
    "packed_linear",
    "spike",
    "spike_indices",
    "surrogate_class",
    "unroll",
    "unroll_batch_major",
]
