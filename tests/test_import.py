"""``import jaxspike`` stays light: no Flax, Optax or Matplotlib."""

import subprocess
import sys


def test_import_does_not_pull_heavy_dependencies():
    code = (
        "import sys, jaxspike, jaxspike.testing\n"
        "bad = sorted(m for m in ('flax', 'optax', 'matplotlib') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import jaxspike imported {out.stdout.strip()}"


def test_public_names_are_exported():
    import jaxspike

    missing = [name for name in jaxspike.__all__ if not hasattr(jaxspike, name)]
    assert missing == []
    assert jaxspike.__version__
