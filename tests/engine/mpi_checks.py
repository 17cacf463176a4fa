"""The communicator checks each process runs under ``mpiexec -n N python mpi_checks.py OUT_DIR [scenario]``.

Every process runs every check in ``CHECKS`` in order and writes ``OUT_DIR/rank<r>.json``: check name -> None when
it passed, else the traceback. tests/engine/test_communicators.py starts the processes and reads the files. Each
process makes its data from its rank, so each can compute the numpy reference of every collective by itself.

``CHECK_EXTENSION=cudnn`` runs the checks on a GPU context (``mpiexec -n 1``: NCCL; more processes than GPUs: MPI
on host copies).

Scenarios other than the checks: ``raise`` (rank 1 raises while rank 0 waits in all_reduce) and ``stall`` (rank
1 sleeps instead; the watch dog's settings come from the environment).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import numpy as np

EXTENSION = os.environ.get("CHECK_EXTENSION", "cpu")
SHAPES = [(3, 4), (7,), (1,), (2, 3, 5), (5, 1)]  # sizes that no pack size or process count divides evenly


def data(rank, shape, seed=0):
    """What the process of ``rank`` holds: a reference anyone can recompute."""
    return np.random.RandomState(1000 * seed + rank).randn(*shape).astype(np.float32)


def nd(values, dtype=np.float32):
    import nnabla as nn

    return nn.NdArray.from_numpy_array(np.asarray(values, dtype))


def close(got, want, dtype):
    tol = 2e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=tol, atol=tol * 4)


def comm_of(dtype):
    import nnabla.communicators as C
    from nnabla.ext_utils import get_extension_context

    if dtype not in _COMMS:
        config = "half" if dtype == np.float16 else "float"
        ctx = get_extension_context(EXTENSION, type_config=config)
        _COMMS[dtype] = C.MultiProcessDataParallelCommunicator(ctx)
        _COMMS[dtype].init()
    return _COMMS[dtype]


_COMMS: dict = {}
DTYPES = [np.float32, np.float16]


# -- the checks ---------------------------------------------------------------------------------------------
def check_identity():
    comm = comm_of(np.float32)
    size, rank = comm.size, comm.rank
    assert size == int(os.environ["PMI_SIZE"]) and rank == int(os.environ["PMI_RANK"])
    assert comm.local_rank == rank  # one host
    names = ["MultiProcessDataParallelCommunicator"] + (
        ["MultiProcessDataParallelCommunicatorNccl"] if EXTENSION != "cpu" else []
    )
    assert comm.name in names, comm.name
    assert comm.list_groups() == {"world": list(range(size))}
    assert comm.find_group("world") == list(range(size)) and comm.find_group("nowhere") == []


def _all_reduce(dtype, division, inplace):
    comm = comm_of(dtype)
    arrays = [nd(data(comm.rank, s, seed=i)) for i, s in enumerate(SHAPES)]
    comm.all_reduce(arrays, division=division, inplace=inplace)
    for i, (a, s) in enumerate(zip(arrays, SHAPES)):
        want = sum(data(r, s, seed=i).astype(dtype).astype(np.float32) for r in range(comm.size))
        assert a.dtype == dtype, f"converted to the context's type: {a.dtype}"
        close(a.data, want / comm.size if division else want, dtype)


def _all_reduce_one(dtype):
    comm = comm_of(dtype)
    a = nd(data(comm.rank, (4, 3)))
    comm.all_reduce(a, division=True)
    close(a.data, np.mean([data(r, (4, 3)).astype(dtype) for r in range(comm.size)], axis=0, dtype=np.float32), dtype)


def check_all_reduce_skips_arrays_zeroed_everywhere():
    comm = comm_of(np.float32)
    a, b = nd(np.ones(3)), nd(np.ones(2))
    a.zero(), b.zero()
    comm.all_reduce([a, b], inplace=False)
    assert a.zeroing and b.zeroing
    a.zero()
    if comm.rank == 0:
        a.data = 2
    comm.all_reduce([a, b], inplace=True)
    assert not a.zeroing and b.zeroing
    np.testing.assert_array_equal(a.data, [2, 2, 2])


def _reduce(dtype, division, inplace):
    comm = comm_of(dtype)
    dst = comm.size - 1
    arrays = [nd(data(comm.rank, s, seed=i)) for i, s in enumerate(SHAPES)]
    comm.reduce(arrays, dst, division=division, inplace=inplace)
    for i, (a, s) in enumerate(zip(arrays, SHAPES)):
        if comm.rank == dst:
            want = sum(data(r, s, seed=i).astype(dtype).astype(np.float32) for r in range(comm.size))
            close(a.data, want / comm.size if division else want, dtype)
        else:
            close(a.data, data(comm.rank, s, seed=i).astype(dtype), dtype)  # the others keep theirs


def _bcast(dtype, inplace):
    comm = comm_of(dtype)
    src = comm.size - 1
    arrays = [nd(data(comm.rank, s, seed=i)) for i, s in enumerate(SHAPES)]
    comm.bcast(arrays, src, inplace=inplace)
    for i, (a, s) in enumerate(zip(arrays, SHAPES)):
        close(a.data, data(src, s, seed=i).astype(dtype), dtype)


def _all_gather(dtype):
    comm = comm_of(dtype)
    x = nd(data(comm.rank, (2, 3)))
    shapes = [(6,), (3, 2), (1, 6), (2, 3)][: comm.size]  # any shapes of the same size
    ys = [nd(np.zeros(s)) for s in shapes]
    comm.all_gather(x, ys)
    for r, y in enumerate(ys):
        assert y.shape == shapes[r]
        close(y.data, data(r, (2, 3)).astype(dtype).reshape(shapes[r]), dtype)


def _reduce_scatter(dtype, division):
    comm = comm_of(dtype)
    xs = [nd(data(comm.rank, (3, 2), seed=i)) for i in range(comm.size)]
    y = nd(np.zeros((3, 2)))
    comm.reduce_scatter(xs, y, division=division)
    want = sum(data(r, (3, 2), seed=comm.rank).astype(dtype).astype(np.float32) for r in range(comm.size))
    close(y.data, want / comm.size if division else want, dtype)


def check_barrier_waits_for_the_last_process():
    comm = comm_of(np.float32)
    if comm.rank == 0:
        time.sleep(0.3)
    start = time.perf_counter()
    comm.barrier()
    waited = time.perf_counter() - start
    assert comm.rank == 0 or waited > 0.2, waited


def check_groups():
    comm = comm_of(np.float32)
    ends = sorted({0, comm.size - 1})
    assert comm.new_group(("ends", ends)) == "ends"
    assert comm.list_groups() == {"world": list(range(comm.size)), "ends": ends}
    assert comm.find_group("ends") == ends
    refused = [(("ends", [0]), "already exists"), (("far", [0, comm.size]), "ranks"), (("none", []), "ranks")]
    refused.append((("twice", [0, 0]), "distinct ranks"))
    for bad, match in refused:
        try:
            comm.new_group(bad)
        except RuntimeError as e:
            assert match in str(e), e
        else:
            raise AssertionError(f"new_group{bad} was accepted")
    a = nd(data(comm.rank, (4,)))
    if comm.rank in ends:
        comm.all_reduce(a, group="ends")
        close(a.data, sum(data(r, (4,)) for r in ends), np.float32)
        b = nd(data(comm.rank, (2,)))
        comm.bcast(b, len(ends) - 1, group="ends")  # the group's last rank: the last process
        close(b.data, data(ends[-1], (2,)), np.float32)
    else:
        try:
            comm.all_reduce(a, group="ends")
        except RuntimeError as e:
            assert f"self (rank={comm.rank}) is not included in ends" in str(e), e
        else:
            raise AssertionError("a process outside the group took part")
    try:
        comm.all_reduce(a, group="unknown")
    except RuntimeError as e:
        assert "group 'unknown' does not exist" in str(e), e
    else:
        raise AssertionError("an unknown group was accepted")


def check_refusals():
    comm = comm_of(np.float32)
    a = nd(np.ones(2))
    cases = [
        (lambda: comm.init(), RuntimeError, "already initialized"),
        (lambda: comm.reduce(a, comm.size), RuntimeError, f"dst={comm.size} is not a rank"),
        (lambda: comm.bcast([a], -1), RuntimeError, "src=-1 is not a rank"),
        (lambda: comm.all_reduce((a,)), TypeError, "data must be an NdArray or a list of NdArrays"),
        (lambda: comm.all_reduce([a, np.ones(2)]), TypeError, r"data[1] is a ndarray, not an NdArray"),
        (lambda: comm.all_gather(a, [a] * (comm.size + 1)), RuntimeError, "the group's size"),
        (lambda: comm.reduce_scatter([a] * comm.size, nd(np.ones(3))), RuntimeError, "the group's size"),
        (lambda: comm.all_reduce_callback([a], 0), ValueError, "pack_size must be positive"),
        (lambda: comm.add_context_and_parameters([1, 2]), TypeError, "tuple of two elements"),
    ]
    for call, kind, match in cases:
        try:
            call()
        except kind as e:
            assert match in str(e), e
        else:
            raise AssertionError(f"accepted: {match}")


def _graph_of_leaves(rank, n=20):
    """NNabla's test graph: a sum of leaves, each leaf's gradient all ones."""
    import nnabla as nn
    import nnabla.functions as F

    y = nn.Variable((3, 4))
    y.d = 0
    leaves = []
    for i in range(n):
        x = nn.Variable((3, 4), need_grad=True)
        x.d = data(rank, (3, 4), seed=i)
        y = F.add2(y, x * (rank + 1) * (i + 1))
        leaves.append(x)
    return y, leaves


def _all_reduce_callback(pack_size, division):
    comm = comm_of(np.float32)
    y, leaves = _graph_of_leaves(comm.rank)
    y.forward()
    for x in leaves:
        x.grad.zero()
    callback = comm.all_reduce_callback([x.grad for x in leaves], pack_size, division)
    y.backward(clear_buffer=True, communicator_callbacks=callback)
    total = sum(r + 1 for r in range(comm.size))
    for i, x in enumerate(leaves):
        close(x.g, np.full((3, 4), total * (i + 1) / (comm.size if division else 1)), np.float32)


def check_all_reduce_callback_scale_grad_and_keep_dtype():
    comm = comm_of(np.float32)
    y, leaves = _graph_of_leaves(comm.rank, n=4)
    y.forward()
    total = sum(r + 1 for r in range(comm.size))
    for keep in (False, True):
        for x in leaves:
            x.grad.zero()
        for x in leaves[::2]:
            x.grad.cast(np.float16)
        cb = comm.all_reduce_callback([x.grad for x in leaves], 5, scale_grad=0.5, keep_dtype=keep)
        y.backward(communicator_callbacks=[cb])
        for i, x in enumerate(leaves):
            assert x.grad.dtype == (np.float16 if keep and i % 2 == 0 else np.float32), (keep, i, x.grad.dtype)
            close(x.g, np.full((3, 4), 0.5 * total * (i + 1)), np.float16)


def _train(x_all, t_all, shard, steps, comm=None, use_callback=False, mean_and_division=True, initial=None):
    """Train an MLP on this process's ``shard`` of the batch with ``comm``, starting from rank 0's parameters, or
    in one process on the whole batch from ``initial``; returns the parameters at the start and at the end."""
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF
    import nnabla.solvers as S

    nn.clear_parameters()
    x = nn.Variable((len(shard), x_all.shape[1]))
    t = nn.Variable((len(shard), t_all.shape[1]))
    rank = comm.rank if comm is not None else 0
    with nn.parameter_scope("mlp"):
        h = F.tanh(PF.affine(x, 16, name="l1", rng=np.random.RandomState(rank)))
        y = PF.affine(h, t_all.shape[1], name="l2", rng=np.random.RandomState(rank + 7))
    per_sample = F.sum(F.squared_error(y, t), axis=1)
    loss = F.mean(per_sample) if mean_and_division else F.sum(per_sample) / len(x_all)
    params = nn.get_parameters()
    if comm is not None:
        comm.bcast([p.data for p in params.values()], 0)
    else:
        for p, v in zip(params.values(), initial):
            p.d = v
    start = [p.d.copy() for p in params.values()]
    solver = S.Momentum(lr=0.2, momentum=0.9)
    solver.set_parameters(params)
    x.d, t.d = x_all[shard], t_all[shard]
    grads = [p.grad for p in params.values()]
    for _ in range(steps):
        loss.forward(clear_no_need_grad=True)
        solver.zero_grad()
        if comm is not None and use_callback:
            callback = comm.all_reduce_callback(grads, 50, division=mean_and_division)
            loss.backward(clear_buffer=True, communicator_callbacks=callback)
        else:
            loss.backward(clear_buffer=True)
            if comm is not None:
                comm.all_reduce(grads, division=mean_and_division, inplace=False)
        solver.update()
    return start, {k: v.d.copy() for k, v in params.items()}


def _data_parallel(use_callback, mean_and_division):
    """Data-parallel training gives the parameters of training on the concatenated batch in one process: an even
    split with mean losses and ``division``, or an uneven one (a batch size no process count divides) with each
    loss summed over its shard and divided by the whole batch size."""
    comm = comm_of(np.float32)
    rng = np.random.RandomState(3)
    n = 4 * comm.size if mean_and_division else 3 * comm.size + 1
    x_all, t_all = rng.randn(n, 5).astype(np.float32), rng.randn(n, 2).astype(np.float32)
    shards = np.array_split(np.arange(n), comm.size)
    start, got = _train(x_all, t_all, shards[comm.rank], 6, comm, use_callback, mean_and_division)
    _, want = _train(x_all, t_all, np.arange(n), 6, initial=start)
    for (name, w), s in zip(want.items(), start):
        np.testing.assert_allclose(got[name], w, rtol=1e-5, atol=1e-6, err_msg=name)
        assert np.abs(w - s).max() > 1e-2, f"{name} did not train"


def check_create_communicator_and_rank_zero_monitors():
    import nnabla.monitor as M
    from nnabla.utils import communicator_util as U

    comm = U.create_communicator(extension_module=EXTENSION)
    assert U.current_communicator() is comm
    if os.environ["PMI_SIZE"] == "1":  # one process: no communicator (NNabla's rule)
        assert comm is None and U.single_or_rankzero()
        return
    assert comm.size == int(os.environ["PMI_SIZE"]) and U.single_or_rankzero() == (comm.rank == 0)
    folder = os.path.join(sys.argv[1], "monitor")
    if U.single_or_rankzero():  # as NNabla's examples write their monitors
        M.MonitorSeries("Training loss", M.Monitor(folder), interval=1, verbose=False).add(0, 10.0 + comm.rank)
    comm.barrier()
    with open(os.path.join(folder, "Training-loss.series.txt")) as f:
        index, value = f.read().split()
    assert (index, float(value)) == ("0", 10.0)  # rank 0's


def check_sync_batch_normalization_is_batch_normalization_of_the_whole_batch():
    import nnabla as nn
    import nnabla.functions as F

    comm = comm_of(np.float32)
    rng = np.random.RandomState(5)
    x_all, w_all = rng.randn(3 * comm.size, 4, 2, 2), rng.randn(3 * comm.size, 4, 2, 2)
    shard = slice(3 * comm.rank, 3 * comm.rank + 3)

    def run(normalize, x_values, w_values):
        x = nn.Variable.from_numpy_array(x_values, need_grad=True)
        beta = nn.Variable.from_numpy_array(np.linspace(-1, 1, 4).reshape(1, 4, 1, 1), need_grad=True)
        gamma = nn.Variable.from_numpy_array(np.linspace(0.5, 2, 4).reshape(1, 4, 1, 1), need_grad=True)
        mean, var = (
            nn.Variable.from_numpy_array(np.zeros((1, 4, 1, 1))),
            nn.Variable.from_numpy_array(np.ones((1, 4, 1, 1))),
        )
        y = normalize(x, beta, gamma, mean, var)
        loss = F.sum(y * nn.Variable.from_numpy_array(w_values))
        loss.forward()
        for v in (x, beta, gamma):
            v.grad.zero()
        loss.backward()
        return y.d.copy(), x, beta, gamma, mean, var

    y, *got = run(lambda *a: F.sync_batch_normalization(*a, comm=comm, axes=[1]), x_all[shard], w_all[shard])
    y_all, *want = run(lambda *a: F.batch_normalization(*a, axes=[1]), x_all, w_all)
    comm.all_reduce([got[1].grad, got[2].grad])  # the parameters' gradients, as in data-parallel training
    np.testing.assert_allclose(y, y_all[shard], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[0].g, want[0].g[shard], rtol=1e-4, atol=1e-5, err_msg="x")
    for name, g, w in zip(["beta", "gamma"], got[1:3], want[1:3]):
        np.testing.assert_allclose(g.g, w.g, rtol=1e-4, atol=1e-5, err_msg=name)
    for name, g, w in zip(["running mean", "running variance"], got[3:], want[3:]):
        np.testing.assert_allclose(g.d, w.d, rtol=1e-5, atol=1e-6, err_msg=name)


CHECKS = {"identity": check_identity}
for _dt in DTYPES:
    _n = np.dtype(_dt).name
    CHECKS[f"all_reduce_one_ndarray_{_n}"] = lambda dt=_dt: _all_reduce_one(dt)
    CHECKS[f"all_gather_{_n}"] = lambda dt=_dt: _all_gather(dt)
    for _division in (False, True):
        CHECKS[f"reduce_scatter_{_n}_division{_division}"] = lambda dt=_dt, d=_division: _reduce_scatter(dt, d)
        for _inplace in (False, True):
            _k = f"{_n}_division{_division}_inplace{_inplace}"
            CHECKS[f"all_reduce_{_k}"] = lambda dt=_dt, d=_division, i=_inplace: _all_reduce(dt, d, i)
            CHECKS[f"reduce_{_k}"] = lambda dt=_dt, d=_division, i=_inplace: _reduce(dt, d, i)
    for _inplace in (False, True):
        CHECKS[f"bcast_{_n}_inplace{_inplace}"] = lambda dt=_dt, i=_inplace: _bcast(dt, i)
CHECKS["all_reduce_skips_arrays_zeroed_everywhere"] = check_all_reduce_skips_arrays_zeroed_everywhere
for _pack in (2, 8, 1 << 20):
    for _division in (False, True):
        CHECKS[f"all_reduce_callback_pack{_pack}_division{_division}"] = lambda p=_pack, d=_division: (
            _all_reduce_callback(p, d)
        )
CHECKS["all_reduce_callback_scale_grad_and_keep_dtype"] = check_all_reduce_callback_scale_grad_and_keep_dtype
CHECKS["barrier_waits_for_the_last_process"] = check_barrier_waits_for_the_last_process
CHECKS["groups"] = check_groups
CHECKS["refusals"] = check_refusals
for _callback in (False, True):
    for _even in (True, False):
        _k = f"data_parallel_mlp_{'callback' if _callback else 'all_reduce'}_{'even_mean' if _even else 'uneven_sum'}"
        CHECKS[_k] = lambda c=_callback, e=_even: _data_parallel(c, e)
CHECKS["sync_batch_normalization"] = check_sync_batch_normalization_is_batch_normalization_of_the_whole_batch
CHECKS["create_communicator_and_rank_zero_monitors"] = check_create_communicator_and_rank_zero_monitors


# -- scenarios ----------------------------------------------------------------------------------------------
def run_checks(out_dir):
    import nnabla as nn
    from nnabla.ext_utils import get_extension_context

    nn.set_default_context(get_extension_context(EXTENSION))
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = None
        except Exception:
            results[name] = traceback.format_exc()
    rank = comm_of(np.float32).rank
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(results, f)


def run_failing(scenario):
    comm = comm_of(np.float32)
    a = nd(np.ones(3))
    if comm.rank == 1:
        if scenario == "raise":
            raise ValueError("rank 1 fails before its all_reduce")
        time.sleep(float(os.environ.get("STALL_SECONDS", "30")))
    comm.all_reduce(a)
    print(f"rank {comm.rank} finished its all_reduce", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        run_failing(sys.argv[2])
    else:
        run_checks(sys.argv[1])
