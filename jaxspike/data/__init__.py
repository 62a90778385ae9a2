"""Event data: binning of event streams, readers of neuromorphic file formats, bundled data.

- :mod:`jaxspike.data.events`: event streams to dense or index tensors, augmentations;
- :mod:`jaxspike.data.readers`: SHD (HDF5) and N-MNIST (binary) readers and writers;
- :mod:`jaxspike.data.datasets`: the data sets shipped with the package;
- :mod:`jaxspike.data.from_tonic`: tonic's binning and collation rules (tonic optional).
"""

from jaxspike.data import datasets as datasets
from jaxspike.data import events as events
from jaxspike.data import from_tonic as from_tonic
from jaxspike.data import readers as readers

__all__ = ["datasets", "events", "from_tonic", "readers"]
