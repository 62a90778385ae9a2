"""Serve MathJax from the built site instead of a CDN.

The MathJax 3 files come from the ``sphinx-mathjax-offline`` package on PyPI (installed
by ``pip install -e ".[docs]"``). This extension copies them into ``_static/mathjax``
of the HTML output and points ``mathjax_path`` at the local ``tex-mml-chtml.js``, so the
formulas render without network access (offline builds, firewalled labs, a local
``docs/_build``).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from sphinx.errors import ExtensionError

DISTRIBUTION = "sphinx-mathjax-offline"
ENTRY = "mathjax/tex-mml-chtml.js"


def mathjax_static_dir() -> Path:
    """The folder that holds ``mathjax/`` inside the installed distribution."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as err:
        raise ExtensionError(
            f"local_mathjax: the package {DISTRIBUTION!r} (MathJax 3 for offline use) is not "
            'installed; install the docs dependencies with pip install -e ".[docs]".'
        ) from err
    static = Path(str(dist.locate_file("sphinx-mathjax-offline/static")))
    if not (static / ENTRY).is_file():
        raise ExtensionError(
            f"local_mathjax: expected {ENTRY} under {static}, but it is not there; "
            f"reinstall {DISTRIBUTION}."
        )
    return static


def _configure(app, config) -> None:
    static = mathjax_static_dir()
    config.html_static_path = [*config.html_static_path, str(static)]
    config.mathjax_path = ENTRY


def setup(app):
    app.connect("config-inited", _configure)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
