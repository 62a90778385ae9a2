"""Direction (b): load the files jaxspike wrote with one peer's own NIR importer.

Run by ``interop/generate.py`` in each peer venv as
``python -P interop/peers/read_jaxspike.py <lib>``. For every
``tests/fixtures/peers/from_jaxspike/<case>.nir`` it runs the peer's importer on the
stored input and writes ``<case>.<lib>.npz`` (the importer's output and, where the
peer exposes them, hidden layers) and ``read.<lib>.json`` (status per case).
"""

from __future__ import annotations

import importlib.util
import os
import sys

sys.path.append(os.path.dirname(os.path.abspath(__file__)))

import _common as C
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(C.FIXTURES, "from_jaxspike")


def peer_module(lib):
    spec = importlib.util.spec_from_file_location(f"peer_{lib}", os.path.join(HERE, lib + ".py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(lib: str) -> None:
    import nir

    peer = peer_module(lib)
    status = {}
    for name in sorted(os.listdir(SRC)):
        if not name.endswith(".nir"):
            continue
        case = name[:-4]
        with np.load(os.path.join(SRC, case + ".npz")) as d:
            x, dt, ref = d["input"], float(np.ravel(d["dt"])[0]), d["jaxspike.out"]
        try:
            graph = nir.read(os.path.join(SRC, name))
            if lib == "spyx" and x.ndim == 5:  # Spyx runs images channels last
                x = np.ascontiguousarray(x.transpose(0, 1, 3, 4, 2))
            if lib in ("norse", "spyx"):
                rec = peer.run_import(graph, x, dt)
            else:  # snnTorch hard-codes dt = 1e-4; sinabs has no dt (steps)
                rec = peer.run_import(graph, x)
            out = np.asarray(rec["imp.out"]).reshape(ref.shape)
            status[case] = {
                "import": "ok",
                "spikes_equal": bool(np.array_equal(out, ref)),
                "n_spikes_jaxspike": float(ref.sum()),
                "n_spikes_peer": float(out.sum()),
                "n_differing": int((out != ref).sum()),
            }
            C.save_npz(
                os.path.join(SRC, f"{case}.{lib}.npz"),
                {k: np.asarray(v) for k, v in rec.items() if not k.endswith(".type")},
            )
        except Exception as exc:
            status[case] = {"import": C.error_text(exc)}
    C.save_json(os.path.join(SRC, f"read.{lib}.json"), status)


if __name__ == "__main__":
    main(sys.argv[1])
