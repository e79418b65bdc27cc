"""Step time of each from-scratch optimizer (course_utils.scratch.optim) against torch.optim's.

    .venv/bin/python benchmarks/optimizer_step.py [--width 128] [--steps 30] [--repeats 9]

Both optimizers of a pair update their own copy of the same MLP (64-W-W-10, the digits
size) with the same fixed gradients; their timings are interleaved in the same run (so
machine load hits both alike) and each reported number is the median over the repeats of
the mean time of one ``step()``.  ``ratio`` = from-scratch / torch.optim (default settings:
on a CPU that is torch's single-tensor "for-loop" implementation); ``vs foreach`` compares
with ``torch.optim``'s multi-tensor implementation (``foreach=True``) for reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

import course_utils as cu
from course_utils.core import models
from course_utils.scratch import optim

SETTINGS = {
    "SGD": dict(lr=0.01, momentum=0.9),
    "Adagrad": dict(),
    "Adadelta": dict(),
    "RMSprop": dict(),
    "Adam": dict(),
    "AdamW": dict(),
    "Adamax": dict(),
    "NAdam": dict(),
}


def _model_with_grads(width: int, seed: int = 0):
    torch.manual_seed(seed)
    model = models.mlp(64, 10, hidden=[width, width])
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 0.01
    return model


def _time_steps(opt, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - t0) / steps


def benchmark(width: int = 128, steps: int = 30, repeats: int = 9) -> list[dict]:
    rows = []
    for name, kwargs in SETTINGS.items():
        ours_cls, torch_cls = optim.OPTIMIZERS[name]
        opts = {
            "ours": ours_cls(_model_with_grads(width).parameters(), **kwargs),
            "torch": torch_cls(_model_with_grads(width).parameters(), **kwargs),
            "foreach": torch_cls(_model_with_grads(width).parameters(), foreach=True, **kwargs),
        }
        for opt in opts.values():  # warm-up: state allocation, first-call overheads
            _time_steps(opt, 3)
        times = {k: [] for k in opts}
        for _ in range(repeats):
            for key, opt in opts.items():
                times[key].append(_time_steps(opt, steps))
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append({"optimizer": name, "ours_us": 1e6 * med["ours"],
                     "torch_us": 1e6 * med["torch"], "foreach_us": 1e6 * med["foreach"],
                     "ratio": med["ours"] / med["torch"],
                     "ratio_foreach": med["ours"] / med["foreach"]})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=128, help="hidden width of the MLP")
    parser.add_argument("--steps", type=int, default=30, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=9, help="interleaved repeats")
    args = parser.parse_args(argv)
    cu.setup(seed=0)
    n_params = models.count_parameters(models.mlp(64, 10, hidden=[args.width, args.width]))
    print(f"MLP 64-{args.width}-{args.width}-10 ({n_params} parameters, 6 tensors), "
          f"{torch.get_num_threads()} thread(s), median of {args.repeats} × {args.steps} steps")
    print(f"{'optimizer':10s} {'scratch µs':>11s} {'torch µs':>9s} {'ratio':>6s} "
          f"{'foreach µs':>11s} {'vs foreach':>11s}")
    for r in benchmark(args.width, args.steps, args.repeats):
        print(f"{r['optimizer']:10s} {r['ours_us']:11.1f} {r['torch_us']:9.1f} {r['ratio']:6.2f} "
              f"{r['foreach_us']:11.1f} {r['ratio_foreach']:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
