"""Training helpers: a jit-compiled train step, evaluation and exact checkpoints.

These are short on purpose: read them, copy them, change them. Nothing here is
specific to spiking networks except that gradients flow through the surrogate.
A ``loss_fn(model, batch) -> (loss, logits)`` is the only contract (the Flax
tutorials' shape); ``batch`` is any pytree, by default ``(inputs, labels)``.
"""

from __future__ import annotations

import functools
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

LossFn = Callable[[Any, Any], tuple[jax.Array, jax.Array]]


@functools.partial(nnx.jit, static_argnames=("loss_fn",))
def train_step(
    model: nnx.Module, optimizer: nnx.Optimizer, batch: Any, loss_fn: LossFn
) -> tuple[jax.Array, jax.Array]:
    """One jit-compiled optimization step; updates ``model`` and ``optimizer`` in place.

    Args:
        model: the NNX model.
        optimizer: ``nnx.Optimizer(model, tx, wrt=nnx.Param)`` with any optax ``tx``.
        batch: passed to ``loss_fn``.
        loss_fn: ``loss_fn(model, batch) -> (loss, logits)``; a module-level function
            (it is a static argument: the same function never recompiles).

    Returns:
        ``(loss, logits)`` before the update.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> from flax import nnx
        >>> model = nnx.Linear(2, 1, rngs=nnx.Rngs(0))
        >>> opt = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)
        >>> def loss_fn(m, batch):
        ...     y = m(batch[0])
        ...     return jnp.mean((y - batch[1]) ** 2), y
        >>> batch = (jnp.ones((4, 2)), jnp.zeros((4, 1)))
        >>> first, _ = train_step(model, opt, batch, loss_fn)
        >>> second, _ = train_step(model, opt, batch, loss_fn)
        >>> bool(second < first)
        True
    """
    (loss, logits), grads = nnx.value_and_grad(_checked(loss_fn, "train_step"), has_aux=True)(
        model, batch
    )
    optimizer.update(model, grads)
    return loss, logits


def _checked(loss_fn: LossFn, owner: str) -> LossFn:
    """``loss_fn`` with its return value checked: a pair ``(loss, aux)``, ``loss`` a scalar."""
    if not callable(loss_fn):
        raise TypeError(f"{owner}: loss_fn must be a function (model, batch), got {loss_fn!r}.")

    def checked(model: Any, batch: Any) -> tuple[jax.Array, jax.Array]:
        out = loss_fn(model, batch)
        name = getattr(loss_fn, "__name__", repr(loss_fn))
        if not isinstance(out, tuple) or len(out) != 2:
            got = (
                f"a tuple of {len(out)}"
                if isinstance(out, tuple)
                else f"{type(out).__name__} of shape {jnp.shape(out)}"
            )
            raise TypeError(
                f"{owner}: loss_fn ({name}) must return a pair (loss, aux) such as "
                f"(loss, logits), got {got}; end it with `return loss, logits` (aux may be "
                "None for train_step; eval_step needs the logits)."
            )
        if jnp.shape(out[0]) != ():
            raise TypeError(
                f"{owner}: the loss returned by loss_fn ({name}) must be a scalar, got shape "
                f"{jnp.shape(out[0])}; reduce it, e.g. with jnp.mean."
            )
        return out

    return checked


@functools.partial(nnx.jit, static_argnames=("loss_fn",))
def eval_step(model: nnx.Module, batch: Any, loss_fn: LossFn) -> tuple[jax.Array, jax.Array]:
    """Jit-compiled ``(loss, number of correct predictions)`` on one ``(inputs, labels)``."""
    loss, logits = _checked(loss_fn, "eval_step")(model, batch)
    return loss, jnp.sum(jnp.argmax(logits, axis=-1) == batch[1])


def evaluate(model: nnx.Module, batches: Iterable[Any], loss_fn: LossFn) -> dict[str, float]:
    """Mean loss and accuracy over ``(inputs, labels)`` batches (weighted by size).

    Put the model in evaluation mode first (``model.eval()``) if it has dropout or
    batch normalization.

    Returns:
        ``{"loss": ..., "accuracy": ...}``.
    """
    total = correct = loss_sum = 0.0
    for batch in batches:
        n = len(batch[1])
        # nnx.jit's wrapper type hides eval_step's signature from type checkers.
        loss, hits = cast(Any, eval_step)(model, batch, loss_fn)
        loss_sum += float(loss) * n
        correct += float(hits)
        total += n
    if not total:
        raise ValueError("evaluate: batches is empty.")
    return {"loss": loss_sum / total, "accuracy": correct / total}


_LATEST = "LATEST"
_PREFIX = "ckpt-"


