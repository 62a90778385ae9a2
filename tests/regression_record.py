"""Record outputs, gradients and final states of every neuron model and layer.

Run before and after a refactor and compare the two files::

    python tests/regression_record.py record  OUT.npz
    python tests/regression_record.py compare OLD.npz NEW.npz

``record`` writes one array per quantity (keys such as ``core/lif/spikes``,
``nnx/LIF/grad/decay_logit``); ``compare`` prints every key whose arrays are not
bit-identical, every key only in one file, and exits 1 if there is any. The inputs are
fixed (a NumPy generator with a fixed seed), the default options of each family are used,
and the runs are on the CPU in float32. This is not a pytest module (no ``test_`` prefix).
"""

from __future__ import annotations

import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

T, B, F = 12, 2, 3


def _inputs(name: str) -> np.ndarray:
    rng = np.random.default_rng(1234)
    x = rng.uniform(-0.2, 1.2, size=(T, B, F)).astype(np.float32)
    if name == "izhikevich":
        x = x * 20.0
    if name == "ctlif":
        x = x * 10.0
    return x


def _flat(prefix: str, tree: Any, out: dict[str, np.ndarray]) -> None:
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        out[prefix + jax.tree_util.keystr(path)] = np.asarray(leaf)


def record_core(out: dict[str, np.ndarray]) -> None:
    """Every family of the functional registry, default parameters and options."""
    import jaxspike as js

    for name in sorted(js.NEURONS):
        model = js.NEURONS[name]
        params = model.params_cls.create()
        xs = jnp.asarray(_inputs(name))

        def run(params: Any, xs: jax.Array, model: Any = model) -> Any:
            state = model.init(params, (B, F), jnp.float32)
            step = lambda s, x: model.step(params, s, x)
            return js.unroll(step, state, xs)[:2]

        final, ys = run(params, xs)
        out[f"core/{name}/outputs"] = np.asarray(ys)
        _flat(f"core/{name}/final", tuple(final), out)
        loss = lambda p, x: jnp.sum(run(p, x)[1] * jnp.arange(T)[:, None, None])
        gp, gx = jax.grad(loss, argnums=(0, 1))(params, xs)
        out[f"core/{name}/grad_x"] = np.asarray(gx)
        for field, g in zip(model.params_cls._fields, gp, strict=True):
            out[f"core/{name}/grad/{field}"] = np.asarray(g)


_LAYERS = ("IF", "LIF", "CTLIF", "CubaLIF", "ALIF", "LI", "Izhikevich")
_LEARN = {
    "IF": ("v_th",),
    "LIF": ("decay", "v_th"),
    "CTLIF": ("tau_mem", "v_th"),
    "CubaLIF": ("decay_syn", "decay_mem"),
    "ALIF": ("decay", "decay_adapt", "adapt"),
    "LI": ("decay",),
    "Izhikevich": ("a", "d"),
}
_CORE = {
    "IF": "if",
    "LIF": "lif",
    "CTLIF": "ctlif",
    "CubaLIF": "cuba_lif",
    "ALIF": "alif",
    "LI": "li",
    "Izhikevich": "izhikevich",
}


def record_nnx(out: dict[str, np.ndarray]) -> None:
    """Every NNX layer with some learnable parameters, batch-major input."""
    from flax import nnx

    import jaxspike.nnx as jnnx

    for name in _LAYERS:
        layer = getattr(jnnx, name)(F, learn=_LEARN[name], return_carry=True)
        xs = jnp.swapaxes(jnp.asarray(_inputs(_CORE[name])), 0, 1)
        final, ys = layer(xs)
        out[f"nnx/{name}/outputs"] = np.asarray(ys)
        _flat(f"nnx/{name}/final", tuple(final), out)

        def loss(model: Any, xs: jax.Array) -> jax.Array:
            return jnp.sum(model(xs)[1] * jnp.arange(T)[None, :, None])

        grads = nnx.grad(loss, argnums=nnx.DiffState(0, nnx.Param))(layer, xs)
        _flat(f"nnx/{name}/grad", nnx.to_pure_dict(grads), out)


def record_linen(out: dict[str, np.ndarray]) -> None:
    """Every Linen layer with the same learnable parameters."""
    import jaxspike.linen as jln

    for name in _LAYERS:
        layer = getattr(jln, name)(F, learn=_LEARN[name], return_carry=True)
        xs = jnp.swapaxes(jnp.asarray(_inputs(_CORE[name])), 0, 1)
        variables = layer.init(jax.random.key(0), xs)
        final, ys = layer.apply(variables, xs)
        out[f"linen/{name}/outputs"] = np.asarray(ys)
        _flat(f"linen/{name}/final", tuple(final), out)

        def loss(v: Any, xs: jax.Array, layer: Any = layer) -> jax.Array:
            return jnp.sum(layer.apply(v, xs)[1] * jnp.arange(T)[None, :, None])

        _flat(f"linen/{name}/grad", jax.grad(loss)(variables, xs), out)


def record(path: str) -> None:
    """Write every recorded array to ``path`` (.npz)."""
    out: dict[str, np.ndarray] = {}
    record_core(out)
    record_nnx(out)
    record_linen(out)
    np.savez(path, **out)
    print(f"recorded {len(out)} arrays to {path}")


def compare(old_path: str, new_path: str) -> int:
    """Print the differences between two records; return the number of differing keys."""
    old, new = np.load(old_path), np.load(new_path)
    bad = 0
    for key in sorted(set(old.files) | set(new.files)):
        if key not in new.files:
            print(f"only in old: {key}")
        elif key not in old.files:
            print(f"only in new: {key}")
        elif old[key].shape != new[key].shape or not np.array_equal(
            old[key], new[key], equal_nan=True
        ):
            diff = (
                np.max(np.abs(old[key] - new[key])) if old[key].shape == new[key].shape else "shape"
            )
            print(f"differs: {key} (max abs diff {diff})")
        else:
            continue
        bad += 1
    print(f"{bad} of {len(set(old.files) | set(new.files))} keys differ")
    return bad


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(1 if compare(sys.argv[2], sys.argv[3]) else 0)
    else:
        sys.exit(__doc__)
