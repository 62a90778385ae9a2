"""Regenerate the peer-library NIR fixtures under ``tests/fixtures/peers``.

Usage (from the repository root, any Python 3.11)::

    python interop/generate.py            # every library
    python interop/generate.py spyx norse # some of them
    python interop/generate.py --check    # regenerate twice, compare sha256 of every file

Each library gets its own virtual environment ``interop/.venv-<lib>`` built from
``interop/requirements-<lib>.txt`` (created once, reused; delete it to rebuild). The
script ``interop/peers/<lib>.py`` then runs inside it. snnTorch 1.0.0 needs nir >= 1.0.6
for its exporter while sinabs 3.1.3 pins nir 1.0.4, hence one venv per library.
Torch is CPU-only (``torch==2.13.0``; the CUDA build is several GB).

Direction (b), files written by jaxspike and read by each peer: ``interop/jaxspike_export.py``
runs with this checkout's jaxspike (``PYTHONPATH`` = repository root) inside the Spyx venv,
which has the jax, flax and nir that jaxspike needs (it gives the same bytes as jaxspike's
own environment), and writes ``tests/fixtures/peers/from_jaxspike``; then
``interop/peers/read_jaxspike.py`` runs in every peer venv. ``--no-jaxspike`` skips this.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "peers")
LIBS = ("snntorch", "norse", "sinabs", "spyx")


def venv_python(lib: str) -> str:
    return os.path.join(HERE, f".venv-{lib}", "bin", "python")


def ensure_venv(lib: str) -> str:
    """Create ``interop/.venv-<lib>`` and install its requirements (once)."""
    path = os.path.join(HERE, f".venv-{lib}")
    req = os.path.join(HERE, f"requirements-{lib}.txt")
    stamp = os.path.join(path, ".requirements")
    with open(req) as f:
        wanted = f.read()
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == wanted:
                return venv_python(lib)
    print(f"[{lib}] creating {os.path.relpath(path, ROOT)}", flush=True)
    venv.EnvBuilder(with_pip=True, clear=not os.path.exists(venv_python(lib))).create(path)
    subprocess.run([venv_python(lib), "-m", "pip", "install", "-q", "-r", req], check=True)
    with open(stamp, "w") as f:
        f.write(wanted)
    return venv_python(lib)


def run_peer(lib: str, script: str, *args: str) -> None:
    env = dict(
        os.environ,
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        JAX_PLATFORMS="cpu",
        CUBLAS_WORKSPACE_CONFIG=":4096:8",
    )
    env.pop("PYTHONPATH", None)
    cmd = [ensure_venv(lib), "-P", os.path.join(HERE, "peers", script), *args]
    print(f"[{lib}] {script}", flush=True)
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-4000:] + res.stderr[-4000:])
        raise SystemExit(f"[{lib}] {script} failed with exit code {res.returncode}")


def digest() -> dict[str, str]:
    out = {}
    for d, _, files in sorted(os.walk(FIXTURES)):
        for name in sorted(files):
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, FIXTURES)] = hashlib.sha256(f.read()).hexdigest()
    return out


def export_jaxspike() -> None:
    """Run ``interop/jaxspike_export.py`` with this checkout's jaxspike (Spyx venv)."""
    env = dict(os.environ, PYTHONHASHSEED="0", JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    print("[jaxspike] jaxspike_export.py", flush=True)
    res = subprocess.run(
        [ensure_venv("spyx"), os.path.join(HERE, "jaxspike_export.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-4000:] + res.stderr[-4000:])
        raise SystemExit(f"jaxspike_export.py failed with exit code {res.returncode}")


def generate(libs, *, jaxspike: bool = True) -> None:
    for lib in libs:
        run_peer(lib, f"{lib}.py")
    if jaxspike:
        export_jaxspike()
    if os.path.isdir(os.path.join(FIXTURES, "from_jaxspike")):
        for lib in libs:
            run_peer(lib, "read_jaxspike.py", lib)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("libs", nargs="*", metavar="LIB", help="some of: " + " ".join(LIBS))
    ap.add_argument("--check", action="store_true", help="run twice and compare sha256")
    ap.add_argument("--no-jaxspike", action="store_true", help="skip writing from_jaxspike")
    args = ap.parse_args(argv)
    libs = args.libs or list(LIBS)
    for lib in libs:
        if lib not in LIBS:
            ap.error(f"unknown library {lib!r}; expected one of {LIBS}")
    generate(libs, jaxspike=not args.no_jaxspike)
    if args.check:
        first = digest()
        generate(libs, jaxspike=not args.no_jaxspike)
        second = digest()
        diff = sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))
        if diff:
            raise SystemExit("not reproducible: " + ", ".join(diff))
        print(f"reproducible: {len(second)} files identical across two runs")


if __name__ == "__main__":
    main()