def _flat_state(node: Any) -> dict[str, Any]:
    """The node's state (random streams excluded) as ``{"a.b.c": array}``."""
    state = nnx.to_pure_dict(nnx.state(node, nnx.Not(nnx.RngState)))
    return {".".join(map(str, k)): v for k, v in nnx.traversals.flatten_mapping(state).items()}


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _checkpoint_dir(fn: str, path: Path) -> Path:
    """The committed orbax directory that ``path/LATEST`` names."""
    if not path.exists():
        raise FileNotFoundError(f"{fn}: no checkpoint at {path}.")
    if not path.is_dir():
        raise ValueError(
            f"{fn}: {path} is a file; a jaxspike checkpoint is a directory written by "
            "save_checkpoint (an orbax checkpoint plus a LATEST pointer)."
        )
    latest = path / _LATEST
    try:
        name = latest.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(
            f"{fn}: {path} holds no complete checkpoint (no {_LATEST} file); expected a "
            "directory written by save_checkpoint."
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{fn}: {latest} is unreadable ({err}).") from None
    target = path / name
    if not name.startswith(_PREFIX) or "/" in name or not target.is_dir():
        raise ValueError(
            f"{fn}: {latest} names {name!r}, which is not a checkpoint directory inside "
            f"{path}; the checkpoint is corrupt."
        )
    return target


def save_checkpoint(path: str | os.PathLike[str], node: Any) -> None:
    """Write the state of an NNX module (or optimizer) to the directory ``path`` with orbax.

    ``path`` is a directory holding one committed orbax checkpoint and a ``LATEST``
    file that names it. A save writes a new orbax checkpoint next to the old one (orbax
    commits it with a rename when complete), then replaces ``LATEST`` atomically
    (temporary file and :func:`os.replace`), then deletes the old one. A process killed
    at any moment leaves either the previous or the new checkpoint loadable, never a
    partial one.

    Random-number streams are not saved. Arrays are stored bit for bit, so a restored
    model gives identical outputs.

    Raises:
        ValueError: if ``path`` is a file, or a non-empty directory that is not a
            checkpoint (nothing is overwritten).
    """
    import orbax.checkpoint as ocp

    fn = "save_checkpoint"
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"{fn}: {path} is a file; save_checkpoint writes a directory (orbax "
            "checkpoint). Choose a new path."
        )
    path.mkdir(parents=True, exist_ok=True)
    foreign = [
        p.name
        for p in path.iterdir()
        if not (p.name == _LATEST or p.name.startswith((_PREFIX, "." + _LATEST)))
    ]
    if foreign:
        raise ValueError(
            f"{fn}: {path} is a directory that is not a jaxspike checkpoint (it holds "
            f"{sorted(foreign)[:3]}); refusing to write into it."
        )
    flat = _flat_state(node)
    name = f"{_PREFIX}{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    ocp.PyTreeCheckpointer().save(path / name, flat)
    tmp = path / f".{_LATEST}.{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / _LATEST)
    _fsync_dir(path)
    for old in path.iterdir():
        if old.name != name and old.name.startswith(_PREFIX):
            shutil.rmtree(old, ignore_errors=True)
        elif old.name.startswith("." + _LATEST) and old.name.endswith(".tmp"):
            old.unlink(missing_ok=True)


def load_checkpoint(path: str | os.PathLike[str], node: Any) -> Any:
    """Restore a state written by :func:`save_checkpoint` into ``node``; returns ``node``.

    ``node`` must be built with the same constructor arguments as the saved one: every
    array of the checkpoint must have the path, shape and dtype of the matching array
    of ``node``. Nothing is changed unless all of them match.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if ``path`` is not a complete checkpoint, or a path, shape or dtype
            differs from ``node`` (the message names the first differing path).
    """
    import orbax.checkpoint as ocp

    fn = "load_checkpoint"
    path = Path(path)
    where = _checkpoint_dir(fn, path)
    want = _flat_state(node)
    checkpointer = ocp.PyTreeCheckpointer()
    try:
        meta = checkpointer.metadata(where).item_metadata.tree
        stored = {str(k): (tuple(v.shape), np.dtype(v.dtype)) for k, v in meta.items()}
    except Exception as err:  # orbax raises many types for a damaged directory
        raise ValueError(
            f"{fn}: {where} is not a readable orbax checkpoint ({type(err).__name__}: {err})."
        ) from None
    for key in sorted(set(want) | set(stored)):
        if key not in stored:
            raise ValueError(
                f"{fn}: {path} does not match the model: the checkpoint has no array at "
                f"{key!r}, which the model has; build the "
                "model with the same arguments as the saved one."
            )
        if key not in want:
            raise ValueError(
                f"{fn}: {path} does not match the model: the checkpoint has an array at "
                f"{key!r}, which the model lacks; build the "
                "model with the same arguments as the saved one."
            )
        shape, dtype = stored[key]
        w_shape, w_dtype = tuple(np.shape(want[key])), np.dtype(jnp.asarray(want[key]).dtype)
        if shape != w_shape or dtype != w_dtype:
            raise ValueError(
                f"{fn}: {path} does not match the model: {key!r} is {dtype}{list(shape)} "
                "in the checkpoint but "
                f"{w_dtype}{list(w_shape)} in the model; build the model with the same "
                "arguments (sizes, per-neuron parameters, param_dtype) as the saved one."
            )
    args = {k: ocp.RestoreArgs(restore_type=np.ndarray) for k in stored}
    try:
        restored = checkpointer.restore(where, restore_args=args)
    except Exception as err:  # orbax raises many types for damaged array files
        raise ValueError(
            f"{fn}: could not read the arrays of {where} ({type(err).__name__}: {err})."
        ) from None
    state = nnx.state(node, nnx.Not(nnx.RngState))
    pure = nnx.to_pure_dict(state)
    keys = {".".join(map(str, k)): k for k in nnx.traversals.flatten_mapping(pure)}
    nested = nnx.traversals.unflatten_mapping({keys[k]: jnp.asarray(restored[k]) for k in keys})
    nnx.replace_by_pure_dict(state, nested)
    nnx.update(node, state)
    return node
