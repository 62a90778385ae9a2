"""Reliability, category *load*: repeated un-jitted calls do not compile again (item 11)."""

import contextlib
import functools
import logging

import jax
import jax.numpy as jnp
from flax import nnx

import jaxspike as js
import jaxspike.nnx as jsnn


@contextlib.contextmanager
def count_compiles():
    """Count XLA compilations (jax.log_compiles messages) inside the block."""
    seen: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record):
            if record.getMessage().startswith("Compiling"):
                seen.append(record.getMessage())

    handler = Handler(level=logging.DEBUG)
    logger = logging.getLogger("jax")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with jax.log_compiles(True):
            yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _repeat(call, n=4):
    call()  # first call compiles
    with count_compiles() as seen:
        for _ in range(n):
            call()
    return seen


def test_unroll_with_a_new_partial_each_call():
    p = js.LIFParams(decay=0.5)
    state, xs = js.lif_init(p, (4,)), jnp.ones((5, 4))
    seen = _repeat(lambda: js.unroll(functools.partial(js.lif_step, p), state, xs))
    assert seen == []


def test_unroll_with_a_new_closure_each_call():
    p = js.IFParams(v_th=1.0)
    w = jnp.ones((4, 4))

    def call():
        def step(state, x):  # a new closure object on every call
            return js.if_step(p, state, x @ w)

        return js.unroll(step, js.if_init(p, (4,)), jnp.ones((5, 4)), return_states=True)

    assert _repeat(call) == []


def test_layer_called_without_jit():
    layer = jsnn.LIF(4)
    x = jnp.ones((2, 5, 4))
    assert _repeat(lambda: layer(x)) == []


def test_fused_sequential_called_without_jit():
    seq = jsnn.Sequential(nnx.Linear(4, 3, rngs=nnx.Rngs(0)), jsnn.LIF(3), placement="fused")
    x = jnp.ones((2, 5, 4))
    assert _repeat(lambda: seq(x)) == []
