"""Mixed precision: what 16-bit numbers lose, and loss scaling from scratch.

* **Formats.** fp16 has 5 exponent bits: its smallest positive (subnormal) number is
  2⁻²⁴ ≈ 6·10⁻⁸ and anything smaller becomes 0 ("underflow"); its largest is 65504.
  bf16 keeps fp32's 8 exponent bits (range down to ~10⁻³⁸) but only 8 bits of mantissa
  (~3 significant digits).  Small gradients underflow in fp16, not in bf16.
* **Autocast** runs the ops that profit (matmul, linear, conv) in the low precision and
  keeps the ones that need range or accumulation (on the CPU: the losses —
  ``cross_entropy``, ``mse_loss`` …) in fp32.  :func:`autocast_dtypes` lists what it did.
* **Loss scaling** (Micikevicius et al. 2018): backpropagate S·L instead of L, so every
  gradient is S times larger and stays above fp16's underflow; divide the gradients by S
  before the optimizer step.  *Dynamic* scaling (what ``torch.amp.GradScaler`` does): if a
  gradient is inf/NaN, skip the step and halve S; after ``growth_interval`` good steps in a
  row, double S.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.validation import check_bool, check_choice, check_float, check_int, check_tensor

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def underflow_fraction(values: torch.Tensor, dtype: str = "fp16") -> float:
    """Fraction of the non-zero entries of ``values`` that become exactly 0 in ``dtype``."""
    check_tensor("values", values, floating=True)
    check_choice("dtype", dtype, list(DTYPES))
    nz = values != 0
    if not bool(nz.any()):
        return 0.0
    return float(((values.to(DTYPES[dtype]) == 0) & nz).sum() / nz.sum())


def relative_error(values: torch.Tensor, dtype: str) -> float:
    """Median relative rounding error |x − round(x)|/|x| of the non-zero entries in ``dtype``."""
    check_tensor("values", values, floating=True)
    check_choice("dtype", dtype, list(DTYPES))
    v = values[values != 0].double()
    if v.numel() == 0:
        return 0.0
    back = v.to(DTYPES[dtype]).double()
    return float(((back - v).abs() / v.abs()).median())


def autocast_dtypes(batch: int = 8, features: int = 16, classes: int = 4) -> dict:
    """The dtype each op returns inside ``torch.autocast("cpu", dtype=torch.bfloat16)`` for
    fp32 inputs: what autocast lowers and what it keeps in fp32."""
    batch = check_int("batch", batch, min_value=1)
    features = check_int("features", features, min_value=1)
    classes = check_int("classes", classes, min_value=2)
    x = torch.ones(batch, features)
    w = torch.ones(classes, features) / features
    y = torch.zeros(batch, dtype=torch.long)
    out = {}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = F.linear(x, w)
        out["linear (x @ Wᵀ)"] = z.dtype
        out["matmul"] = (x @ w.T).dtype
        out["relu of it"] = torch.relu(z).dtype
        out["softmax of it"] = torch.softmax(z, 1).dtype
        out["sum of it"] = z.sum().dtype
        out["cross_entropy"] = F.cross_entropy(z, y).dtype
        out["mse_loss"] = F.mse_loss(z, torch.zeros_like(z)).dtype
        out["x + 1 (fp32 input)"] = (x + 1).dtype
    return {k: str(v).replace("torch.", "") for k, v in out.items()}


class LossScaler:
    """Loss scaling from scratch, with ``torch.amp.GradScaler``'s rules and defaults.

    Use::

        scaler.scale(loss).backward()
        scaler.step(optimizer)      # unscale; skip the step if any gradient is inf/NaN
        scaler.update()             # dynamic: halve on inf/NaN, double after n good steps

    ``dynamic=False`` is *static* scaling: a fixed S, never changed, and the step is taken
    even when a gradient overflowed (the parameters then become inf/NaN: why S must be
    chosen with care, and why dynamic scaling exists)."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 dynamic: bool = True):
        self.scale_value = check_float("init_scale", init_scale, min_value=0.0,
                                       min_inclusive=False)
        self.growth_factor = check_float("growth_factor", growth_factor, min_value=1.0,
                                         min_inclusive=False)
        self.backoff_factor = check_float("backoff_factor", backoff_factor, min_value=0.0,
                                          max_value=1.0, min_inclusive=False,
                                          max_inclusive=False)
        self.growth_interval = check_int("growth_interval", growth_interval, min_value=1)
        self.dynamic = check_bool("dynamic", dynamic)
        self.good_steps = 0
        self.found_inf = False
        self.skipped = 0

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        """S · loss (in fp32)."""
        check_tensor("loss", loss, floating=True)
        return loss * torch.tensor(self.scale_value, dtype=torch.float32)

    def unscale_(self, optimizer: torch.optim.Optimizer) -> bool:
        """Divide every gradient by S in place; return whether any is inf/NaN."""
        inv = torch.tensor(self.scale_value, dtype=torch.float64).reciprocal().float()
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.mul_(inv)
                    found = found or not bool(torch.isfinite(p.grad).all())
        self.found_inf = found
        return found

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        """Unscale and take the optimizer step unless (dynamic) a gradient overflowed.
        Returns whether the step was taken."""
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}")
        found = self.unscale_(optimizer)
        if found and self.dynamic:
            self.skipped += 1
            return False
        optimizer.step()
        return True

    def update(self) -> float:
        """Dynamic: halve S after an overflow, multiply by ``growth_factor`` after
        ``growth_interval`` good steps in a row.  Returns the new S."""
        if not self.dynamic:
            return self.scale_value
        if self.found_inf:
            self.scale_value *= self.backoff_factor
            self.good_steps = 0
        else:
            self.good_steps += 1
            if self.good_steps == self.growth_interval:
                self.scale_value *= self.growth_factor
                self.good_steps = 0
        return self.scale_value


def scaled_training(model, batches, lr: float, scaler, *, blow_up_at=()) -> dict:
    """SGD on ``batches`` (pairs of tensors) with ``scaler`` — a :class:`LossScaler` or a
    ``torch.amp.GradScaler("cpu", …)`` — and cross-entropy; at the steps in ``blow_up_at``
    the loss is multiplied by inf (an overflow, as fp16 would produce).  Returns the
    ``scales`` before each step, ``taken`` (bools) and the final parameters."""
    lr = check_float("lr", lr, min_value=0.0)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    is_torch = isinstance(scaler, torch.amp.GradScaler)
    scales, taken = [], []
    for i, (xb, yb) in enumerate(batches):
        scales.append(float(scaler.get_scale()) if is_torch else scaler.scale_value)
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        if i in blow_up_at:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        before = [p.detach().clone() for p in model.parameters()]
        scaler.step(opt)
        scaler.update()
        taken.append(any(not torch.equal(b, p) for b, p in zip(before, model.parameters())))
    return {"scales": scales, "taken": taken,
            "params": [p.detach().clone() for p in model.parameters()]}
