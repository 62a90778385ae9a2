"""The public API is curated and documented: every public module declares ``__all__``,
every public name has a docstring and an entry in ``docs/api.md``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"
ROOTS = ("jaxspike", "jaxspike.nnx", "jaxspike.linen", "jaxspike.nir")


def _public_modules() -> list[types.ModuleType]:
    found: dict[str, types.ModuleType] = {}

    def walk(name: str) -> None:
        module = importlib.import_module(name)
        found[name] = module
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if not info.name.startswith("_"):
                walk(f"{name}.{info.name}")

    for root in ROOTS:
        walk(root)
    return list(found.values())


MODULES = _public_modules()


def _public_objects() -> dict[int, tuple[object, list[str]]]:
    """Every public object (by identity) with all the public paths it is reachable by."""
    objects: dict[int, tuple[object, list[str]]] = {}
    for module in MODULES:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                continue
            objects.setdefault(id(obj), (obj, []))[1].append(f"{module.__name__}.{name}")
    return objects


def _documented() -> set[str]:
    text = API_PAGE.read_text()
    pattern = r"\.\. (?:auto|py:)(?:function|class|data|attribute)::\s+(\S+)"
    direct = set(re.findall(pattern, text))
    for module in re.findall(r"\.\. automodule::\s+(\S+)\s*\n\s+:members:", text):
        direct |= {f"{module}.{n}" for n in importlib.import_module(module).__all__}
    return direct


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_every_public_module_declares_all(module: types.ModuleType) -> None:
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), (
        f"{module.__name__} has no __all__"
    )
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{module.__name__}.__all__ names missing attributes: {missing}"


def test_every_public_callable_has_a_docstring() -> None:
    bare = [
        paths[0]
        for obj, paths in _public_objects().values()
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(obj)
    ]
    assert not bare, f"public names without a docstring: {sorted(bare)}"


def test_every_public_name_is_in_the_api_reference() -> None:
    documented = _documented()
    missing = [paths[0] for _, paths in _public_objects().values() if not set(paths) & documented]
    assert not missing, f"docs/api.md has no entry for: {sorted(missing)}"


def test_the_checks_would_catch_a_gap() -> None:
    objects = _public_objects()
    assert len(objects) > 100  # the walk really sees the API
    assert "jaxspike.lif_step" in _documented()
