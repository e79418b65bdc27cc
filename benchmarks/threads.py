"""Is one CPU thread or two faster for the course's small models? (It decides repro.DEFAULT_THREADS.)

Times 3 epochs of a digits MLP (64-128-128-10, batch 32) and of the SmallCNN on digits
images, with 1 and 2 torch threads, median of 5 runs each.

    .venv/bin/python benchmarks/threads.py
"""

import statistics
import time

import torch

import course_utils as cu
from course_utils.core import data, models, training


def run(make_model, splits, threads):
    times = []
    for _ in range(5):
        cu.setup(seed=0, threads=threads)
        model = make_model()
        train = data.Batches(splits.X_train, splits.y_train, 32, seed=0)
        t0 = time.perf_counter()
        training.fit(model, train, epochs=3, lr=0.05, progress=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    flat = data.load_digits_data(seed=0)
    images = data.load_digits_data(seed=0, images=True)
    cases = {"mlp 64-128-128-10": (lambda: models.mlp(64, 10, hidden=[128, 128]), flat),
             "SmallCNN(16) on 8x8": (lambda: models.SmallCNN(1, 10, channels=16), images)}
    for name, (make, splits) in cases.items():
        t1, t2 = run(make, splits, 1), run(make, splits, 2)
        print(f"{name:22s} 1 thread {t1 * 1000:7.0f} ms   2 threads {t2 * 1000:7.0f} ms   "
              f"speed-up with 2: {t1 / t2:.2f}x")
    print(f"(torch {torch.__version__})")


if __name__ == "__main__":
    main()
