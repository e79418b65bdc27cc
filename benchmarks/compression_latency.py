"""CPU latency of chapter 11's compressed models, as ratios to the dense fp32 model.

Every technique of the chapter on seed 0's 64-300-100-10 digits model (trained here, about
20 s), timed on one batch of the 360 test images: ``--number`` forward passes, repeated
``--repeats`` times with the models interleaved so that load on the machine hits all of them
alike; the median of the repeats divided by the dense model's.  One process, one thread by
default (the course's setting).  The numbers depend on the machine, its load and the torch
build: compare ratios between rows, not with another machine.

    .venv/bin/python benchmarks/compression_latency.py [--repeats 31] [--number 50] [--threads 1]
"""

import argparse
import sys

import torch

import course_utils as cu
from course_utils.chapters import ch11_compression as ch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--number", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=360, help="images per forward pass (≤ 360)")
    args = parser.parse_args(argv)
    cu.setup(seed=0, threads=args.threads)
    variants = ch.compressed_variants(0)
    models = {name: m for name, (m, _, _) in variants.items()}
    X = ch.digits().X_test[: args.batch]
    ratios = ch.latency_ratios(models, X, repeats=args.repeats, number=args.number)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {len(X)}, "
          f"median of {args.repeats} × {args.number} passes")
    if "PyTorch dynamic int8" not in models:
        print("PyTorch dynamic int8: not available on this build (no quantized engine); row skipped")
    print(f"{'technique':>32} {'time / dense fp32':>17}")
    for name, r in ratios.items():
        print(f"{name:>32} {r:17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
