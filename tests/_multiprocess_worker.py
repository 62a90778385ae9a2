"""One process of the multi-process data-parallel test (``tests/test_multiprocess.py``).

Run as ``python _multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT OUT.npz``. Every
process joins JAX's multi-controller runtime (``jax.distributed.initialize`` with the
coordinator on the loopback address, CPU collectives over gloo), builds the same model,
replicates it over the global one-axis mesh (one CPU device per process), and trains a
few Adam steps. Each process holds only its half of every batch: the global batch is
assembled from the process-local rows with :func:`jax.make_array_from_process_local_data`,
so the jit-compiled :func:`jaxspike.nnx.train_step` all-reduces the gradient across the
processes. Process 0 writes the final parameters to ``OUT.npz``.

The same module, imported, gives :func:`train_single` (one process, whole batch), the
reference the test compares against.
"""

from __future__ import annotations

import sys

import jax
import numpy as np

N_IN, N_HID, N_OUT, T, BATCH, STEPS, LR = 12, 16, 5, 9, 8, 4, 1e-2


def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    """The global batches: time-major binary inputs ``[T, BATCH, N_IN]`` and labels."""
    rng = np.random.default_rng(0)
    return [
        (
            (rng.random((T, BATCH, N_IN)) < 0.3).astype(np.float32),
            rng.integers(0, N_OUT, BATCH).astype(np.int32),
        )
        for _ in range(STEPS)
    ]


def make_model():
    """``Linear -> LIF -> Linear -> LIF`` and its Adam optimizer, identical in every process."""
    import optax
    from flax import nnx

    import jaxspike.nnx as jsnnx

    rngs = nnx.Rngs(0)
    model = jsnnx.Sequential(
        nnx.Linear(N_IN, N_HID, kernel_init=nnx.initializers.normal(1.0), rngs=rngs),
        jsnnx.LIF(N_HID),
        nnx.Linear(N_HID, N_OUT, rngs=rngs),
        jsnnx.LIF(N_OUT),
        time_major=True,
    )
    return model, nnx.Optimizer(model, optax.adam(LR), wrt=nnx.Param)


def loss_fn(model, batch):
    """Cross-entropy of the output spike counts (mean over the global batch)."""
    import optax

    counts = model(batch[0]).sum(0)
    loss = optax.softmax_cross_entropy_with_integer_labels(counts, batch[1]).mean()
    return loss, counts


def params(model) -> dict[str, np.ndarray]:
    """The model's parameters as host arrays (this process's replica)."""
    from flax import nnx

    leaves = jax.tree_util.tree_leaves_with_path(nnx.state(model, nnx.Param))
    return {
        jax.tree_util.keystr(path, simple=True, separator="/"): np.asarray(leaf.addressable_data(0))
        for path, leaf in leaves
    }


def train_single() -> dict[str, np.ndarray]:
    """The reference: one process, one device, the whole batch."""
    import jax.numpy as jnp

    import jaxspike.nnx as jsnnx

    model, opt = make_model()
    for x, y in batches():
        jsnnx.train_step(model, opt, (jnp.asarray(x), jnp.asarray(y)), loss_fn)
    return params(model)


def train_distributed(process_id: int, num_processes: int, port: int) -> dict[str, np.ndarray]:
    """Data-parallel training: this process feeds rows ``[i*B/n, (i+1)*B/n)`` of each batch."""
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=30,
    )
    from jax.sharding import NamedSharding, PartitionSpec

    import jaxspike.nnx as jsnnx

    if jax.process_count() != num_processes or len(jax.devices()) != num_processes:
        raise RuntimeError(f"expected {num_processes} processes, got {jax.devices()}")
    mesh = jsnnx.data_mesh()  # global: one CPU device per process
    model, opt = make_model()
    jsnnx.replicate(model, opt, mesh=mesh)
    x_sharding = NamedSharding(mesh, PartitionSpec(None, "data"))  # time-major: batch axis 1
    y_sharding = NamedSharding(mesh, PartitionSpec("data"))
    rows = slice(process_id * BATCH // num_processes, (process_id + 1) * BATCH // num_processes)
    for x, y in batches():
        gx = jax.make_array_from_process_local_data(x_sharding, x[:, rows], x.shape)
        gy = jax.make_array_from_process_local_data(y_sharding, y[rows], y.shape)
        if len(gx.addressable_shards) != 1 or gx.shape != x.shape:
            raise RuntimeError(f"unexpected global batch {gx.shape}, {gx.sharding}")
        jsnnx.train_step(model, opt, (gx, gy), loss_fn)
    out = params(model)
    jax.distributed.shutdown()
    return out


def main(argv: list[str]) -> None:
    process_id, num_processes, port, out = int(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    result = train_distributed(process_id, num_processes, port)
    if process_id == 0:
        np.savez(out, **result)
    print(f"process {process_id}: OK", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
