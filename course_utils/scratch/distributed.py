"""Data parallelism from the inside: a process-group launcher, the ring all-reduce, and
what each worker sends and stores.

* :func:`launch` starts ``world_size`` CPU processes (``torch.multiprocessing``, spawn),
  joins them in a gloo process group (a fresh ``file://`` rendezvous per launch, so two
  launches never collide), runs ``fn(rank, world_size, *args)`` in each and returns their
  results. A worker that dies (``os._exit``, a crash, the OOM killer) or a group that does
  not finish within ``timeout`` seconds raises :class:`WorkerFailed` — never a hang.
* :func:`ring_allreduce` simulates W workers on a list of tensors; :func:`ring_allreduce_dist`
  is the same algorithm over ``dist.isend``/``dist.recv`` in a real process group.  The ring
  cuts the flat tensor of N elements into W chunks; reduce-scatter (W − 1 steps: send a
  chunk to the right neighbour, add the chunk received from the left) leaves worker r with
  the full sum of chunk (r + 1) mod W; all-gather (W − 1 steps) passes the finished chunks
  around.  Each worker sends 2(W − 1)/W · N elements (:func:`ring_volume`), whatever W is.
* :func:`memory_per_device` — bytes per device for data parallel, ZeRO-1/2/3 (FSDP) and
  model/pipeline parallel (Rajbhandari et al. 2020).
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
import time
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..core.validation import check_choice, check_float, check_int, check_tensor


class WorkerFailed(RuntimeError):
    """A worker of a :func:`launch` exited abnormally or the group did not finish in time."""


# ------------------------------------------------------------------------------- launcher
def _worker(rank, world_size, init, folder, fn, args, threads, timeout, env):
    os.environ.update(env)  # the seed offset of the parent *now* (a forkserver is older)
    torch.set_num_threads(threads)
    try:
        dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout))
        out = fn(rank, world_size, *args)
        torch.save(out, os.path.join(folder, f"result_{rank}.pt"))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as text
        with open(os.path.join(folder, f"error_{rank}.txt"), "w") as f:
            f.write(f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        os._exit(1)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _context(start_method: str, module: str):
    """A multiprocessing context; a forkserver imports torch once (preload) and then forks
    each worker in milliseconds, where ``spawn`` pays 2–10 s of ``import torch`` per launch."""
    if start_method == "auto":
        start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        # torch._dynamo is imported by the first optimizer step (~2–4 s): preload it too
        ctx.set_forkserver_preload(["torch", "torch.distributed", "torch._dynamo", __name__,
                                    module])
    return ctx


def launch(fn, world_size: int = 2, args: tuple = (), *, timeout: float = 120.0,
           threads: int = 1, start_method: str = "auto") -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` spawned processes joined in a
    gloo process group; return the list of their return values (by rank).

    ``fn`` must be importable by the children (a module-level function of an installed
    module, not one defined in a notebook cell).  Each worker uses ``threads`` CPU threads.
    If any worker exits abnormally, the others are stopped and :class:`WorkerFailed` says
    which one; so does a group still running after ``timeout`` seconds.

    ``start_method``: ``"spawn"`` (a fresh interpreter per worker: what ``torchrun`` does),
    ``"forkserver"`` (one preloaded server forks the workers: fast and as safe), or
    ``"auto"`` (forkserver where the platform has it, else spawn)."""
    world_size = check_int("world_size", world_size, min_value=1, max_value=64)
    timeout = check_float("timeout", timeout, min_value=1.0)
    threads = check_int("threads", threads, min_value=1, max_value=64)
    if not callable(fn):
        raise TypeError(f"fn must be a module-level function, got {type(fn).__name__}")
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    check_choice("start_method", start_method, ["auto", "spawn", "forkserver"])
    ctx = _context(start_method, getattr(fn, "__module__", __name__) or __name__)
    env = {"COURSE_SEED_OFFSET": os.environ.get("COURSE_SEED_OFFSET", "0")}
    folder = tempfile.mkdtemp(prefix="course_dist_")
    init = "file://" + os.path.join(folder, "rendezvous")
    procs = [ctx.Process(target=_worker, daemon=True,
                         args=(r, world_size, init, folder, fn, args, threads, timeout, env))
             for r in range(world_size)]
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + timeout
        failed = None
        while any(p.is_alive() for p in procs):
            bad = [r for r, p in enumerate(procs) if p.exitcode not in (None, 0)]
            if bad:
                failed = bad[0]
                break
            if time.monotonic() > deadline:
                raise WorkerFailed(f"the {world_size} workers did not finish within "
                                   f"{timeout:g} s; all were stopped")
            time.sleep(0.01)
        if failed is None:
            bad = [r for r, p in enumerate(procs) if p.exitcode != 0]
            failed = bad[0] if bad else None
        if failed is not None:
            code = procs[failed].exitcode
            note = os.path.join(folder, f"error_{failed}.txt")
            why = ""
            if os.path.exists(note):
                with open(note) as f:
                    why = ": " + f.read().splitlines()[0]
            raise WorkerFailed(f"worker {failed} of {world_size} exited with code {code}"
                               f"{why}; the other workers were stopped")
        return [torch.load(os.path.join(folder, f"result_{r}.pt"), weights_only=False)
                for r in range(world_size)]
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            if p.pid is not None:
                p.join(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- ring all-reduce
def chunk_bounds(numel: int, world_size: int) -> list[tuple[int, int]]:
    """``[(start, stop)]`` of the W chunks of a flat tensor of ``numel`` elements
    (``torch.tensor_split``'s rule: the first numel % W chunks get one more element)."""
    numel = check_int("numel", numel, min_value=0)
    world_size = check_int("world_size", world_size, min_value=1)
    base, extra = divmod(numel, world_size)
    bounds, start = [], 0
    for r in range(world_size):
        stop = start + base + (1 if r < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def ring_allreduce(tensors, *, log: list | None = None) -> list[torch.Tensor]:
    """Sum W same-shape float tensors (one per simulated worker) with the ring algorithm;
    return W new tensors, each the element-wise sum.  The inputs are not modified.

    Step s of reduce-scatter: worker r sends chunk (r − s) mod W to worker r + 1, which adds
    it to its own copy; after W − 1 steps worker r holds the full sum of chunk (r + 1) mod W.
    All-gather: W − 1 more steps pass the finished chunks around (copy instead of add).
    ``log`` (a list) receives one ``(phase, step, sender, receiver, chunk)`` per message."""
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError("tensors must be a non-empty list of tensors (one per worker)")
    for i, t in enumerate(tensors):
        check_tensor(f"tensors[{i}]", t, floating=True)
        if t.shape != tensors[0].shape:
            raise ValueError(f"tensors must all have one shape: tensors[0] is "
                             f"{tuple(tensors[0].shape)}, tensors[{i}] is {tuple(t.shape)}")
    w = len(tensors)
    bufs = [t.detach().clone().reshape(-1) for t in tensors]
    bounds = chunk_bounds(bufs[0].numel(), w)
    for phase in ("reduce-scatter", "all-gather"):
        for s in range(w - 1):
            # all sends of a step happen "at once": read every outgoing chunk first
            shift = 0 if phase == "reduce-scatter" else 1
            msgs = []
            for r in range(w):
                c = (r - s + shift) % w
                a, b = bounds[c]
                msgs.append((r, (r + 1) % w, c, bufs[r][a:b].clone()))
            for src, dst, c, payload in msgs:
                a, b = bounds[c]
                if phase == "reduce-scatter":
                    bufs[dst][a:b] += payload
                else:
                    bufs[dst][a:b] = payload
                if log is not None:
                    log.append((phase, s, src, dst, c))
    return [b.reshape(tensors[0].shape) for b in bufs]


def ring_allreduce_dist(tensor: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The ring all-reduce (sum) of ``tensor`` across the current process group, with
    point-to-point ``dist.isend``/``dist.recv`` only.  Returns ``(sum, elements_sent)``;
    the input is not modified.  Call it from every rank (like ``dist.all_reduce``)."""
    check_tensor("tensor", tensor, floating=True)
    if not dist.is_initialized():
        raise RuntimeError("ring_allreduce_dist needs a process group: run it inside launch()")
    rank, w = dist.get_rank(), dist.get_world_size()
    buf = tensor.detach().clone().reshape(-1)
    bounds = chunk_bounds(buf.numel(), w)
    right, left = (rank + 1) % w, (rank - 1) % w
    sent = 0
    for phase in ("reduce-scatter", "all-gather"):
        shift = 0 if phase == "reduce-scatter" else 1
        for s in range(w - 1):
            a, b = bounds[(rank - s + shift) % w]
            req = dist.isend(buf[a:b].clone(), dst=right)
            c_in = (left - s + shift) % w
            a2, b2 = bounds[c_in]
            incoming = torch.empty(b2 - a2, dtype=buf.dtype)
            dist.recv(incoming, src=left)
            req.wait()
            sent += b - a
            if phase == "reduce-scatter":
                buf[a2:b2] += incoming
            else:
                buf[a2:b2] = incoming
    return buf.reshape(tensor.shape), sent


def ring_volume(numel: int, world_size: int) -> float:
    """Elements each worker sends in a ring all-reduce: 2(W − 1)/W · N (both phases)."""
    numel = check_int("numel", numel, min_value=0)
    world_size = check_int("world_size", world_size, min_value=1)
    return 2 * (world_size - 1) / world_size * numel


def ring_check_worker(rank: int, world_size: int, numel: int, seed: int) -> dict:
    """Worker body for :func:`launch`: ring vs ``dist.all_reduce`` on a seeded random tensor
    of ``numel`` elements per rank.  Returns the max difference and the elements sent."""
    g = torch.Generator().manual_seed(seed * 1000 + rank)
    x = torch.randn(numel, generator=g)
    ours, sent = ring_allreduce_dist(x)
    ref = x.clone()
    dist.all_reduce(ref)
    return {"max_diff": float((ours - ref).abs().max()) if numel else 0.0, "sent": sent}


# ----------------------------------------------------------------------- memory on paper
STRATEGIES = ("data parallel", "ZeRO-1", "ZeRO-2", "ZeRO-3 / FSDP", "model/pipeline parallel")


def memory_per_device(n_params: float, n_devices: int, strategy: str, *,
                      k_optimizer: float = 12, bytes_param: float = 2,
                      bytes_grad: float = 2) -> float:
    """Bytes of model states per device (activations not counted), Rajbhandari et al. 2020.

    Mixed-precision Adam keeps fp16 parameters (2Ψ bytes), fp16 gradients (2Ψ) and
    K·Ψ bytes of optimizer states (fp32 master weights, momentum, variance: K = 12).

    * data parallel: (2 + 2 + K)Ψ on every device;
    * ZeRO-1 (P_os, optimizer states sharded): 2Ψ + 2Ψ + KΨ/N;
    * ZeRO-2 (P_os+g, gradients too): 2Ψ + (2 + K)Ψ/N;
    * ZeRO-3 / FSDP (P_os+g+p, parameters too): (2 + 2 + K)Ψ/N;
    * model/pipeline parallel: each device holds 1/N of the layers, so (2 + 2 + K)Ψ/N
      as well — but it must also pass activations between devices instead of gradients."""
    psi = check_float("n_params", n_params, min_value=0.0)
    n = check_int("n_devices", n_devices, min_value=1)
    check_choice("strategy", strategy, STRATEGIES)
    k = check_float("k_optimizer", k_optimizer, min_value=0.0)
    p = check_float("bytes_param", bytes_param, min_value=0.0)
    g = check_float("bytes_grad", bytes_grad, min_value=0.0)
    if strategy == "data parallel":
        return (p + g + k) * psi
    if strategy == "ZeRO-1":
        return (p + g) * psi + k * psi / n
    if strategy == "ZeRO-2":
        return p * psi + (g + k) * psi / n
    return (p + g + k) * psi / n
