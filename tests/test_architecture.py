"""The package layout is the dependency direction: checked on the source, import by import.

- the functional core (everything outside ``nnx``, ``linen``, ``nir`` and the shared wrapper
  internals ``_layer``) never imports flax, orbax or the Flax/NIR packages;
- ``jaxspike._layer`` (code shared by the wrappers) never imports flax;
- ``linen`` never imports ``nnx``, and ``nnx`` never imports ``linen``;
- no module imports a private module or a private name of a sibling package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "jaxspike"
FLAX_PACKAGES = ("nnx", "linen", "nir")


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(path: Path, module: str) -> list[tuple[str, str | None]]:
    """(module imported, name imported from it or None) for every import in a file."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found += [(base, alias.name) for alias in node.names]
    return found


def _package_of(module: str) -> str:
    """The first-level sub-package a module belongs to (``jaxspike`` for top-level ones)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (ROOT / parts[-1]).is_dir() else "jaxspike"


def _is_private_of_other(imported: str, name: str | None, importer: str) -> bool:
    target = f"{imported}.{name}" if name else imported
    parts = target.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            owner = ".".join(parts[:i])  # the package that owns the private part
            if owner == "jaxspike":  # top-level internals (_validate, _layer) are shared
                return False
            return not (importer == owner or importer.startswith(owner + "."))
    return False


MODULES = _modules()


def _core(module: str) -> bool:
    parts = module.split(".")
    return len(parts) == 1 or parts[1] not in (*FLAX_PACKAGES, "_layer")


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_import_direction(module: str, path: Path) -> None:
    bad = []
    for imported, name in _imports(path, module):
        full = f"{imported}.{name}" if name else imported
        top = imported.split(".")[0]
        flax_free = _core(module) or module.startswith("jaxspike._layer")
        if flax_free and (
            top in ("flax", "orbax")
            or any(
                full == f"jaxspike.{p}"
                or full.startswith(f"jaxspike.{p}.")
                or imported == f"jaxspike.{p}"
                or imported.startswith(f"jaxspike.{p}.")
                for p in FLAX_PACKAGES
            )
        ):
            bad.append(f"{full} (the core never imports Flax or the layer packages)")
        for a, b in (("linen", "nnx"), ("nnx", "linen")):
            if module.startswith(f"jaxspike.{a}") and (
                imported.startswith(f"jaxspike.{b}") or full.startswith(f"jaxspike.{b}")
            ):
                bad.append(f"{full} (jaxspike.{a} never imports jaxspike.{b})")
        if imported.startswith("jaxspike") and _is_private_of_other(imported, name, module):
            bad.append(f"{full} (a private name of another package)")
    assert not bad, f"{module} imports: " + "; ".join(bad)


def test_core_import_does_not_load_flax() -> None:
    import subprocess
    import sys

    code = (
        "import sys, jaxspike; "
        "print(any(m.split('.')[0] in ('flax', 'orbax') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_checker_catches_violations() -> None:
    assert _is_private_of_other("jaxspike.nnx._cells", "Fixed", "jaxspike.linen._modules")
    assert _is_private_of_other("jaxspike.nnx.convert", "_helper", "jaxspike.nir._export")
    assert not _is_private_of_other("jaxspike.nnx._cells", "Fixed", "jaxspike.nnx._layers")
    assert not _is_private_of_other("jaxspike._validate", "check_dt", "jaxspike.nir._import")
    assert _package_of("jaxspike.neurons.lif") == "jaxspike.neurons"
