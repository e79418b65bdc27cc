"""Step time of one process vs two DDP processes (gloo, CPU) on this machine.

    .venv/bin/python benchmarks/distributed_step.py [--repeats 5] [--batch 256]

Each repeat is one launch of 2 workers (``ch.step_times``): rank 0 alone times SGD steps of a
64-256-256-10 MLP at batch 2B and at B (the other worker waits in a barrier), then both time
DDP steps at B each (global batch 2B).  Prints the median ratios over the repeats: what the
chapter shows as "measured ratios", never as absolute times.
"""

from __future__ import annotations

import argparse
import statistics

from course_utils.chapters import ch12_training_at_scale as ch
from course_utils.scratch import distributed as D


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args()
    speedups, batch_ratio, per_example = [], [], []
    for _ in range(args.repeats):
        res = D.launch(ch.step_times, 2, (args.batch, args.steps))
        t = res[0]
        t2 = max(r["2 processes, B each"] for r in res)
        speedups.append(t["1 process, batch 2B"] / t2)
        batch_ratio.append(t["1 process, batch 2B"] / t["1 process, batch B"])
        per_example.append(t2 / t["1 process, batch B"])
    med = statistics.median
    print(f"batch B = {args.batch} per worker, {args.steps} timed steps, {args.repeats} launches (medians)")
    print(f"speed-up, 1 process at 2B → 2 DDP processes at B each: {med(speedups):.2f}×  "
          f"[{min(speedups):.2f}, {max(speedups):.2f}]")
    print(f"step time 1 process, 2B vs B: {med(batch_ratio):.2f}× (2.0 = linear in the batch)")
    print(f"DDP step at B vs 1-process step at B: {med(per_example):.2f}× (communication + overhead)")


if __name__ == "__main__":
    main()
