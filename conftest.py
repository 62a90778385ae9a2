"""Test configuration for the whole repository: tests, doctests and the docs pages."""

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


# Sphinx's configuration is not a test module (it needs the docs extra to import).
collect_ignore = ["docs/conf.py"]
