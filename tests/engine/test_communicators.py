"""nnabla.communicators: NNabla's communicators, run as NNabla's are, under mpiexec.

The collectives and the data-parallel training are checked by 1, 2 and 3 processes (an odd count, so batches and
packs split unevenly) that ``mpiexec`` (the mpich wheel's, next to this Python) starts once per count, each running
every check of mpi_checks.py against numpy. Each launch is bounded by a timeout: a hang fails, it never stalls
the suite. A process that raises, or stalls past the watch dog's limit, ends the whole job. In this process:
the single-process DataParallelCommunicator, the backward callbacks' protocol, and the choice between NCCL and
MPI (with a fake ``cupy.cuda.nccl``: there is no GPU here).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import nnabla as nn
import nnabla._mpi as M
import nnabla.communicators as C
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla.ext_utils import get_extension_context

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKS_PATH = os.path.join(HERE, "mpi_checks.py")
_spec = importlib.util.spec_from_file_location("mpi_checks", CHECKS_PATH)
mpi_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mpi_checks)

LAUNCH_TIMEOUT = 90  # seconds for one mpiexec job; the checks take a few seconds on 2 busy cores


def _env(**extra):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", **extra)
    paths = [os.path.join(HERE, "..", "..", "engine"), os.path.join(HERE, "..", "..")]
    env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(p) for p in paths] + [env.get("PYTHONPATH", "")])
    return env


def _mpiexec(n, *args, timeout=LAUNCH_TIMEOUT, **env):
    command = [M.mpiexec(), "-n", str(n), sys.executable, CHECKS_PATH, *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, env=_env(**env), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(command)} hung past {timeout} s:\n{e.stdout}\n{e.stderr}")
    return done, time.perf_counter() - start


_RESULTS: dict = {}


def _results(n, tmp_path_factory) -> dict:
    """rank -> {check: None or traceback}, from one mpiexec job of ``n`` processes (run once per count)."""
    if n not in _RESULTS:
        out = tmp_path_factory.mktemp(f"mpi{n}")
        done, _ = _mpiexec(n, str(out))
        files = sorted(out.glob("rank*.json"))
        if done.returncode != 0 or len(files) != n:
            pytest.fail(f"mpiexec -n {n} ended with {done.returncode}, {len(files)} reports:\n{done.stderr[-4000:]}")
        _RESULTS[n] = {int(f.stem[4:]): json.loads(f.read_text()) for f in files}
    return _RESULTS[n]


@pytest.mark.parametrize("check", list(mpi_checks.CHECKS))
@pytest.mark.parametrize("n", [1, 2, 3])
def test_every_process_passes(n, check, tmp_path_factory):
    failures = {rank: results[check] for rank, results in _results(n, tmp_path_factory).items() if results[check]}
    assert not failures, "\n".join(f"rank {r}:\n{tb}" for r, tb in failures.items())


# -- failing processes end the job --------------------------------------------------------------------------
def test_a_process_that_raises_ends_the_others_promptly(tmp_path):
    done, seconds = _mpiexec(2, str(tmp_path), "raise", timeout=60)
    assert done.returncode != 0
    assert "ValueError: rank 1 fails before its all_reduce" in done.stderr
    assert "finished" not in done.stdout  # rank 0 did not get past its all_reduce
    assert seconds < 30


def test_the_watch_dog_aborts_a_stalled_job_when_enabled(tmp_path):
    env = {"NNABLA_MPI_WATCH_DOG_ENABLE": "1", "NNABLA_MPI_WATCH_DOG_TIMEOUT": "1", "STALL_SECONDS": "60"}
    done, seconds = _mpiexec(2, str(tmp_path), "stall", timeout=60, **env)
    assert done.returncode != 0
    assert "System stop response within     1.00 seconds! (all_reduce)" in done.stderr
    assert seconds < 30


def test_the_watch_dog_only_warns_by_default(tmp_path):
    env = {"NNABLA_MPI_WATCH_DOG_TIMEOUT": "1", "STALL_SECONDS": "2.5"}
    done, _ = _mpiexec(2, str(tmp_path), "stall", timeout=60, **env)
    assert done.returncode == 0, done.stderr
    assert "WARNING: some node stop response for     1.00 seconds! (all_reduce)" in done.stderr
    for r in (0, 1):  # the two processes' lines reach mpiexec's stdout in either order
        assert f"rank {r} finished its all_reduce" in done.stdout, done.stdout


def test_one_process_without_mpiexec_is_a_communicator_of_size_one():
    script = """
