r"""Parameters and the pure step of an imported NIR program.

Every neuron node (``I``, ``IF``, ``LI``, ``LIF``, ``CubaLI``, ``CubaLIF``) becomes the same
discrete update, with coefficients computed once in float64 from the NIR fields and
the step ``dt`` (see the table in ``docs/guides/nir.md``). With input :math:`x_t`:

.. math::
   i_t &= a_s\, i_{t-1} + b_s\, x_t \qquad\text{(Cuba nodes only)} \\
   \tilde v_t &= a_m\, v_{t-1} + b_m\, u_t + c_m,
      \quad u_t = i_t \text{ (Cuba) or } x_t \\
   s_t &= H(\tilde v_t - v_{th}) \qquad\text{(spiking nodes)} \\
   v_t &= \operatorname{reset}(\tilde v_t, s_t)

Euler: :math:`a = 1 - \Delta t/\tau`, :math:`b_m = R\Delta t/\tau_{mem}`,
:math:`c_m = v_{leak}\Delta t/\tau_{mem}`, :math:`b_s = w_{in}\Delta t/\tau_{syn}`;
exact (exponential): :math:`a = e^{-\Delta t/\tau}`, :math:`b_m = R(1 - a_m)`,
:math:`c_m = v_{leak}(1 - a_m)`, :math:`b_s = w_{in}(1 - a_s)`. ``I``/``IF``:
:math:`a_m = 1`, :math:`b_m = R\Delta t`, exact for either method.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxspike.delays import DelayState, delay_init, delay_step
from jaxspike.neurons.reset import fire
from jaxspike.neurons.spike import spike
from jaxspike.neurons.surrogates import Surrogate
from jaxspike.nir._conventions import Convention
from jaxspike.nir._graph import NEURON_TYPES, Op, Program
from jaxspike.ops.scan import unroll

# Parameters that are fixed by the file and never trained.
FIXED = ("v_init", "v_reset_mask")


def _f(node: Any, field: str, default: Any = None) -> np.ndarray:
    value = getattr(node, field, None)
    if value is None:
        if default is None:
            raise ValueError(f"import_nir: {type(node).__name__} has no field {field!r}.")
        value = default
    return np.asarray(value, np.float64)


def _decay(name: str, tau: np.ndarray, dt: float, method: str) -> np.ndarray:
    if np.any(tau <= 0):
        raise ValueError(f"import_nir: node {name!r} has a time constant <= 0: {tau.tolist()}.")
    if method == "exact":
        return np.exp(-dt / tau)
    a = 1.0 - dt / tau
    if np.any(a < 0):
        raise ValueError(
            f"import_nir: node {name!r} has tau = {tau.min()} < dt = {dt}; forward Euler is "
            "unstable there. Use a smaller dt (check the dt the writer assumed) or "
            "method='exact'."
        )
    return a


def neuron_params(name: str, node: Any, conv: Convention, dt: float, method: str, legacy: str):
    """Discrete coefficients of a neuron node (float64 numpy)."""
    kind = type(node).__name__
    p: dict[str, Any] = {}
    r = _f(node, "r") if conv.use_r else np.float64(1.0)
    v_leak = _f(node, "v_leak", 0.0) if conv.use_r else np.float64(0.0)
    if kind in ("I", "IF"):
        p["a_m"] = np.float64(1.0)
        p["b_m"] = r * (dt if conv.current_jump == "nir" and conv.use_r else 1.0)
        p["c_m"] = np.float64(0.0)
        v_leak = np.float64(0.0)
    else:
        tau = _f(node, "tau_mem" if kind.startswith("Cuba") else "tau")
        a = _decay(name, tau, dt, method)
        k = (1.0 - a) if method == "exact" else dt / tau
        p["a_m"] = a
        p["b_m"] = r * k if conv.use_r else np.ones_like(a)
        p["c_m"] = v_leak * k
    if kind.startswith("Cuba"):
        tau_s = _f(node, "tau_syn")
        a_s = _decay(name, tau_s, dt, method)
        w_in = _f(node, "w_in", 1.0) if conv.use_r else np.float64(1.0)
        k_s = (1.0 - a_s) if method == "exact" else dt / tau_s
        p["a_s"] = a_s
        p["b_s"] = w_in * (k_s if conv.current_jump == "nir" and conv.use_r else 1.0)
    if kind in ("IF", "LIF", "CubaLIF"):
        p["v_th"] = _f(node, "v_threshold")
        v_reset = getattr(node, "v_reset", None)
        p["v_reset"] = np.asarray(0.0 if v_reset is None else v_reset, np.float64)
    p["v_init"] = v_leak if conv.v0 == "v_leak" else np.float64(0.0)
    del legacy
    return p


def node_params(op: Op, node: Any, conv: Convention, dt: float, method: str, legacy: str):
    """Float64 numpy parameters of one op (empty for parameter-free ops)."""
    kind = op.kind
    if kind in NEURON_TYPES:
        p = neuron_params(op.name, node, conv, dt, method, legacy)
        shape = op.out_shape
        return {k: np.broadcast_to(v, shape).copy() for k, v in p.items()}
    if kind in ("Affine", "Linear", "Conv1d", "Conv2d"):
        p = {"weight": _f(node, "weight")}
        bias = getattr(node, "bias", None)
        if bias is not None:
            p["bias"] = np.asarray(bias, np.float64)
        return p
    if kind == "Scale":
        return {"scale": _f(node, "scale")}
    if kind == "Threshold":
        return {"threshold": _f(node, "threshold")}
    return {}


def _b(p: jax.Array, x: jax.Array) -> jax.Array:
    """``p`` (per-sample shape or scalar) broadcast to the batch ``x`` in its dtype."""
    return jnp.broadcast_to(p.astype(x.dtype), x.shape)


def _strict(v_th: jax.Array) -> jax.Array:
    """The smallest threshold ``t`` with ``v >= t`` iff ``v > v_th``."""
    return jnp.nextafter(v_th, jnp.asarray(jnp.inf, v_th.dtype))


def _spike_reset(
    p: dict[str, jax.Array], v: jax.Array, conv: Convention, reset: str, surrogate: Surrogate
):
    v_th = p["v_th"].astype(v.dtype)
    th = _strict(v_th) if conv.compare == ">" else v_th
    mode = "zero" if reset == "zero" else "subtract"
    subtract = v_th
    if reset == "subtract_undecayed":
        a = p["a_m"].astype(v.dtype)
        subtract = jnp.where(a > 0, v_th / jnp.where(a > 0, a, 1), v_th)
    if conv.spikes == "multi":
        s = spike(v - th, surrogate)
        count = jnp.maximum(jnp.floor(lax.stop_gradient(v) / v_th), 1.0) * lax.stop_gradient(s)
        s = s + lax.stop_gradient(count - s)
        v = v - lax.stop_gradient(s) * subtract if mode == "subtract" else v
        if mode == "zero":
            v = v + lax.stop_gradient(jnp.minimum(s, 1)) * (p["v_reset"].astype(v.dtype) - v)
        return v, s
    return fire(
        v,
        th,
        p["v_reset"].astype(v.dtype),
        reset=mode,  # type: ignore[arg-type]
        surrogate=surrogate,
        detach_reset=True,
        subtract=subtract,
    )


def neuron_step(
    op: Op,
    p: dict[str, jax.Array],
    state: Any,
    x: jax.Array,
    conv: Convention,
    reset: str,
    surrogate: Surrogate,
) -> tuple[Any, jax.Array]:
    """One step of a neuron op (equations in the module docstring)."""
    v, i = state
    g = {k: _b(val, x) for k, val in p.items()}
    spiking = op.kind in ("IF", "LIF", "CubaLIF")
    s_pre = None
    if spiking and conv.fire == "pre":
        v, s_pre = _spike_reset(g, v, conv, reset, surrogate)
    if op.kind.startswith("Cuba"):
        i_new = g["a_s"] * i + g["b_s"] * x
        u = i_new if conv.cuba_order == "new_i" else i
        i = i_new
    else:
        u = x
    v = g["a_m"] * v + g["b_m"] * u + g["c_m"]
    if not spiking:
        return (v, i), v
    if s_pre is not None:
        return (v, i), s_pre
    v, s = _spike_reset(g, v, conv, reset, surrogate)
    return (v, i), s


def _reset_rule(conv: Convention, node: Any, legacy_reset: str) -> str:
    if conv.reset != "file":
        return conv.reset
    if getattr(node, "v_reset", None) is None:
        return legacy_reset
    return "zero"


def stateless(op: Op, p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """A memoryless op on a batch ``x[B, *in_shape]``."""
    kind = op.kind
    if kind in ("Input", "Output"):
        return x
    if kind in ("Affine", "Linear"):
        y = x @ p["weight"].astype(x.dtype).T
        return y + _b(p["bias"], y) if "bias" in p else y
    if kind == "Scale":
        return x * _b(p["scale"], x)
    if kind == "Threshold":
        return (x > _b(p["threshold"], x)).astype(x.dtype)
    if kind in ("Conv1d", "Conv2d"):
        spec = ("NCH", "OIH", "NCH") if kind == "Conv1d" else ("NCHW", "OIHW", "NCHW")
        y = lax.conv_general_dilated(
            x,
            p["weight"].astype(x.dtype),
            window_strides=op.attr("stride"),
            padding=op.attr("padding"),
            rhs_dilation=op.attr("dilation"),
            dimension_numbers=spec,
            feature_group_count=op.attr("groups"),
        )
        if "bias" in p:
            bias = p["bias"].astype(x.dtype).reshape((1, -1) + (1,) * (y.ndim - 2))
            y = y + jnp.broadcast_to(bias, y.shape)
        return y
    if kind in ("SumPool2d", "AvgPool2d"):
        k, s, pad = op.attr("kernel"), op.attr("stride"), op.attr("padding")
        y = lax.reduce_window(
            x,
            jnp.asarray(0, x.dtype),
            lax.add,
            (1, 1, *k),
            (1, 1, *s),
            ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])),
        )
        return y / (k[0] * k[1]) if kind == "AvgPool2d" else y
    if kind == "Flatten":
        return x.reshape((x.shape[0], *op.out_shape))
    raise ValueError(f"import_nir: no rule for {kind}")  # pragma: no cover


def init_state(program: Program, params: dict[str, Any], batch: int, dtype: Any) -> Any:
    """Resting state of every stateful op and of every back edge."""
    states: dict[str, Any] = {}
    for op in program.ops:
        shape = (batch, *op.out_shape)
        if op.kind in NEURON_TYPES:
            v = jnp.broadcast_to(params[op.name]["v_init"].astype(dtype), shape)
            states[op.name] = (v, jnp.zeros(shape, dtype))
        elif op.kind == "Delay":
            steps = op.attr("steps")
            states[op.name] = delay_init(max(steps), shape, dtype)
    prev = {
        s: jnp.zeros((batch, *program.op(s).out_shape), dtype)
        for _, srcs in program.back
        for s in srcs
    }
    return states, prev


def make_step(
    program: Program,
    params: dict[str, Any],
    *,
    legacy_reset: str,
    reset_override: str | None,
    surrogate: Surrogate,
    nodes_reset: dict[str, str],
):
    """The pure step ``(carry, inputs_t) -> (carry, outputs_t)`` of the whole graph."""
    conv = program.convention
    fwd = dict(program.forward)
    back = dict(program.back)
    del legacy_reset

    def step(carry: Any, xs: dict[str, jax.Array]) -> tuple[Any, dict[str, jax.Array]]:
        states, prev = carry
        values: dict[str, jax.Array] = {}
        new_states = dict(states)
        for op in program.ops:
            if op.name in xs:
                x = xs[op.name]
            else:
                terms = [values[s] for s in fwd[op.name]] + [prev[s] for s in back[op.name]]
                x = terms[0]
                for t in terms[1:]:
                    x = x + t
            p = params.get(op.name, {})
            if op.kind in NEURON_TYPES:
                rule = reset_override or nodes_reset[op.name]
                new_states[op.name], y = neuron_step(
                    op, p, states[op.name], x, conv, rule, surrogate
                )
            elif op.kind == "Delay":
                steps = jnp.asarray(np.reshape(op.attr("steps"), op.out_shape))
                st: DelayState = states[op.name]
                new_states[op.name], y = delay_step(steps, st, x)
            else:
                y = stateless(op, p, x)
            values[op.name] = y
        new_prev = {s: values[s] for s in prev}
        return (new_states, new_prev), {o: values[o] for o in program.outputs}

    return step


def run(
    program: Program,
    params: dict[str, Any],
    xs: Any,
    *,
    time_major: bool,
    initial_state: Any,
    return_state: bool,
    surrogate: Surrogate,
    reset: str | None,
    nodes_reset: dict[str, str],
):
    """Run ``program`` on ``xs`` (``[B, T, *shape]`` or ``[T, B, *shape]``, or a dict)."""
    names = program.inputs
    if not isinstance(xs, dict):
        if len(names) != 1:
            raise ValueError(
                f"import_nir: the graph has {len(names)} inputs {list(names)}; pass a dict."
            )
        xs = {names[0]: xs}
    if set(xs) != set(names):
        raise ValueError(f"import_nir: inputs must be {sorted(names)}, got {sorted(xs)}.")
    seqs = {}
    for n in names:
        x = jnp.asarray(xs[n])
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.float32)
        want = program.op(n).out_shape
        if x.ndim != len(want) + 2 or tuple(x.shape[2:]) != want:
            layout = "[T, B, ...]" if time_major else "[B, T, ...]"
            raise ValueError(
                f"import_nir: input {n!r} must have shape {layout} + {want}, got {x.shape}."
            )
        seqs[n] = x if time_major else jnp.swapaxes(x, 0, 1)
    first = seqs[names[0]]
    carry = initial_state
    if carry is None:
        carry = init_state(program, params, first.shape[1], first.dtype)
    step = make_step(
        program,
        params,
        legacy_reset="",
        reset_override=reset,
        surrogate=surrogate,
        nodes_reset=nodes_reset,
    )
    final, ys = unroll(step, carry, seqs)[:2]
    if not time_major:
        ys = {k: jnp.swapaxes(v, 0, 1) for k, v in ys.items()}
    out = ys[program.outputs[0]] if len(program.outputs) == 1 else ys
    return (out, final) if return_state else out


__all__ = ["FIXED", "_reset_rule", "init_state", "node_params", "run"]
