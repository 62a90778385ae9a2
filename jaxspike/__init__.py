"""jaxspike: spiking neural networks in JAX, as pure functions.

The top-level package is the functional core and imports only JAX and NumPy. Flax
modules live in :mod:`jaxspike.nnx` and :mod:`jaxspike.linen`.
"""

from jaxspike import competition as competition
from jaxspike import datasets as datasets
from jaxspike import delays as delays
from jaxspike import encoding as encoding
from jaxspike import events as events
from jaxspike import losses as losses
from jaxspike import plasticity as plasticity
from jaxspike import plot as plot
from jaxspike import readers as readers
from jaxspike import readout as readout
from jaxspike import regularizers as regularizers
from jaxspike._alif import ALIFParams as ALIFParams
from jaxspike._alif import ALIFState as ALIFState
from jaxspike._alif import alif_init as alif_init
from jaxspike._alif import alif_step as alif_step
from jaxspike._cuba_lif import CubaLIFParams as CubaLIFParams
from jaxspike._cuba_lif import CubaLIFState as CubaLIFState
from jaxspike._cuba_lif import cuba_lif_init as cuba_lif_init
from jaxspike._cuba_lif import cuba_lif_step as cuba_lif_step
from jaxspike._fast import event_matmul as event_matmul
from jaxspike._fast import li_parallel as li_parallel
from jaxspike._fast import linear_recurrence as linear_recurrence
from jaxspike._fast import packed_linear as packed_linear
from jaxspike._fast import spike_indices as spike_indices
from jaxspike._if import IFParams as IFParams
from jaxspike._if import IFState as IFState
from jaxspike._if import if_init as if_init
from jaxspike._if import if_step as if_step
from jaxspike._izhikevich import IZHIKEVICH_PRESETS as IZHIKEVICH_PRESETS
from jaxspike._izhikevich import IzhikevichParams as IzhikevichParams
from jaxspike._izhikevich import IzhikevichState as IzhikevichState
from jaxspike._izhikevich import izhikevich_init as izhikevich_init
from jaxspike._izhikevich import izhikevich_step as izhikevich_step
from jaxspike._li import LIParams as LIParams
from jaxspike._li import LIState as LIState
from jaxspike._li import li_init as li_init
from jaxspike._li import li_step as li_step
from jaxspike._lif import CTLIFParams as CTLIFParams
from jaxspike._lif import LIFParams as LIFParams
from jaxspike._lif import LIFState as LIFState
from jaxspike._lif import ctlif_init as ctlif_init
from jaxspike._lif import ctlif_step as ctlif_step
from jaxspike._lif import lif_init as lif_init
from jaxspike._lif import lif_step as lif_step
from jaxspike._registry import NEURONS as NEURONS
from jaxspike._registry import Neuron as Neuron
from jaxspike._registry import NeuronModel as NeuronModel
from jaxspike._registry import create_neuron as create_neuron
from jaxspike._reset import RESETS as RESETS
from jaxspike._reset import fire as fire
from jaxspike._scan import unroll as unroll
from jaxspike._scan import unroll_batch_major as unroll_batch_major
from jaxspike._spike import ForwardMode as ForwardMode
from jaxspike._spike import spike as spike
from jaxspike._surrogates import ATan as ATan
from jaxspike._surrogates import Boxcar as Boxcar
from jaxspike._surrogates import Exponential as Exponential
from jaxspike._surrogates import FastSigmoid as FastSigmoid
from jaxspike._surrogates import Gaussian as Gaussian
from jaxspike._surrogates import Sigmoid as Sigmoid
from jaxspike._surrogates import StraightThrough as StraightThrough
from jaxspike._surrogates import SuperSpike as SuperSpike
from jaxspike._surrogates import Surrogate as Surrogate
from jaxspike._surrogates import Triangle as Triangle
from jaxspike._surrogates import get_surrogate as get_surrogate
from jaxspike._surrogates import surrogate_class as surrogate_class

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
    "competition",
    "datasets",
    "delays",
    "encoding",
    "events",
    "losses",
    "plasticity",
    "plot",
    "readers",
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
