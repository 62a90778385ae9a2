"""Test configuration for the whole repository: tests, doctests and the docs pages."""

import contextlib

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def x64():
    """Enable float64 for one test."""
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", False)


@pytest.fixture
def graph_mode():
    """``graph_mode(graph)``: a context for NNX graph (True) or tree (False) mode.

    ``nnx.set_graph_mode`` exists from flax 0.12.6 on; older releases (down to the
    declared minimum) have graph mode only, so tree-mode cases skip there.
    """
    from flax import nnx

    def enter(graph: bool):
        if hasattr(nnx, "set_graph_mode"):
            return nnx.set_graph_mode(graph)
        if not graph:
            pytest.skip("flax < 0.12.6 has no tree mode (nnx.set_graph_mode)")
        return contextlib.nullcontext()

    return enter


# Sphinx's configuration is not a test module (it needs the docs extra to import).
collect_ignore = ["docs/conf.py"]
