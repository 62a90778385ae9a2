"""A dependency-free text progress bar for training loops (written to stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TextIO, TypeVar

T = TypeVar("T")


class ProgressBar(Generic[T]):
    """Wrap an iterable and redraw ``desc [#####.....] i/n  elapsed  key=value`` on one line.

    Args:
        iterable: what to iterate over.
        total: its length (default ``len(iterable)``).
        desc: a label in front of the bar.
        width: characters of the bar.
        file: where to write (default ``sys.stderr``).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = ProgressBar(range(4), desc="epoch", width=4, file=out)
        >>> for _ in bar:
        ...     bar.set_postfix(loss=0.5)
        >>> out.getvalue().splitlines()[-1].split("]")[0]
        'epoch [####'
    """

    def __init__(
        self,
        iterable: Iterable[T],
        total: int | None = None,
        *,
        desc: str = "",
        width: int = 30,
        file: TextIO | None = None,
    ):
        self.iterable = iterable
        self.total = total if total is not None else len(iterable)  # type: ignore[arg-type]
        self.desc = desc
        self.width = width
        self.file = file
        self.postfix = ""
        self.count = 0
        self.start = time.perf_counter()

    def set_postfix(self, **values: Any) -> None:
        """Show ``key=value`` pairs after the bar (floats with 4 significant digits)."""
        self.postfix = "  ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        )
        self._draw()

    def _draw(self) -> None:
        file = self.file if self.file is not None else sys.stderr
        done = int(self.width * self.count / max(self.total, 1))
        bar = "#" * done + "." * (self.width - done)
        elapsed = time.perf_counter() - self.start
        line = f"{self.desc} [{bar}] {self.count}/{self.total} {elapsed:5.1f}s  {self.postfix}"
        file.write("\r" + line.rstrip())
        file.flush()

    def __iter__(self) -> Iterator[T]:
        self._draw()
        for item in self.iterable:
            yield item
            self.count += 1
            self._draw()
        (self.file if self.file is not None else sys.stderr).write("\n")
