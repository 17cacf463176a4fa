"""Multi-process training on this machine: the communicator's all_reduce against mpi4py's, and the data-parallel
speedup of an MLP with 2 processes.

One ``mpiexec -n 2`` job (the mpich wheel's ``mpiexec``, next to this Python) runs both parts; rank 0 reports.

- **all_reduce**: ``comm.all_reduce(ndarray)`` against mpi4py's own ``Allreduce(IN_PLACE, array)`` on the same
  buffer, for sizes from 4 KiB to 16 MiB of float32, the two taking turns; and the gradients of the MLP below as a
  list (``all_reduce(grads)``, packed into one buffer) against ``Allreduce`` of the same arrays one by one.
  Bandwidth is the algorithm's (bytes of the buffer per second); the ratio is mpi4py's time over ours (1.0: as
  fast as mpi4py; below 1: slower).
- **data-parallel speedup**: one training step of an MLP (784-512-512-10, batch 256) in one process (rank 0
  alone, rank 1 waiting) against the same global batch split over the 2 processes, forward, backward and the
  all_reduce of the gradients in each (``all_reduce`` after backward, and ``all_reduce_callback`` during it); the
  two ways alternate round by round. The speedup is the one-process time over the 2-process time (2.0 at best).

Run: ``python benchmarks/bench_mpi.py`` (``make bench-mpi``); ``--quick`` for a short smoke run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.abspath(__file__)


def _median_pair(ours, theirs, rounds, repeats):
    """Medians of the per-call times of ``ours`` and ``theirs``, alternating round by round."""
    a, b = [], []
    for _ in range(rounds):
        for times, fn in ((a, ours), (b, theirs)):
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            times.append((time.perf_counter() - start) / repeats)
    return statistics.median(a), statistics.median(b)


def bandwidth(comm, quick):
    from mpi4py import MPI

    import nnabla as nn

    world = MPI.COMM_WORLD
    rows = []
    sizes = [1 << 10, 1 << 16, 1 << 20] if quick else [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22]
    for n in sizes:
        a = nn.NdArray.from_numpy_array(np.random.RandomState(comm.rank).rand(n).astype(np.float32))
        buf = a._get()  # the same buffer for both
        repeats = max(2, min(200, (1 << 22) // n)) if not quick else 3
        comm.barrier()
        ours, theirs = _median_pair(
            lambda: comm.all_reduce(a), lambda: world.Allreduce(MPI.IN_PLACE, buf), 3 if quick else 7, repeats
        )
        rows.append((f"{n * 4 / 1024:.0f} KiB", n * 4, ours, theirs))
    return rows


def _mlp(batch, quick):
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF

    hidden = 64 if quick else 512
    x = nn.Variable((batch, 784))
    t = nn.Variable((batch, 1))
    rng = np.random.RandomState(0)
    x.d = rng.rand(batch, 784)
    t.d = rng.randint(0, 10, (batch, 1))
    h = F.relu(PF.affine(x, hidden, name="l1", rng=rng))
    h = F.relu(PF.affine(h, hidden, name="l2", rng=rng))
    loss = F.mean(F.softmax_cross_entropy(PF.affine(h, 10, name="l3", rng=rng), t))
    return loss


def gradients_list(comm, quick):
    from mpi4py import MPI

    import nnabla as nn

    world = MPI.COMM_WORLD
    nn.clear_parameters()
    with nn.parameter_scope("grads"):
        loss = _mlp(8, quick)
        loss.forward()
        loss.backward()
        grads = [p.grad for p in nn.get_parameters().values()]
    bufs = [g._get() for g in grads]
    total = sum(b.size for b in bufs)

    def theirs():
        for b in bufs:
            world.Allreduce(MPI.IN_PLACE, b)

    comm.barrier()
    ours, mine = _median_pair(lambda: comm.all_reduce(grads), theirs, 3 if quick else 7, 3 if quick else 20)
    return (f"MLP gradients, {len(grads)} arrays", total * 4, ours, mine)


def speedup(comm, quick):
    import nnabla as nn
    import nnabla.solvers as S

    batch = 32 if quick else 256
    scopes = {}
    for name, b in (("one", batch), ("split", batch // comm.size)):
        nn.clear_parameters()
        with nn.parameter_scope(name):
            loss = _mlp(b, quick)
            solver = S.Sgd(0.01)
            params = nn.get_parameters()
            solver.set_parameters(params)
            scopes[name] = (loss, solver, [p.grad for p in params.values()])

    def one_process():
        if comm.rank == 0:
            loss, solver, _ = scopes["one"]
            loss.forward(clear_no_need_grad=True)
            solver.zero_grad()
            loss.backward(clear_buffer=True)
            solver.update()

    def data_parallel(callback):
        def step():
            loss, solver, grads = scopes["split"]
            loss.forward(clear_no_need_grad=True)
            solver.zero_grad()
            if callback:
                loss.backward(clear_buffer=True, communicator_callbacks=comm.all_reduce_callback(grads, 1 << 20))
            else:
                loss.backward(clear_buffer=True)
                comm.all_reduce(grads, division=True)
            solver.update()

        return step

    rounds, repeats = (3, 2) if quick else (7, 10)
    times = {"one": [], "all_reduce": [], "callback": []}
    steps = {"one": one_process, "all_reduce": data_parallel(False), "callback": data_parallel(True)}
    for step in steps.values():
        step()  # warm up: plans, buffers
    for _ in range(rounds):
        for name, step in steps.items():
            comm.barrier()
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            comm.barrier()  # the step ends when the last process is done
            times[name].append((time.perf_counter() - start) / repeats)
    return {k: statistics.median(v) for k, v in times.items()}, batch


def worker(quick):
    import nnabla.communicators as C
    from nnabla.ext_utils import get_extension_context

    comm = C.MultiProcessDataParallelCommunicator(get_extension_context("cpu"))
    comm.init()
    rows = bandwidth(comm, quick) + [gradients_list(comm, quick)]
    (times, batch) = speedup(comm, quick)
    if comm.rank != 0:
        return
    print(f"all_reduce over {comm.size} processes ({comm.name}): ours against mpi4py's Allreduce, same buffers")
    print(f"{'buffer':<28}{'ours GB/s':>11}{'mpi4py GB/s':>13}{'ratio':>8}")
    for label, nbytes, ours, theirs in rows:
        print(f"{label:<28}{nbytes / ours / 1e9:>11.2f}{nbytes / theirs / 1e9:>13.2f}{theirs / ours:>7.2f}x mpi4py")
    print()
    print(f"data-parallel MLP step, global batch {batch}: 1 process against {comm.size} (same job, alternating)")
    for name, label in (("all_reduce", "all_reduce after backward"), ("callback", "all_reduce_callback")):
        print(f"  {label:<28}{times['one'] / times[name]:>6.2f}x speedup over 1 process")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.quick)
        return
    import nnabla._mpi as M

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    command = [M.mpiexec(), "-n", "2", sys.executable, HERE, "--worker"] + (["--quick"] if args.quick else [])
    sys.exit(subprocess.run(command, env=env, timeout=600).returncode)


if __name__ == "__main__":
    main()
