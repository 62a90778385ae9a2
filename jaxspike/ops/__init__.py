"""Time and fast paths: the one time scan and the kernels that speed it up.

- :mod:`jaxspike.ops.scan`: :func:`~jaxspike.unroll`, the single ``jax.lax.scan`` over time;
- :mod:`jaxspike.ops.fast`: event-driven and bit-packed matrix products, parallel-in-time
  linear recurrences.
"""

from jaxspike.ops.fast import event_matmul as event_matmul
from jaxspike.ops.fast import li_parallel as li_parallel
from jaxspike.ops.fast import linear_recurrence as linear_recurrence
from jaxspike.ops.fast import packed_linear as packed_linear
from jaxspike.ops.fast import spike_indices as spike_indices
from jaxspike.ops.scan import unroll as unroll
from jaxspike.ops.scan import unroll_batch_major as unroll_batch_major

__all__ = [
    "event_matmul",
    "li_parallel",
    "linear_recurrence",
    "packed_linear",
    "spike_indices",
    "unroll",
    "unroll_batch_major",
]
