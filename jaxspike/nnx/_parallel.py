"""Data-parallel training over several devices with :mod:`jax.sharding`.

The recipe is GSPMD's: put the model and optimizer state on every device (replicated),
split each batch along its batch axis over a one-axis :class:`jax.sharding.Mesh`, and
call the ordinary jit-compiled :func:`jaxspike.nnx.train_step`. XLA partitions the
computation by the input shardings: each device runs its slice of the batch, the
gradient of the mean loss is summed over devices (an all-reduce), and every device
applies the same update, so the parameters stay replicated and equal to a single-device
run up to float summation order.

Larger layers can be split over devices the same way by giving their kernels a
:class:`~jax.sharding.PartitionSpec` over a second mesh axis (see
``docs/benchmarks.md``, "Sharding larger layers").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def data_mesh(devices: Sequence[Any] | None = None, axis_name: str = "data") -> Mesh:
    """A one-axis mesh over ``devices`` (default: all of :func:`jax.devices`).

    Example:
        >>> mesh = data_mesh()
        >>> mesh.axis_names, mesh.size == len(jax.devices())
        (('data',), True)
    """
    devs = np.asarray(list(jax.devices() if devices is None else devices))
    if devs.size == 0:
        raise ValueError("data_mesh: devices is empty.")
    return Mesh(devs, (axis_name,))


def replicate(*nodes: Any, mesh: Mesh) -> None:
    """Place the state of NNX modules/optimizers on every device of ``mesh``, in place.

    Example:
        >>> from flax import nnx
        >>> model = nnx.Linear(2, 3, rngs=nnx.Rngs(0))
        >>> replicate(model, mesh=data_mesh())
        >>> model.kernel[...].sharding.is_fully_replicated
        True
    """
    full = NamedSharding(mesh, PartitionSpec())
    for node in nodes:
        state = nnx.state(node)
        nnx.update(node, jax.device_put(state, full))


def shard_batch(batch: Any, mesh: Mesh, *, batch_axis: int = 0, axis_name: str = "data") -> Any:
    """Split every array of ``batch`` along ``batch_axis`` over the mesh axis ``axis_name``.

    Args:
        batch: a pytree of arrays sharing the batch size on ``batch_axis`` (labels
            ``[B]`` and inputs ``[B, T, ...]``; time-major inputs ``[T, B, ...]`` need
            ``batch_axis=1`` and are sharded on that axis while 1-D leaves use axis 0).
        mesh: from :func:`data_mesh`.
        batch_axis: the batch axis of the inputs.
        axis_name: the mesh axis to split over.

    Returns:
        The batch as sharded :class:`jax.Array` s.

    Raises:
        ValueError: when a batch size is not divisible by the number of devices.

    Example:
        >>> import jax.numpy as jnp
        >>> mesh = data_mesh()
        >>> x = shard_batch(jnp.ones((len(jax.devices()) * 2, 3)), mesh)
        >>> x.sharding.spec
        P('data', None)
    """
    n = mesh.shape[axis_name]

    def put(a: Any) -> jax.Array:
        a = jax.numpy.asarray(a)
        axis = batch_axis if a.ndim > batch_axis else 0
        if a.ndim == 0 or a.shape[axis] % n:
            raise ValueError(
                f"shard_batch: an array of shape {a.shape} cannot be split over {n} devices "
                f"on axis {axis}; make the batch size a multiple of {n}."
            )
        spec: list[str | None] = [None] * a.ndim
        spec[axis] = axis_name
        return jax.device_put(a, NamedSharding(mesh, PartitionSpec(*spec)))

    return jax.tree.map(put, batch)
