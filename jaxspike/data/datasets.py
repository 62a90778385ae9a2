"""Data shipped with jaxspike.

:func:`load_digits` returns the 8x8 handwritten digits of the UCI optical-recognition
data set (Alpaydin & Kaynak 1998, CC BY 4.0; see ``jaxspike/data/README.md``).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = [
    "load_digits",
    "train_test_split",
]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the bundled UCI digits.

    Returns:
        ``(images, labels)``: ``images`` is uint8 of shape ``(1797, 8, 8)`` with values
        0..16; ``labels`` is uint8 of shape ``(1797,)`` with values 0..9.

    Example:
        >>> images, labels = load_digits()
        >>> images.shape, int(images.max()), sorted(set(labels.tolist())) == list(range(10))
        ((1797, 8, 8), 16, True)
    """
    with resources.files("jaxspike").joinpath("data/digits.npz").open("rb") as f:
        data = np.load(f)
        return data["images"], data["labels"]


def train_test_split(
    n: int, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic shuffled split of ``range(n)`` into train and test indices.

    Example:
        >>> tr, te = train_test_split(10, 0.2)
        >>> len(tr), len(te), sorted(np.concatenate([tr, te]).tolist()) == list(range(10))
        (8, 2, True)
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"train_test_split: test_fraction must lie in (0, 1), got {test_fraction}."
        )
    order = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_fraction)
    return order[n_test:], order[:n_test]
