"""Cost of ``training.fit`` over a bare PyTorch loop doing the same work, in one run.

Both train the same digits MLP (64-128-128-10, batch 32, SGD) from the same initial weights
on the same batches and evaluate validation loss/accuracy once per epoch. The bare loop
also sums the running training loss with ``loss.item()``, as every tutorial loop does;
fit additionally counts training accuracy, checks each loss for NaN/inf and keeps a History. Runs alternate (bare, fit, bare, fit, ...) and the medians are compared.

    .venv/bin/python benchmarks/fit_overhead.py
"""

import statistics
import sys
import time

import torch
from torch import nn

import course_utils as cu
from course_utils.core import data, models, training

EPOCHS, REPEATS = 5, 15


def bare(model, train, val):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    X_val, y_val = val
    for _ in range(EPOCHS):
        model.train()
        running = 0.0
        for xb, yb in train:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            out = model(X_val)
            _ = (loss_fn(out, y_val).item(), (out.argmax(1) == y_val).float().mean().item())


def with_fit(model, train, val):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    training.fit(model, train, val, epochs=EPOCHS, optimizer=opt, progress=False)


def main():
    cu.setup(seed=0)
    splits = data.load_digits_data(seed=0)
    init = models.mlp(64, 10, hidden=[128, 128])
    times = {"bare": [], "fit": []}
    for _ in range(REPEATS):
        for name, run in (("bare", bare), ("fit", with_fit)):
            model = models.mlp(64, 10, hidden=[128, 128])
            model.load_state_dict(init.state_dict())
            train = data.Batches(splits.X_train, splits.y_train, 32, seed=0)
            t0 = time.perf_counter()
            run(model, train, splits.val())
            times[name].append(time.perf_counter() - t0)
    b, f = statistics.median(times["bare"]), statistics.median(times["fit"])
    print(f"threads {torch.get_num_threads()}, {EPOCHS} epochs, median of {REPEATS}")
    print(f"bare loop : {b * 1000:7.1f} ms")
    print(f"fit       : {f * 1000:7.1f} ms")
    print(f"overhead  : {100 * (f / b - 1):+.1f} %  (budget: +10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
