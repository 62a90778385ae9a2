"""The docs pages are doctests; the build helpers beside them are not test modules."""

import sys

import pytest

# They need the docs extra (Sphinx, playwright) to import.
collect_ignore = ["conf.py", "check_browser.py", "_ext"]


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a page draws (its plot blocks are doctests too)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