import numpy as np, nnabla as nn, nnabla.communicators as C, nnabla.functions as F
from nnabla.ext_utils import get_extension_context
comm = C.MultiProcessCommunicator(get_extension_context("cpu"))
comm.init()
x = nn.Variable((2, 3), need_grad=True)
x.d = np.arange(6).reshape(2, 3)
comm.all_reduce(x.data, division=True)
y = F.sum(x * x)
y.forward()
x.grad.zero()
y.backward(communicator_callbacks=comm.all_reduce_callback([x.grad], 4, division=True))
print(comm.size, comm.rank, comm.local_rank, x.d.sum(), x.g.sum())
"""
    done = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0", "0", "15.0", "30.0"]


# -- in this process ----------------------------------------------------------------------------------------
def test_nnabla_names():
    assert C.MultiProcessDataParalellCommunicator is C.MultiProcessDataParallelCommunicator
    assert C.MultiProcessCommunicator is C.Comm is C.Dist is C.MultiProcessDataParallelCommunicator
    comm = C.MultiProcessDataParallelCommunicator(get_extension_context("cpu"))
    assert isinstance(comm, C.Communicator) and comm.name == "MultiProcessDataParallelCommunicator"
    with pytest.raises(RuntimeError, match=r"MultiProcessDataParallelCommunicator.rank: call init\(\) first"):
        comm.rank


def _device_parameters(ctx, scope, scale):
    with nn.parameter_scope(scope), nn.context_scope(ctx):
        x = nn.Variable((4, 3))
        x.d = np.arange(12).reshape(4, 3) * scale
        loss = F.sum(PF.affine(x, 2, w_init=np.ones((3, 2)), b_init=np.zeros(2)))
        loss.forward()
        loss.backward()
        return nn.get_parameters()


def test_data_parallel_communicator_sums_the_gradients_of_its_devices():
    nn.clear_parameters()
    ctxs = [nn.Context(["cpu:float"], "CpuCachedArray", str(i)) for i in range(2)]  # two devices
    params = [_device_parameters(ctx, f"device{i}", i + 1) for i, ctx in enumerate(ctxs)]
    grads = [{k: v.g.copy() for k, v in p.items()} for p in params]
    comm = C.DataParallelCommunicator(ctxs[0])
    for ctx, p in zip(ctxs, params):
        comm.add_context_and_parameters((ctx, p))
    with pytest.raises(RuntimeError, match="The same context was added"):
        comm.add_context_and_parameters((ctxs[1], params[1]))
    comm.init()
    assert (comm.name, comm.size, comm.rank, comm.local_rank) == ("DataParallelCommunicator", 2, 0, 0)
    comm.allreduce(division=True)
    for p in params:
        for (k, v), g0, g1 in zip(p.items(), grads[0].values(), grads[1].values()):
            np.testing.assert_allclose(v.g, (g0 + g1) / 2, err_msg=k)
    with pytest.raises(RuntimeError, match="DataParallelCommunicator.all_reduce is not implemented"):
        comm.all_reduce([v.grad for v in params[0].values()])
    with pytest.raises(RuntimeError, match="already initialized"):
        comm.init()
    comm.clear_context_parameters()
    assert comm.size == 1
    nn.clear_parameters()


def test_backward_calls_the_communicator_callbacks_after_each_function_and_at_the_end():
    from nnabla.communicator import CommunicatorBackwardCallback

    calls = []

    class Recording(CommunicatorBackwardCallback):
        def __init__(self, tag):
            self.tag = tag

        def on_finish_function_backward(self, function):
            calls.append((self.tag, function.info.type_name, [x.g.copy() for x in function.inputs if x.need_grad]))

        def on_finish_backward(self):
            calls.append((self.tag, "end", None))

    x = nn.Variable((3,), need_grad=True)
    x.d = [1, 2, 3]
    x.grad.zero()
    y = F.sum(F.tanh(x) * 2)
    y.forward()
    hooked = []
    y.backward(communicator_callbacks=[Recording("a"), Recording("b")], function_post_hook=lambda f: hooked.append(f))
    names = [(tag, name) for tag, name, _ in calls]
    assert names == [
        ("a", "Sum"),
        ("b", "Sum"),
        ("a", "MulScalar"),
        ("b", "MulScalar"),
        ("a", "Tanh"),
        ("b", "Tanh"),
        ("a", "end"),
        ("b", "end"),
    ]
    assert len(hooked) == 3  # the post hook still runs
    np.testing.assert_allclose(calls[4][2][0], 2 * (1 - np.tanh([1, 2, 3]) ** 2), rtol=1e-5)  # x's gradient is done
    y.backward(communicator_callbacks=Recording("c"))  # one callback, not in a list
    assert calls[-1] == ("c", "end", None)


# -- NCCL or MPI --------------------------------------------------------------------------------------------
class FakeComm:
    """The two calls the NCCL bootstrap makes on an mpi4py communicator."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size

    def bcast(self, value, root):
        return value if self.rank == root else "uid-of-rank-0"


def fake_nccl(available=True):
    made = []
    nccl = types.ModuleType("cupy.cuda.nccl")
    nccl.available = available
    nccl.NCCL_FLOAT32, nccl.NCCL_FLOAT16, nccl.NCCL_FLOAT64, nccl.NCCL_SUM = 7, 6, 8, 0
    nccl.get_unique_id = lambda: "uid-of-rank-0"
    nccl.NcclCommunicator = lambda size, uid, rank: made.append((size, uid, rank)) or ("nccl", rank)
    nccl.made = made
    return nccl


