"""Training helpers: a jit-compiled train step, evaluation and exact checkpoints.

These are short on purpose: read them, copy them, change them. Nothing here is
specific to spiking networks except that gradients flow through the surrogate.
A ``loss_fn(model, batch) -> (loss, logits)`` is the only contract (the Flax
tutorials' shape); ``batch`` is any pytree, by default ``(inputs, labels)``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx, serialization

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
        loss, hits = eval_step(model, batch, loss_fn)
        loss_sum += float(loss) * n
        correct += float(hits)
        total += n
    if not total:
        raise ValueError("evaluate: batches is empty.")
    return {"loss": loss_sum / total, "accuracy": correct / total}


def save_checkpoint(path: str | os.PathLike[str], node: Any) -> None:
    """Write the state of an NNX module (or optimizer) to ``path`` (msgpack, exact).

    Random-number streams are not saved. Arrays are stored bit for bit, so a restored
    model gives identical outputs.
    """
    state = nnx.state(node, nnx.Not(nnx.RngState))
    with open(path, "wb") as f:
        f.write(serialization.msgpack_serialize(nnx.to_pure_dict(state)))


def load_checkpoint(path: str | os.PathLike[str], node: Any) -> Any:
    """Restore a state written by :func:`save_checkpoint` into ``node``; returns ``node``.

    ``node`` must have the same structure (build it with the same constructor).

    Raises:
        ValueError: when the file does not match the structure of ``node``.
    """
    state = nnx.state(node, nnx.Not(nnx.RngState))
    with open(path, "rb") as f:
        restored = serialization.msgpack_restore(f.read())
    want = jax.tree.structure(nnx.to_pure_dict(state))
    if not isinstance(restored, dict) or jax.tree.structure(restored) != want:
        raise ValueError(
            f"load_checkpoint: {os.fspath(path)!r} does not match the model's structure; "
            "build the model with the same arguments as the saved one."
        )
    nnx.replace_by_pure_dict(state, restored)
    nnx.update(node, state)
    return node
