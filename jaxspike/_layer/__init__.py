"""Flax-free code shared by the NNX and Linen wrappers (internal).

Both :mod:`jaxspike.nnx` and :mod:`jaxspike.linen` build their layers from these pieces,
so neither imports the other's internals.
"""
