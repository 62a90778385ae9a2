"""Open the built documentation in headless Chromium and fail on what a reader would see.

Run after the Sphinx build::

    python docs/check_browser.py BUILD_DIR [--screenshots DIR] [--pages index ...]

The HTML is served on 127.0.0.1 by a local HTTP server; every page is opened in Debian's
``chromium`` (``apt-get install chromium``), driven by the ``playwright`` Python package
with ``executable_path`` (no browser is downloaded). After the page's scripts have run and
MathJax has typeset, a page fails if it

* shows raw TeX (``\\(``, ``$$``, ``\\frac`` ... outside code blocks) or a MathJax error,
* has an image that did not load or has no pixels,
* logs a JavaScript error, throws an uncaught exception, or fails to load a resource,
* asks for anything from another host (the site must work offline; such requests are
  blocked and reported).

Exit status 0 when every page is clean, 1 otherwise (each problem is printed), 2 when the
browser or playwright is missing.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Pages whose screenshots the CI keeps: the landing page, a neuron page with math, a
# tutorial with figures.
SCREENSHOT_PAGES = ("index", "neurons/lif", "tutorials/spiking_neuron_basics")

# TeX that MathJax should have replaced. Code blocks are removed before matching.
RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:begin|end)\{|"
    r"\\(?:frac|dfrac|tau|beta|lambda|alpha|theta|mathrm|operatorname|cdot|sum|lfloor|"
    r"rfloor|left|right|infty|sqrt|texttt|tilde)\b"
)

# Visible text of the page without code, scripts and typeset math.
_VISIBLE_TEXT_JS = """() => {
  const root = (document.querySelector('main') || document.body).cloneNode(true);
  root.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea')
      .forEach((e) => e.remove());
  return root.textContent;
}"""

_MATH_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const math = document.querySelectorAll('span.math, div.math');
  let untypeset = 0;
  math.forEach((e) => { if (!e.querySelector('mjx-container')) untypeset += 1; });
  return {
    mathjax: !!(window.MathJax && MathJax.version),
    version: window.MathJax && MathJax.version ? MathJax.version : null,
    elements: math.length,
    untypeset: untypeset,
    errors: Array.from(document.querySelectorAll('mjx-merror'))
        .map((e) => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5),
  };
}"""

_IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) {
    img.loading = 'eager';
    if (!img.complete) {
      await new Promise((ok) => { img.onload = ok; img.onerror = ok; setTimeout(ok, 5000); });
    }
  }
  return imgs.map((img) => ({
    src: img.getAttribute('src'),
    ok: img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
  }));
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the base class names it format
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser may drop a connection early (an aborted 404); that is not an error
        # of the site, and the page's own checks report what the reader sees.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``root`` on an ephemeral port of 127.0.0.1; returns the server and base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def content_pages(root: Path) -> list[str]:
    """Names (without ``.html``) of the documentation pages under ``root``."""
    skip = {"genindex", "search", "py-modindex"}
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root).with_suffix("").as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/", "_modules/")) or rel in skip:
            continue
        pages.append(rel)
    return pages


def check_page(context, base: str, name: str, shot_dir: Path | None) -> list[str]:
    """Open one page and return its problems."""
    problems: list[str] = []
    page = context.new_page()
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    page.on(
        "requestfailed",
        lambda r: (
            problems.append(f"failed to load {r.url} ({r.failure})")
            if urlsplit(r.url).hostname == "127.0.0.1"
            else None
        ),
    )

    def route(r):
        host = urlsplit(r.request.url).hostname
        if urlsplit(r.request.url).scheme in ("data", "blob") or host == "127.0.0.1":
            r.continue_()
        else:
            problems.append(
                f"request to another host (the site must work offline): {r.request.url}"
            )
            r.abort()

    page.route("**/*", route)
    page.goto(base + name + ".html", wait_until="load", timeout=30_000)
    math = page.evaluate(_MATH_JS)
    if math["elements"] and not math["mathjax"]:
        problems.append(f"{math['elements']} formulas but MathJax did not load")
    elif math["untypeset"]:
        problems.append(f"{math['untypeset']} of {math['elements']} formulas not typeset")
    for err in math["errors"]:
        problems.append(f"MathJax error: {err}")
    text = page.evaluate(_VISIBLE_TEXT_JS)
    matches = list(RAW_TEX.finditer(text))
    if matches:
        first = matches[0]
        around = text[max(0, first.start() - 40) : first.end() + 40].replace("\n", " ")
        problems.append(f"raw TeX on the page ({len(matches)} places), first: ...{around}...")
    for img in page.evaluate(_IMAGES_JS):
        if not img["ok"]:
            problems.append(f"image did not load or is empty: {img['src']}")
    if shot_dir is not None and name in SCREENSHOT_PAGES:
        page.wait_for_timeout(300)  # let web fonts settle
        page.screenshot(path=str(shot_dir / (name.replace("/", "-") + ".png")))
        first_img = page.locator("main img")
        if first_img.count():
            first_img.first.scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            page.screenshot(path=str(shot_dir / (name.replace("/", "-") + "-figure.png")))
    page.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the built site; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", type=Path, help="Sphinx HTML output folder")
    parser.add_argument("--screenshots", type=Path, default=None, help="save PNGs here")
    parser.add_argument("--pages", nargs="*", default=None, help="page names (default: all)")
    parser.add_argument("--chromium", default=None, help="browser binary (default: chromium)")
    args = parser.parse_args(argv)

    root = args.build_dir.resolve()
    if not (root / "index.html").is_file():
        print(f"check_browser: {root} has no index.html; build the docs first.", file=sys.stderr)
        return 2
    chromium = args.chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("check_browser: no chromium binary (apt-get install chromium).", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(
            'check_browser: playwright is not installed (pip install -e ".[docs]").',
            file=sys.stderr,
        )
        return 2

    pages = args.pages or content_pages(root)
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    server, base = serve(root)
    failures = 0
    start = time.perf_counter()
    try:
        with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
            browser = pw.chromium.launch_persistent_context(
                profile,
                executable_path=chromium,
                headless=True,
                # headless=True passes --headless; the profile folder is the fresh
                # --user-data-dir.
                args=[f for f in CHROMIUM_FLAGS if f != "--headless"],
                viewport={"width": 1280, "height": 900},
            )
            for name in pages:
                problems = check_page(browser, base, name, args.screenshots)
                for problem in problems:
                    print(f"FAIL {name}: {problem}")
                failures += bool(problems)
            browser.close()
    finally:
        server.shutdown()
    took = time.perf_counter() - start
    print(
        f"check_browser: {len(pages) - failures} of {len(pages)} pages clean "
        f"({took:.1f} s, {Path(chromium).name})"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
