"""Local learning rules: spike-timing-dependent plasticity and competition between neurons.

:mod:`jaxspike.plasticity.stdp` holds the STDP rules (pair-based traces, the Kheradpisheh
et al. 2018 simplified rule, reward-modulated STDP); :mod:`jaxspike.plasticity.competition`
holds winner-take-all and lateral inhibition for unsupervised feature learning.
"""

from jaxspike.plasticity import competition as competition
from jaxspike.plasticity.stdp import *  # noqa: F403
from jaxspike.plasticity.stdp import __all__ as _stdp_all

__all__ = ["competition", *_stdp_all]
