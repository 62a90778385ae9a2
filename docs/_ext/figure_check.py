"""Fail the HTML build when a page refers to a missing or empty picture.

After the build, every ``<img src=...>`` of every HTML page that points into the built
site is checked: the file must exist, be non-empty and, for PNG files (the plot
directive's output), decode to an image that is not a single flat colour. Any failure
raises an error that names the page and the image, so ``sphinx -W`` exits non-zero.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            src = dict(attrs).get("src")
            self.sources.append(src or "")


def image_problem(path: Path) -> str | None:
    """Why the image at ``path`` is unusable, or ``None`` when it is fine."""
    if not path.is_file():
        return "is missing"
    if path.stat().st_size == 0:
        return "is empty (0 bytes)"
    if path.suffix.lower() == ".png":
        import matplotlib.image as mpimg
        import numpy as np

        try:
            pixels = np.asarray(mpimg.imread(path))
        except Exception as err:  # a corrupt file: report it, do not crash the check
            return f"cannot be decoded ({err})"
        if pixels.ndim < 2 or min(pixels.shape[:2]) < 2:
            return f"has no area (shape {pixels.shape})"
        if float(pixels.max() - pixels.min()) == 0.0:
            return "is a single flat colour (an empty figure)"
    return None


def check_site(outdir: Path) -> list[str]:
    """All problems of the local images referenced by the HTML pages under ``outdir``."""
    problems = []
    for page in sorted(outdir.rglob("*.html")):
        parser = _Images()
        parser.feed(page.read_text(encoding="utf-8"))
        for src in parser.sources:
            page_name = page.relative_to(outdir)
            if not src:
                problems.append(f"{page_name}: an <img> has no src")
                continue
            url = urlsplit(src)
            if url.scheme or url.netloc:  # remote images are the browser check's business
                continue
            target = (page.parent / unquote(url.path)).resolve()
            why = image_problem(target)
            if why:
                problems.append(f"{page_name}: image {src} {why}")
    return problems


def _check(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    problems = check_site(Path(app.outdir))
    if problems:
        raise ExtensionError(
            "figure_check: referenced figures are missing or empty:\n  " + "\n  ".join(problems)
        )
    logger.info("figure_check: every referenced image exists and is non-empty")


def setup(app):
    app.connect("build-finished", _check)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