@pytest.fixture
def warnings_said(monkeypatch):
    said = []
    monkeypatch.setattr(M.logger, "warning", lambda message: said.append(message))
    monkeypatch.setattr(M, "_warned", set())
    return said


def test_a_gpu_context_runs_its_collectives_over_nccl(monkeypatch, warnings_said):
    nccl = fake_nccl()
    monkeypatch.setattr(M, "nccl_module", lambda: nccl)
    coll = M.select_collectives(True, FakeComm(1, 2))
    assert isinstance(coll, M.NcclCollectives) and coll.nccl_comm == ("nccl", 1)
    assert nccl.made == [(2, "uid-of-rank-0", 1)]  # rank 0's id, through MPI
    assert not warnings_said


def test_without_nccl_a_gpu_context_falls_back_to_mpi_and_says_so_once(monkeypatch, warnings_said):
    monkeypatch.setattr(M, "nccl_module", lambda: None)
    for _ in range(2):
        assert isinstance(M.select_collectives(True, FakeComm(0, 2)), M.MpiCollectives)
    assert warnings_said == [
        "MultiProcessDataParallelCommunicator: NCCL is not available (cupy.cuda.nccl): the collectives of this GPU "
        "context go through MPI, on host copies of the arrays"
    ]


def test_processes_sharing_a_gpu_fall_back_to_mpi_even_with_nccl(monkeypatch, warnings_said):
    monkeypatch.setattr(M, "nccl_module", lambda: fake_nccl())
    reason = "the 2 processes on this host share 1 GPU(s); NCCL needs one each"
    assert isinstance(M.select_collectives(True, FakeComm(0, 2), reason), M.MpiCollectives)
    assert len(warnings_said) == 1 and reason in warnings_said[0]


def test_a_cpu_context_uses_mpi_silently(monkeypatch, warnings_said):
    monkeypatch.setattr(M, "nccl_module", lambda: fake_nccl())
    assert isinstance(M.select_collectives(False, FakeComm(0, 2)), M.MpiCollectives)
    assert not warnings_said


class DeviceArray:
    """A device array as NCCL sees it: a pointer, a size and a dtype; reading it on the host fails the test."""

    def __init__(self, values):
        self.values = np.array(values, np.float32)
        self.data = types.SimpleNamespace(ptr=1000 + id(self) % 1000)
        self.size, self.dtype = self.values.size, self.values.dtype

    def __itruediv__(self, scalar):
        self.values /= scalar
        return self

    def get(self):
        raise AssertionError("a host copy of a device array")


class RecordingNccl:
    """The NCCL communicator of the first of 2 processes whose peer holds twice its values."""

    def __init__(self, arrays):
        self.arrays, self.calls = arrays, []

    def allReduce(self, send, recv, count, dtype, op, stream):
        self.calls.append(("allReduce", send, recv, count, dtype, op, stream))
        self.arrays[recv].values *= 3  # its own values and its peer's, twice as large

    def bcast(self, buf, count, dtype, root, stream):
        self.calls.append(("bcast", buf, count, dtype, root, stream))


def test_nccl_collectives_pass_device_pointers_on_the_current_stream(monkeypatch):
    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(get_current_stream=lambda: types.SimpleNamespace(ptr=77))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    a = DeviceArray([1.0, 2.0, 4.0])
    recording = RecordingNccl({a.data.ptr: a})
    nccl = fake_nccl()
    nccl.NcclCommunicator = lambda size, uid, rank: recording
    coll = M.NcclCollectives(nccl, FakeComm(0, 2))
    coll.all_reduce(a, average=True)
    assert recording.calls == [("allReduce", a.data.ptr, a.data.ptr, 3, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, 77)]
    np.testing.assert_allclose(a.values, [1.5, 3.0, 6.0])  # the mean, divided on the device
    coll.bcast(a, 1)
    assert recording.calls[-1] == ("bcast", a.data.ptr, 3, nccl.NCCL_FLOAT32, 1, 77)


@pytest.mark.parametrize("available", [True, False])
def test_nccl_is_read_from_cupy(monkeypatch, available):
    nccl = fake_nccl(available)
    cuda = types.ModuleType("cupy.cuda")
    cuda.nccl = nccl
    cupy = types.ModuleType("cupy")
    cupy.cuda = cuda
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupy.cuda", cuda)
    monkeypatch.setitem(sys.modules, "cupy.cuda.nccl", nccl)
    assert M.nccl_module() is (nccl if available else None)


def test_create_communicator_outside_mpiexec_is_none(monkeypatch):
    from nnabla.utils import communicator_util as U

    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert U.create_communicator() is None and U.current_communicator() is None
    assert U.single_or_rankzero()


def test_mpiexec_is_the_environments_own(monkeypatch, tmp_path):
    import sysconfig

    assert os.path.dirname(M.mpiexec()) in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(RuntimeError, match=r"no mpiexec in this environment .*pip install 'nnabla-nb\[mpi\]'"):
        M.mpiexec()
