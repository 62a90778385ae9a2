"""Sphinx configuration for the jaxspike documentation.

Build (CI runs exactly this, warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pictures are drawn during the build by matplotlib's plot directive; none is committed.
In a MyST page write a plot as an ``eval-rst`` block (MyST's own ``{plot}`` fence
cannot run it)::

    ```{eval-rst}
    .. plot::

       import matplotlib.pyplot as plt
       plt.plot([0, 1], [0, 1])
    ```

In tutorials, write the plot's code in doctest form (``>>>`` lines, a blank line before
the closing fence) with ``:include-source: true``: the code the reader sees is then the
code that draws the figure and the code that the page's doctests run.

The build needs no network access, and neither do the built pages: MathJax is copied
into the site from the ``sphinx-mathjax-offline`` package (``_ext/local_mathjax.py``).
``_ext/figure_check.py`` fails the build when a page refers to a missing or empty image;
``check_browser.py`` then opens the key pages in headless Chromium.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

from matplotlib.sphinxext.plot_directive import PlotDirective

import jaxspike

project = "jaxspike"
author = "jaxspike developers"
copyright = "jaxspike developers"
release = jaxspike.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "matplotlib.sphinxext.plot_directive",
    "local_mathjax",
    "figure_check",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

# -- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# -- autodoc / napoleon ----------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Not True: Sphinx then replaces the documented functions' default values in place
# (with objects that only print like them), and the plots run later in the same
# process would call jaxspike with those.
autodoc_preserve_defaults = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Render ``Attributes:`` sections as field lists: NamedTuple fields are then not
# described twice (once by napoleon, once by autodoc).
napoleon_use_ivar = True

# -- intersphinx -----------------------------------------------------------------------
# The build runs without network access (CI), so no inventory is fetched.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

# -- matplotlib plot directive ---------------------------------------------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.4, 3.2), "figure.dpi": 100, "savefig.bbox": "tight"}
plot_apply_rcparams = True
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"

# -- HTML ------------------------------------------------------------------------------
# sphinx-book-theme, as in the JAX, Flax and optax documentation. Each page offers its
# source (the download button and the "Show Source" link in the footer lead to the page's
# Markdown, copied into the site), the version is in the title and the footer, and nothing
# is loaded from another host.
html_theme = "sphinx_book_theme"
html_title = f"jaxspike {release}"
html_copy_source = True
html_show_sourcelink = True
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "footer_content_items": ["copyright.html", "sourcelink.html", "extra-footer.html"],
    "extra_footer": f"<p>jaxspike {release}</p>",
}
# A fixed light mode: the theme logs a console error on a first visit without it.
html_context = {"default_mode": "light"}
html_static_path: list[str] = []


# -- plots in MyST pages ---------------------------------------------------------------
class _NamedPlotDirective(PlotDirective):
    """The plot directive with a unique default ``:filename-prefix:`` per page.

    Each ``eval-rst`` block is parsed as its own document, so the plot directive's
    per-document counter restarts and two plots of one page would otherwise write the
    same image file (the second silently replacing the first). Plots are numbered per
    page instead: ``<page>-plot-<n>``.
    """

    def run(self):
        env = self.state.document.settings.env
        count = env.temp_data.get("jaxspike_plot_count", 0) + 1
        env.temp_data["jaxspike_plot_count"] = count
        if not self.options.get("filename-prefix") and not self.arguments:
            page = env.docname.replace("/", "-").replace(".", "-")
            self.options["filename-prefix"] = f"{page}-plot-{count}"
        return super().run()


def setup(app):
    app.add_directive("plot", _NamedPlotDirective, override=True)
