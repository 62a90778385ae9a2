"""Neuron models: one file per family, the spike, the reset rule and the registry.

The spike carries its surrogate gradient; every family shares one spike-and-reset rule.

Each family file holds ``<Model>Params``, ``<Model>State``, ``<model>_init`` and
``<model>_step``; nothing here imports Flax.
"""

from jaxspike.neurons.adlif import AdLIFParams as AdLIFParams
from jaxspike.neurons.adlif import AdLIFState as AdLIFState
from jaxspike.neurons.adlif import adlif_init as adlif_init
from jaxspike.neurons.adlif import adlif_step as adlif_step
from jaxspike.neurons.alif import ALIFParams as ALIFParams
from jaxspike.neurons.alif import ALIFState as ALIFState
from jaxspike.neurons.alif import alif_init as alif_init
from jaxspike.neurons.alif import alif_step as alif_step
from jaxspike.neurons.cuba_lif import CubaLIFParams as CubaLIFParams
from jaxspike.neurons.cuba_lif import CubaLIFState as CubaLIFState
from jaxspike.neurons.cuba_lif import cuba_lif_init as cuba_lif_init
from jaxspike.neurons.cuba_lif import cuba_lif_step as cuba_lif_step
from jaxspike.neurons.declare import NeuronModel as NeuronModel
from jaxspike.neurons.declare import declare as declare
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
from jaxspike.neurons.registry import create_neuron as create_neuron
from jaxspike.neurons.registry import register as register
from jaxspike.neurons.reset import RESETS as RESETS
from jaxspike.neurons.reset import Trace as Trace
from jaxspike.neurons.reset import fire as fire
from jaxspike.neurons.reset import spike_and_reset as spike_and_reset
from jaxspike.neurons.reset import step_with_trace as step_with_trace
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

__all__ = [
    "AdLIFParams",
    "AdLIFState",
    "adlif_init",
    "adlif_step",
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
    "IZHIKEVICH_PRESETS",
    "IzhikevichParams",
    "IzhikevichState",
    "LIFParams",
    "LIFState",
    "LIParams",
    "LIState",
    "NEURONS",
    "Neuron",
    "NeuronModel",
    "RESETS",
    "Sigmoid",
    "StraightThrough",
    "SuperSpike",
    "Surrogate",
    "Trace",
    "Triangle",
    "alif_init",
    "alif_step",
    "create_neuron",
    "declare",
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
    "li_step",
    "register",
    "lif_init",
    "lif_step",
    "spike",
    "spike_and_reset",
    "step_with_trace",
    "surrogate_class",
]
