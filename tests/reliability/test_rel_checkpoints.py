"""Reliability, category *checkpoints*: no data loss, no load into the wrong model.

Issue 16, items 1, 2 and the corrupt-file part of 10. Every case failed on the msgpack
implementation (open with "wb" before serializing; structure-only comparison).
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxspike.nnx as jsnn


def _linear(n_in, n_out=6, dtype=jnp.float32, seed=0):
    return nnx.Linear(n_in, n_out, param_dtype=dtype, rngs=nnx.Rngs(seed))


def test_roundtrip_is_bit_exact(tmp_path):
    model, other = _linear(8, seed=0), _linear(8, seed=1)
    jsnn.save_checkpoint(tmp_path / "ck", model)
    jsnn.load_checkpoint(tmp_path / "ck", other)
    np.testing.assert_array_equal(other.kernel[...], model.kernel[...])
    np.testing.assert_array_equal(other.bias[...], model.bias[...])


def test_optimizer_state_roundtrip(tmp_path):
    model = _linear(3)
    opt = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    grads = nnx.state(model, nnx.Param)
    opt.update(model, grads)  # one step: mu, nu and count are no longer zero
    jsnn.save_checkpoint(tmp_path / "opt", opt)
    fresh = nnx.Optimizer(_linear(3), optax.adam(1e-2), wrt=nnx.Param)
    jsnn.load_checkpoint(tmp_path / "opt", fresh)
    assert int(fresh.step[...]) == 1
    mu_saved = opt.opt_state[0].mu["kernel"][...]
    np.testing.assert_array_equal(fresh.opt_state[0].mu["kernel"][...], mu_saved)


def test_overwrite_keeps_only_the_new_one(tmp_path):
    a, b, target = _linear(4, seed=0), _linear(4, seed=1), _linear(4, seed=2)
    jsnn.save_checkpoint(tmp_path / "ck", a)
    jsnn.save_checkpoint(tmp_path / "ck", b)
    jsnn.load_checkpoint(tmp_path / "ck", target)
    np.testing.assert_array_equal(target.kernel[...], b.kernel[...])
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "ck").iterdir()) == ["LATEST", "ckpt"]


def test_wrong_input_size_is_refused(tmp_path):
    jsnn.save_checkpoint(tmp_path / "ck", _linear(8))
    small = _linear(5)
    before = np.asarray(small.kernel[...])
    with pytest.raises(
        ValueError,
        match=r"load_checkpoint: .*'kernel' is float32\[8, 6\] in the "
        r"checkpoint but float32\[5, 6\] in the model",
    ):
        jsnn.load_checkpoint(tmp_path / "ck", small)
    np.testing.assert_array_equal(small.kernel[...], before)  # untouched


def test_per_neuron_decay_into_shared_decay_is_refused(tmp_path):
    jsnn.save_checkpoint(tmp_path / "ck", jsnn.LIF(4, decay=jnp.full((4,), 0.9)))
    with pytest.raises(
        ValueError, match=r"load_checkpoint: .* in the checkpoint but .* in the model"
    ):
        jsnn.load_checkpoint(tmp_path / "ck", jsnn.LIF(4, decay=0.9))


def test_float32_into_bfloat16_is_refused(tmp_path):
    jsnn.save_checkpoint(tmp_path / "ck", _linear(8))
    with pytest.raises(
        ValueError,
        match=r"'bias' is float32\[6\] in the checkpoint but "
        r"bfloat16\[6\] in the model",
    ):
        jsnn.load_checkpoint(tmp_path / "ck", _linear(8, dtype=jnp.bfloat16))


def test_missing_and_extra_paths_are_named(tmp_path):
    jsnn.save_checkpoint(tmp_path / "ck", _linear(4))
    no_bias = nnx.Linear(4, 6, use_bias=False, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"has an array at 'bias', which the model lacks"):
        jsnn.load_checkpoint(tmp_path / "ck", no_bias)
    jsnn.save_checkpoint(tmp_path / "nb", no_bias)
    with pytest.raises(ValueError, match=r"has no array at 'bias', which the model has"):
        jsnn.load_checkpoint(tmp_path / "nb", _linear(4))


@pytest.mark.parametrize("content", [b"", b"\x93garbage" * 10], ids=["empty", "garbage"])
def test_a_file_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "model.msgpack"
    path.write_bytes(content)
    with pytest.raises(
        ValueError,
        match=r"load_checkpoint: .*model.msgpack is a file; a jaxspike "
        r"checkpoint is a directory",
    ):
        jsnn.load_checkpoint(path, _linear(4))
    with pytest.raises(ValueError, match=r"save_checkpoint: .*model.msgpack is a file"):
        jsnn.save_checkpoint(path, _linear(4))
    assert path.read_bytes() == content  # nothing overwritten


def test_corrupt_checkpoint_directory(tmp_path):
    jsnn.save_checkpoint(tmp_path / "ck", _linear(4))
    (tmp_path / "ck" / "LATEST").write_text("ckpt-does-not-exist")
    with pytest.raises(
        ValueError,
        match=r"LATEST names 'ckpt-does-not-exist', which is not a "
        r"checkpoint directory",
    ):
        jsnn.load_checkpoint(tmp_path / "ck", _linear(4))
    (tmp_path / "ck" / "LATEST").unlink()
    with pytest.raises(ValueError, match=r"holds no complete checkpoint \(no LATEST file\)"):
        jsnn.load_checkpoint(tmp_path / "ck", _linear(4))


def test_damaged_array_files(tmp_path):
    jsnn.save_checkpoint(tmp_path / "ck", _linear(4))
    (inner,) = [p for p in (tmp_path / "ck").iterdir() if p.is_dir()]
    for f in inner.rglob("*"):
        if f.is_file():
            f.write_bytes(b"\x00" * 7)
    with pytest.raises(
        ValueError,
        match=r"load_checkpoint: .*(not a readable orbax checkpoint|"
        r"could not read the arrays)",
    ):
        jsnn.load_checkpoint(tmp_path / "ck", _linear(4))


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"load_checkpoint: no checkpoint at .*nothing"):
        jsnn.load_checkpoint(tmp_path / "nothing", _linear(4))


def test_foreign_directory_is_not_overwritten(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"is a directory that is not a jaxspike checkpoint"):
        jsnn.save_checkpoint(tmp_path / "mine", _linear(4))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


class _Tiny(nnx.Module):
    def __init__(self, v):
        self.kernel = nnx.Param(np.full((64, 32), v, np.float32))
        self.bias = nnx.Param(np.full((32,), v, np.float32))


# A zygote process imports everything once (no JAX backend yet, so forking is safe) and
# forks one saver per trial. Each saver writes version 0, says "ready", then saves
# versions 1, 2, 3, ... forever; the zygote SIGKILLs it at a planned time.
_ZYGOTE = textwrap.dedent(
    """
    import os, signal, sys, time
    import numpy as np
    from flax import nnx
    import jaxspike.nnx as jsnn

    class Tiny(nnx.Module):  # numpy parameters: the saver starts without compiling
        def __init__(self, v):
            self.kernel = nnx.Param(np.full((64, 32), v, np.float32))
            self.bias = nnx.Param(np.full((32,), v, np.float32))

    root, delays = sys.argv[1], [float(d) for d in sys.argv[2:]]
    for trial, delay in enumerate(delays):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            path = os.path.join(root, f"trial{trial}")
            version = 0
            while True:
                jsnn.save_checkpoint(path, Tiny(float(version)))
                if version == 0:
                    os.write(w, b"r")
                version += 1
        os.close(w)
        os.read(r, 1)  # version 0 is on disk
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
    """
)


def test_killed_during_save_leaves_a_complete_checkpoint(tmp_path):
    # Kill times spread over several saves (one save of this model takes ~0.1 s; the
    # first, which starts the JAX backend in the child, is done before "ready").
    delays = [0.0, 0.001, 0.003] + [0.015 * k for k in range(1, 18)]
    assert len(delays) == 20
    root = str(Path(__file__).resolve().parents[2])  # this checkout's jaxspike first
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=path)
    subprocess.run(
        [sys.executable, "-c", _ZYGOTE, str(tmp_path), *map(str, delays)],
        check=True,
        env=env,
        timeout=120,
    )
    versions = []
    for trial in range(len(delays)):
        model = _Tiny(-1.0)
        jsnn.load_checkpoint(tmp_path / f"trial{trial}", model)
        kernel, bias = np.asarray(model.kernel[...]), np.asarray(model.bias[...])
        version = kernel.flat[0]
        # complete and from one save: every entry of every array holds one version
        assert (kernel == version).all() and (bias == version).all()
        versions.append(int(version))
    assert len(set(versions)) > 1  # the kills did land at different points
