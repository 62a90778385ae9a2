"""Create the side environment ``benchmarks/.venv-peers`` for ``bench_peers.py``.

    python benchmarks/peers/setup_venv.py                      # pip finds torch==2.13.0
    python benchmarks/peers/setup_venv.py --find-links WHEELS  # a folder with the CPU wheel

It holds the PyTorch peers (snnTorch, Norse, sinabs on the CPU build of torch 2.13.0) and
Spyx on the jax the project is measured with (``requirements.txt`` beside this file).
A bare ``pip install torch`` on Linux pulls the CUDA build (several GB); give pip the CPU
wheel (``torch-2.13.0+cpu``, from PyTorch's CPU wheel index) with ``--find-links`` if it
does not already find one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(os.path.dirname(HERE), ".venv-peers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--find-links", help="a folder holding torch-2.13.0+cpu-*.whl")
    parser.add_argument("--target", default=TARGET)
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.target, "bin", "python")):
        venv.create(args.target, with_pip=True)
    cmd = [os.path.join(args.target, "bin", "python"), "-m", "pip", "install"]
    cmd += ["-r", os.path.join(HERE, "requirements.txt")]
    if args.find_links:
        cmd += ["--find-links", args.find_links]
    subprocess.run(cmd, check=True)
    check = (
        "import torch; assert not torch.version.cuda, torch.version.cuda; print(torch.__version__)"
    )
    out = subprocess.run(
        [os.path.join(args.target, "bin", "python"), "-c", check], capture_output=True, text=True
    )
    if out.returncode != 0:
        sys.exit(f"setup_venv: torch in {args.target} is not the CPU build: {out.stderr[-300:]}")
    print(f"{args.target}: torch {out.stdout.strip()} (CPU build)")


if __name__ == "__main__":
    main()
