"""Data-parallel training over 2 processes (JAX multi-controller, CPU) equals one process.

Two local processes join ``jax.distributed`` on the loopback address, each feeds half of
every batch (``tests/_multiprocess_worker.py``), and the parameters after a few Adam steps
must equal those of a single process trained on the whole batch (the gradient all-reduce
only changes the float summation order).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import _multiprocess_worker as worker
import numpy as np
import pytest

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_multiprocess_worker.py")
TIMEOUT_S = 50


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_one(tmp_path):
    out = tmp_path / "params.npz"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    repo = os.path.dirname(os.path.dirname(WORKER))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    port = free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, str(i), "2", str(port), str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    logs = []
    try:
        deadline = time.monotonic() + TIMEOUT_S
        for p in procs:
            try:
                logs.append(p.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
            except subprocess.TimeoutExpired:
                pytest.fail(f"worker {p.args[2]} did not finish in {TIMEOUT_S} s")
    finally:
        for p in procs:  # on failure or timeout: end the workers this test started
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
        assert log.strip().endswith("OK"), log[-3000:]

    multi = dict(np.load(out))
    single = worker.train_single()
    assert sorted(multi) == sorted(single)
    init_model, _ = worker.make_model()
    init = worker.params(init_model)
    moved = max(float(np.abs(single[k] - init[k]).max()) for k in single)
    assert moved > 1e-3, moved  # training changed the parameters
    for k in single:
        np.testing.assert_allclose(multi[k], single[k], rtol=1e-5, atol=1e-5, err_msg=k)
