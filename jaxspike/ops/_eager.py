"""One compiled scan per step signature for un-jitted calls of :func:`jaxspike.unroll`.

Outside :func:`jax.jit`, :func:`jax.lax.scan` compiles its body for every new Python
function object, and a layer builds a new ``functools.partial`` (or closure) on every
call: each un-jitted call used to compile a new scan (issue 16, item 11: +1.7 MB per
call). Here the step is split into a hashable *signature* (the functions, their code,
options and every non-array value) and its *arrays* (parameters, captured constants);
the scan runs inside one :func:`jax.jit` keyed by the signature, so a repeated call
with equal options and same-shaped arrays reuses the compiled scan.

Only values known to be immutable are part of the signature: ``None``, numbers,
strings, bytes, types, dtypes and functions (by identity, read at trace time exactly as
:func:`jax.jit` reads them). A step that captures anything else (a module, a list, a
dict being mutated) is not split and runs as before.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxspike._validate import is_concrete


class _Unsplittable(Exception):
    """The step captures a value that cannot safely be part of a cache key."""


_SCALARS = (type(None), bool, int, float, complex, str, bytes)
_ARRAYS = (jax.Array, np.ndarray, np.generic)


def _split(obj: Any, arrays: list[Any]) -> Any:
    if isinstance(obj, _ARRAYS):
        arrays.append(obj)
        return ("array", len(arrays) - 1)
    if isinstance(obj, _SCALARS):
        return ("value", type(obj), obj)
    if isinstance(obj, (type, np.dtype, types.BuiltinFunctionType)):
        return ("value", type(obj), obj)
    if isinstance(obj, functools.partial):
        return ("partial", _split(obj.func, arrays), _split_tree((obj.args, obj.keywords), arrays))
    if isinstance(obj, types.FunctionType):
        if obj.__closure__ is None or _module_level(obj):
            # a module-level function (decorated or not) is one object for good
            return ("value", types.FunctionType, obj)
        try:
            cells = tuple(c.cell_contents for c in obj.__closure__ or ())
        except ValueError:  # an empty cell (a name assigned after the closure)
            raise _Unsplittable from None
        return (
            "function",
            obj.__code__,
            _Identity(obj.__globals__),
            obj.__name__,
            _split_tree((obj.__defaults__, obj.__kwdefaults__, cells), arrays),
        )
    leaves = jax.tree.leaves(obj)
    if len(leaves) == 1 and leaves[0] is obj:
        raise _Unsplittable  # an opaque object: its state could change between calls
    return _split_tree(obj, arrays)


def _module_level(fn: types.FunctionType) -> bool:
    module = sys.modules.get(fn.__module__ or "")
    return module is not None and getattr(module, fn.__name__, None) is fn


def _split_tree(tree: Any, arrays: list[Any]) -> Any:
    leaves, treedef = jax.tree.flatten(tree, is_leaf=lambda x: x is None)
    return ("tree", treedef, tuple(_split(leaf, arrays) for leaf in leaves))


class _Identity:
    """Hash and compare an unhashable object (a module's globals) by identity."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


def _build(key: Any, arrays: Any) -> Any:
    kind = key[0]
    if kind == "array":
        return arrays[key[1]]
    if kind == "value":
        return key[2]
    if kind == "tree":
        return jax.tree.unflatten(key[1], [_build(k, arrays) for k in key[2]])
    if kind == "partial":
        args, keywords = _build(key[2], arrays)
        return functools.partial(_build(key[1], arrays), *args, **keywords)
    _, code, globs, name, rest = key
    defaults, kwdefaults, cells = _build(rest, arrays)
    fn = types.FunctionType(
        code, globs.obj, name, defaults, tuple(types.CellType(c) for c in cells)
    )
    fn.__kwdefaults__ = kwdefaults
    return fn


def split_step(step: Callable[..., Any]) -> tuple[Any, list[Any]] | None:
    """``(signature, arrays)`` of ``step``, or ``None`` when it cannot be split safely."""
    arrays: list[Any] = []
    try:
        key = _split(step, arrays)
        hash(key)
    except (_Unsplittable, TypeError, RecursionError):
        return None
    return key, arrays


def cached_unroll(
    run: Callable[..., Any], step: Callable[..., Any], state: Any, xs: Any, **options: Any
) -> Any:
    """``run(step, state, xs, **options)`` through one jit per step signature.

    Falls back to calling ``run`` directly under a transformation (tracers anywhere) or
    when ``step`` cannot be split.
    """
    split = split_step(step)
    if split is None or not is_concrete((split[1], state, xs)):
        return run(step, state, xs, **options)
    key, arrays = split
    # (name, type, value): True == 1 must not share a cache entry (unroll=True vs 1)
    opts = tuple((k, type(v), v) for k, v in sorted(options.items()))
    return _jitted(key, opts, arrays, state, xs, run)


@functools.partial(jax.jit, static_argnums=(0, 1, 5))
def _jitted(key: Any, options: Any, arrays: Any, state: Any, xs: Any, run: Any) -> Any:
    return run(_build(key, arrays), state, xs, **{k: v for k, _, v in options})
