"""``nnabla.communicators``: gradients and data exchanged between processes for data-parallel training (NNabla's).

``MultiProcessDataParallelCommunicator(ctx)`` (also ``MultiProcessDataParalellCommunicator``,
``MultiProcessCommunicator``, ``Comm``, ``Dist``) joins the processes ``mpiexec -n N python script.py`` started:
after ``init()`` each knows its ``rank``, the ``size`` and its ``local_rank`` on its host, and the collectives
(``all_reduce``, ``reduce``, ``bcast``, ``all_gather``, ``reduce_scatter``, ``barrier``) run over the processes
of a group ("world": all of them; ``new_group`` makes others). They work on NdArrays in place, converted to the
context's float type (``type_config``) as NNabla's do; ``division=True`` divides a sum by the group's size.
``all_reduce_callback`` all-reduces the gradients during ``backward(communicator_callbacks=...)``, in packs of
``pack_size`` values, as soon as the functions using them have run backward.

``DataParallelCommunicator(ctx)`` is NNabla's single-process one: ``allreduce()`` sums the gradients of the
parameter sets added with ``add_context_and_parameters`` (one per context) and gives the sum to each.

Transports are in ``nnabla._mpi``: MPI (mpi4py) on host buffers, NCCL (cupy) on GPU arrays.
"""

from __future__ import annotations

import sys

import numpy as np

from . import _mpi
from ._array import ZERO_FILL, NdArray, get_array_module, to_numpy
from .context import _TYPE_CONFIGS, Context

# the watch dog's limits (seconds), NNabla's: init; all_reduce of a list on rank 0, and on the other ranks; of one
_INIT_TIMEOUT, _ALL_REDUCE_TIMEOUT, _OTHER_RANKS_FACTOR = 60, 50, 5


class Communicator:
    """Communicator interface class: exchanges data (e.g. gradients) with MPI-like collectives.

    Made by ``MultiProcessDataParallelCommunicator(ctx)`` or ``DataParallelCommunicator(ctx)``.
    """

    _name = "Communicator"

    def __init__(self, ctx: Context):
        if not isinstance(ctx, Context):
            raise TypeError(f"{self._name}: ctx must be an nnabla Context, got {type(ctx).__name__}")
        self._ctx = Context(ctx.backend, ctx.array_class, ctx.device_id)  # a copy, as NNabla's C++ side holds
        device, _, type_config = (ctx.backend[0] if ctx.backend else "cpu:float").partition(":")
        self._on_gpu = device in ("cuda", "cudnn")
        self._dtype = _TYPE_CONFIGS.get(type_config or "float", np.float32)
        self._contexts = []  # (context, [(name, Variable)]) added by add_context_and_parameters
        self._initialized = False
        self._rank = self._local_rank = 0
        self._size = 1

    # -- identity -----------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The communicator's class name."""
        return self._name

    @property
    def size(self) -> int:
        """How many processes (devices) take part."""
        return self._size

    @property
    def rank(self) -> int:
        """This process's rank, 0 to size - 1."""
        return self._rank

    @property
    def local_rank(self) -> int:
        """This process's rank among those on its host (the GPU it uses)."""
        return self._local_rank

    def __repr__(self) -> str:
        return f"<{self.name} rank={self._rank} size={self._size}>"

    # -- parameters -----------------------------------------------------------------------------------
    def add_context_and_parameters(self, ctx_param_dict) -> None:
        """Add a ``(Context, {name: Variable})`` pair: the parameters ``allreduce`` exchanges on that context."""
        if type(ctx_param_dict) is not tuple or len(ctx_param_dict) != 2:
            raise TypeError(
                f"{self._name}.add_context_and_parameters: ctx_param_dict must be tuple of two elements "
                f"(Context, dict of Variables), got {type(ctx_param_dict).__name__}"
            )
        ctx, params = ctx_param_dict
        from ._variable import Variable

        if not isinstance(ctx, Context):
            raise TypeError(
                f"{self._name}.add_context_and_parameters: the first element must be a Context, got {ctx!r}"
            )
        named = list(params.items())
        for key, v in named:
            if not isinstance(v, Variable):
                raise TypeError(
                    f"{self._name}.add_context_and_parameters: parameter {key!r} is a {type(v).__name__}, "
                    "not a Variable"
                )
        key = (ctx.array_class, ctx.device_id, ctx.backend[0].partition(":")[0] if ctx.backend else "cpu")
        if any(key == (c.array_class, c.device_id, c.backend[0].partition(":")[0]) for c, _ in self._contexts):
            raise RuntimeError(f"{self._name}.add_context_and_parameters: The same context was added ({ctx})")
        self._contexts.append((ctx, named))

    def clear_context_parameters(self) -> None:
        """Clear all registered contexts and parameters."""
        self._contexts = []

    # -- set-up ---------------------------------------------------------------------------------------
    def init(self) -> None:
        """Initialize the communicator (all processes together); call it once, before any collective."""
        if self._initialized:
            raise RuntimeError(f"{self._name}.init: Communicator was already initialized.")
        self._init()
        self._initialized = True

    def _not_implemented(self, method):
        raise RuntimeError(f"{self._name}.{method} is not implemented.")

    def barrier(self) -> None:
        """Block until every process has reached this call."""
        self._not_implemented("barrier")

    def abort(self) -> None:
        """Terminate every process of the job."""
        self._not_implemented("abort")

    def new_group(self, name_ranks) -> str:
        """Create the group ``(name, ranks)`` (every process calls it); returns its name."""
        self._not_implemented("new_group")

    def list_groups(self) -> dict:
        """The groups: name -> list of ranks."""
        self._not_implemented("list_groups")

    def find_group(self, group) -> list:
        """The ranks of ``group``, [] when it does not exist."""
        self._not_implemented("find_group")

    # -- collectives ----------------------------------------------------------------------------------
    def allreduce(self, division=False, inplace=False) -> None:
        """Deprecated (NNabla's; see ``all_reduce``): all-reduce the gradients of the parameters added."""
        self._not_implemented("allreduce")

    def all_reduce(self, data, division=False, inplace=False, group="world") -> None:
        """Sum ``data`` (an NdArray or a list of them) over the processes of ``group``, in place on every one;
        ``division`` divides by their number. ``inplace=True`` reduces each array by itself, ``False`` packs them
        into one buffer first (the result is the same). Arrays every process left zeroed (``zero()`` and nothing
        written since) stay zeroed."""
        self._not_implemented("all_reduce")

    def reduce(self, data, dst, division=False, inplace=False, group="world") -> None:
        """Sum ``data`` over ``group`` into the process of rank ``dst`` (within the group); the others keep theirs."""
        self._not_implemented("reduce")

    def bcast(self, data, src, inplace=False, group="world") -> None:
        """Copy ``data`` of the process of rank ``src`` (within the group) to every process of ``group``."""
        self._not_implemented("bcast")

    def all_gather(self, ndarray, ndarray_list, group="world") -> None:
        """``ndarray_list[i]`` of every process receives ``ndarray`` of the group's rank ``i``."""
        self._not_implemented("all_gather")

    def reduce_scatter(self, ndarray_list, ndarray, division=False, group="world") -> None:
        """``ndarray`` of the group's rank ``i`` receives the sum over the group of ``ndarray_list[i]``."""
        self._not_implemented("reduce_scatter")

    def all_reduce_callback(self, data, pack_size, division=False, group="world", scale_grad=1, keep_dtype=False):
        """A callback for ``backward(communicator_callbacks=...)`` that all-reduces the gradient arrays ``data``
        during backward, packed ``pack_size`` values at a time; ``scale_grad`` multiplies them first, and
        ``keep_dtype`` keeps each array's dtype (else it becomes the context's float type)."""
        self._not_implemented("all_reduce_callback")


# -- many processes -----------------------------------------------------------------------------------------
class _MultiProcess(Communicator):
    """NNabla's MultiProcessDataParallelCommunicator: one process per device, over MPI (NCCL on GPUs)."""

    _name = "MultiProcessDataParallelCommunicator"

    def __init__(self, ctx):
        super().__init__(ctx)
        self._groups = {}  # name -> ranks (world ranks), known by every process
        self._collectives = {}  # name -> the group's collectives, where this process is a member
        self._world = None
        self._watchdog = None
        self._no_nccl = None  # why a GPU context cannot use NCCL here, when it cannot

    def _need_init(self, method):
        if not self._initialized:
            raise RuntimeError(f"{self._name}.{method}: call init() first")

    @property
    def name(self) -> str:
        """The communicator's class name (NNabla's, with "Nccl" where NCCL carries the collectives)."""
        world = self._collectives.get("world")
        return self._name + ("Nccl" if world is not None and world.name == "nccl" else "")

    @property
    def size(self) -> int:
        """How many processes take part."""
        self._need_init("size")
        return self._size

    @property
    def rank(self) -> int:
        """This process's rank, 0 to size - 1."""
        self._need_init("rank")
        return self._rank

    @property
    def local_rank(self) -> int:
        """This process's rank among those on its host (the GPU it uses)."""
        self._need_init("local_rank")
        return self._local_rank

    def _init(self):
        MPI = _mpi.mpi()
        world = self._world = MPI.COMM_WORLD.Dup()  # its own context: no mix-up with the program's own MPI calls

        def abort(message):
            print(f"{self._name}: {message}", file=sys.stderr, flush=True)
            world.Abort(1)

        self._watchdog = _mpi.Watchdog(abort)
        self._watchdog.arm("init", _INIT_TIMEOUT)
        try:
            self._size, self._rank = world.Get_size(), world.Get_rank()
            hosts = world.allgather(MPI.Get_processor_name())
            self._local_rank = hosts[: self._rank].count(hosts[self._rank])
            if self._on_gpu:
                from ._array import cupy_module

                gpus = cupy_module("0").cuda.runtime.getDeviceCount()
                on_host = hosts.count(hosts[self._rank])
                if on_host > gpus:
                    self._no_nccl = f"the {on_host} processes on this host share {gpus} GPU(s); NCCL needs one each"
                self._ctx.device_id = str(self._local_rank % gpus)
                cupy_module(self._ctx.device_id)  # selects this process's GPU
            self._groups["world"] = list(range(self._size))
            self._collectives["world"] = _mpi.select_collectives(self._on_gpu, world, self._no_nccl)
        finally:
            self._watchdog.disarm()
        if self._size > 1:
            _mpi.abort_on_uncaught_exception(world)

    def barrier(self) -> None:
        self._need_init("barrier")
        self._world.Barrier()

    def abort(self) -> None:
        self._need_init("abort")
        self._world.Abort(-1)

    def new_group(self, name_ranks) -> str:
        self._need_init("new_group")
        name, ranks = name_ranks
        ranks = [int(r) for r in ranks]
        if name in self._groups:
            raise RuntimeError(f"{self._name}.new_group: group_name = {name} already exists")
        if not ranks or max(ranks) >= self._size or min(ranks) < 0 or len(set(ranks)) != len(ranks):
            raise RuntimeError(
                f"{self._name}.new_group: ranks {ranks} must be a non-empty list of distinct ranks from 0 to "
                f"{self._size - 1} (the size of the communicator is {self._size})"
            )
        self._groups[name] = ranks
        if self._rank in ranks:
            comm = self._world.Create_group(self._world.Get_group().Incl(ranks))
            self._collectives[name] = _mpi.select_collectives(self._on_gpu, comm, self._no_nccl)
        return name

    def list_groups(self) -> dict:
        self._need_init("list_groups")
        return {name: list(ranks) for name, ranks in self._groups.items()}

    def find_group(self, group) -> list:
        self._need_init("find_group")
        return list(self._groups.get(group, []))

    def _group(self, method, group):
        self._need_init(method)
        coll = self._collectives.get(group)
        if coll is None:
            if group not in self._groups:
                raise RuntimeError(
                    f"{self._name}.{method}: group {group!r} does not exist (groups: {', '.join(self._groups)})"
                )
            raise RuntimeError(f"{self._name}.{method}: self (rank={self._rank}) is not included in {group}.")
        return coll

    # -- collectives ------------------------------------------------------------------------------------
    def allreduce(self, division=False, inplace=False) -> None:
        if not self._contexts:
            raise RuntimeError(f"{self._name}.allreduce: no parameters added (add_context_and_parameters)")
        grads = [v.grad for _, v in self._contexts[0][1]]
        self._all_reduce("allreduce", grads, division, inplace, "world")

    def all_reduce(self, data, division=False, inplace=False, group="world") -> None:
        arrays = _ndarrays(self._name + ".all_reduce", "data", data)
        seconds = _ALL_REDUCE_TIMEOUT
        if isinstance(data, list) and self._rank != 0:
            seconds *= _OTHER_RANKS_FACTOR  # rank 0 may take longer between steps (NNabla's)
        self._need_init("all_reduce")
        self._watchdog.arm("all_reduce", seconds)
        try:
            self._all_reduce("all_reduce", arrays, division, inplace, group)
        finally:
            self._watchdog.disarm()

    def _all_reduce(self, method, arrays, division, inplace, group) -> None:
        coll = self._group(method, group)
        bufs = [self._buffer(a) for a in arrays]
        if not bufs:
            return
        _each_or_packed(bufs, inplace, lambda a: coll.all_reduce(a, division))
        for buf in bufs:
            buf.written(keep_zeroing=True)

    def reduce(self, data, dst, division=False, inplace=False, group="world") -> None:
        arrays = _ndarrays(self._name + ".reduce", "data", data)
        coll = self._group("reduce", group)
        _check_rank(self._name + ".reduce", "dst", dst, coll.size, group)
        bufs = [self._buffer(a) for a in arrays]
        if not bufs:
            return
        _each_or_packed(bufs, inplace, lambda a: coll.reduce(a, dst, division))
        for buf in bufs:
            buf.written()

    def bcast(self, data, src, inplace=False, group="world") -> None:
        arrays = _ndarrays(self._name + ".bcast", "data", data)
        coll = self._group("bcast", group)
        _check_rank(self._name + ".bcast", "src", src, coll.size, group)
        bufs = [self._buffer(a) for a in arrays]
        if not bufs:
            return
        _each_or_packed(bufs, inplace, lambda a: coll.bcast(a, src))
        for buf in bufs:
            buf.written()

    def all_gather(self, ndarray, ndarray_list, group="world") -> None:
        where = self._name + ".all_gather"
        (source,) = _ndarrays(where, "ndarray", ndarray, single=True)
        targets = _ndarrays(where, "ndarray_list", ndarray_list, single=False)
        coll = self._group("all_gather", group)
        _check_split(where, targets, source, coll.size, "ndarray_list", "ndarray")
        send = self._buffer(source)
        bufs = [self._buffer(a) for a in targets]
        flat = _empty_like_pack(bufs, send.array)
        coll.all_gather(_contiguous(send.array), flat)
        _unpack(flat, bufs)
        for buf in bufs:
            buf.written()

    def reduce_scatter(self, ndarray_list, ndarray, division=False, group="world") -> None:
        where = self._name + ".reduce_scatter"
        sources = _ndarrays(where, "ndarray_list", ndarray_list, single=False)
        (target,) = _ndarrays(where, "ndarray", ndarray, single=True)
        coll = self._group("reduce_scatter", group)
        _check_split(where, sources, target, coll.size, "ndarray_list", "ndarray")
        flat = _pack([self._buffer(a) for a in sources])
        recv = self._buffer(target)
        out = _contiguous(recv.array)
        coll.reduce_scatter(flat, out, division)
        if out is not recv.array:
            recv.array[...] = out
        recv.written()

    def all_reduce_callback(self, data, pack_size, division=False, group="world", scale_grad=1, keep_dtype=False):
        arrays = _ndarrays(self._name + ".all_reduce_callback", "data", data)
        if int(pack_size) <= 0:
            raise ValueError(f"{self._name}.all_reduce_callback: pack_size must be positive, got {pack_size}")
        self._group("all_reduce_callback", group)
        return AllReduceCallback(self, arrays, int(pack_size), bool(division), group, float(scale_grad), keep_dtype)

    def _buffer(self, nd, dtype=None):
        return _Buffer(nd, self._dtype if dtype is None else dtype, self._collectives["world"].name == "nccl")


# -- one process --------------------------------------------------------------------------------------------
class _SingleProcess(Communicator):
    """NNabla's DataParallelCommunicator: the devices of one process, each with its set of parameters."""

    _name = "DataParallelCommunicator"

    size = property(lambda self: max(len(self._contexts), 1), doc=Communicator.size.__doc__)

    def _init(self):
        pass

    def allreduce(self, division=False, inplace=False) -> None:
        if not self._initialized:
            raise RuntimeError(f"{self._name}.allreduce: call init() first")
        if not self._contexts:
            return
        sets = [[v for _, v in named] for _, named in self._contexts]
        counts = {len(s) for s in sets}
        if len(counts) != 1:
            raise RuntimeError(
                f"{self._name}.allreduce: the contexts hold different numbers of parameters ({[len(s) for s in sets]})"
            )
        for vs in zip(*sets):
            shapes = {v.shape for v in vs}
            if len(shapes) != 1:
                raise RuntimeError(f"{self._name}.allreduce: parameters of shapes {sorted(shapes)} do not match")
            bufs = [_Buffer(v.grad, self._dtype, False) for v in vs]
            total = bufs[0].array.copy()
            for b in bufs[1:]:
                total += _same_module(b.array, total)
            if division:
                total /= total.dtype.type(len(bufs))
            for b in bufs:
                b.array[...] = _same_module(total, b.array)
                b.written()


def DataParallelCommunicator(ctx):
    """Data Parallel Communicator for distributed training in a single process (NNabla's).

    ``add_context_and_parameters((ctx, params))`` once per device, ``init()``, then ``allreduce()`` after each
    backward gives every device the sum of the gradients (``division=True``: their mean).
    """
    return _SingleProcess(ctx)


def MultiProcessDataParallelCommunicator(ctx):
    """Multi Process Data Parallel Communicator for distributed training (NNabla's): one process per device.

    Run as ``mpiexec -n 2 python script.py``::

        comm = C.MultiProcessDataParallelCommunicator(ctx)
        comm.init()
        ...
        loss.forward()
        solver.zero_grad()
        loss.backward()
        comm.all_reduce([v.grad for v in nn.get_parameters().values()], division=True)
        solver.update()
    """
    return _MultiProcess(ctx)


# NNabla's aliases
MultiProcessDataParalellCommunicator = MultiProcessDataParallelCommunicator
MultiProcessCommunicator = MultiProcessDataParallelCommunicator
Comm = MultiProcessDataParallelCommunicator
Dist = MultiProcessDataParallelCommunicator


# -- backward callbacks -------------------------------------------------------------------------------------
class CommunicatorBackwardCallback:
    """Called by ``Variable.backward(communicator_callbacks=...)``: after each function's backward, then at the end."""

    def on_finish_function_backward(self, function) -> None:
        pass

    def on_finish_backward(self) -> None:
        pass


class AllReduceCallback(CommunicatorBackwardCallback):
    """All-reduces gradient arrays during backward: a function's input gradients in the set are packed (times
    ``scale_grad``) once it has run backward, and each full pack of ``pack_size`` values is all-reduced and copied
    back; the last, partial pack at the end of backward. Shared parameters (used by several functions) are not
    supported, as in NNabla."""

    def __init__(self, comm, arrays, pack_size, division, group, scale_grad, keep_dtype):
        self._comm = comm
        self._ids = {id(a) for a in arrays}
        self._arrays = arrays  # keeps the ids valid
        self._pack_size = pack_size
        self._division = division
        self._group = group
        self._scale = scale_grad
        self._keep_dtype = bool(keep_dtype)
        self._pack = None  # flat buffer of the current pack
        self._filled = 0
        self._pieces = []  # (buffer, start in the buffer's flat view, length) packed so far

    def on_finish_function_backward(self, function) -> None:
        grads = []
        for x in function.inputs:
            g = x._grad
            if g is not None and id(g) in self._ids and all(g is not h for h in grads):
                grads.append(g)
        if not grads:
            return
        coll = self._comm._group("all_reduce_callback", self._group)
        for g in grads:
            buf = self._comm._buffer(g, g.dtype.type if self._keep_dtype else None)
            flat = buf.array.reshape(-1) if buf.contiguous else buf.array.ravel()
            start = 0
            while start < flat.size:
                if self._pack is None:
                    self._pack = _xp_of(flat).empty(self._pack_size, self._comm._dtype)
                n = min(flat.size - start, self._pack_size - self._filled)
                part = flat[start : start + n]
                self._pack[self._filled : self._filled + n] = part * self._scale if self._scale != 1 else part
                self._pieces.append((buf, start, n))
                self._filled += n
                start += n
                if self._filled == self._pack_size:
                    self._flush(coll)

    def on_finish_backward(self) -> None:
        if self._filled:
            self._flush(self._comm._group("all_reduce_callback", self._group))

    def _flush(self, coll) -> None:
        pack = self._pack[: self._filled]
        coll.all_reduce(pack, self._division)
        offset = 0
        for buf, start, n in self._pieces:
            flat = buf.array.reshape(-1)  # a view: the buffers packed are contiguous or written back below
            flat[start : start + n] = pack[offset : offset + n]
            offset += n
            buf.written(keep_zeroing=True)
        self._filled = 0
        self._pieces = []


def backward_callbacks(communicator_callbacks, function_post_hook):
    """``Variable.backward``'s callbacks as a list, and the post hook that also calls them after each function."""
    callbacks = communicator_callbacks if type(communicator_callbacks) is list else [communicator_callbacks]
    for cb in callbacks:
        if not isinstance(cb, CommunicatorBackwardCallback):
            raise TypeError(
                "Variable.backward: communicator_callbacks must be a CommunicatorBackwardCallback (made by "
                f"Communicator.all_reduce_callback) or a list of them; got {type(cb).__name__}"
            )
    if not callbacks:
        return [], function_post_hook

    def post_hook(function):
        if function_post_hook is not None:
            function_post_hook(function)
        for cb in callbacks:
            cb.on_finish_function_backward(function)

    return callbacks, post_hook


# -- arrays -------------------------------------------------------------------------------------------------
def _ndarrays(where, argument, data, single=None) -> list:
    """``data`` as a list of NdArrays: one NdArray, or a list of them (``single`` insists on one or on a list)."""
    if isinstance(data, NdArray) and single is not False:
        return [data]
    if type(data) is list and single is not True:
        for i, a in enumerate(data):
            if not isinstance(a, NdArray):
                raise TypeError(f"{where}: {argument}[{i}] is a {type(a).__name__}, not an NdArray (use v.data/v.grad)")
        return data
    wanted = {True: "an NdArray", False: "a list of NdArrays", None: "an NdArray or a list of NdArrays"}[single]
    raise TypeError(f"{where}: {argument} must be {wanted} (v.data or v.grad), got {type(data).__name__}")


def _check_rank(where, argument, rank, size, group):
    if not 0 <= int(rank) < size:
        raise RuntimeError(f"{where}: {argument}={rank} is not a rank of group {group!r} (0 to {size - 1})")


def _check_split(where, parts, whole, size, parts_name, whole_name):
    total = sum(a.size for a in parts)
    if len(parts) != size or total != size * whole.size:
        raise RuntimeError(
            f"{where}: {parts_name} must hold the group's size ({size}) times the values of {whole_name} "
            f"(shape {whole.shape}); got {len(parts)} arrays of shapes {[a.shape for a in parts]}"
        )


class _Buffer:
    """An NdArray's backend array in the communicator's dtype (and on the GPU for NCCL), to write into in place."""

    __slots__ = ("nd", "array", "contiguous", "zeroing")

    def __init__(self, nd, dtype, on_device):
        self.zeroing = nd.zeroing
        arr = nd._get()
        if on_device and isinstance(arr, np.ndarray):
            import cupy

            arr = cupy.asarray(arr)
            nd._set_array(arr)
        if arr.dtype.type is not dtype:
            arr = arr.astype(dtype)
            nd._set_array(arr)
        self.nd = nd
        self.contiguous = arr.flags.c_contiguous
        if not self.contiguous:  # worked on as a copy, written back by ``written``
            arr = get_array_module(arr).ascontiguousarray(arr)
        self.array = arr

    def written(self, keep_zeroing=False) -> None:
        """Tell the NdArray its values changed (and copy them back where a copy was worked on).

        ``keep_zeroing``: an array zeroed here (``zero()``, nothing written since) that is still all zeros stays
        zeroed, as NNabla's all-reduces leave the arrays every process left zeroed. (NNabla asks every process
        first, in a collective of its own; here they are reduced with the rest, zeros, in the same one.)"""
        nd = self.nd
        if not self.contiguous:
            nd._array[...] = self.array
        nd._written()
        nd._fill = ZERO_FILL if keep_zeroing and self.zeroing and not self.array.any() else None


def _xp_of(arr):
    return get_array_module(arr)


def _contiguous(arr):
    return _xp_of(arr).ascontiguousarray(arr)


def _same_module(src, like):
    """``src`` as an array of ``like``'s module (numpy or cupy)."""
    if type(src) is type(like):
        return src
    if isinstance(like, np.ndarray):
        return to_numpy(src)
    return get_array_module(like).asarray(src)


def _each_or_packed(bufs, inplace, collective) -> None:
    """``collective(array)`` on each buffer (``inplace``, or a single one), or once on all of them packed in one."""
    if inplace or len(bufs) == 1:  # one array: no packing
        for buf in bufs:
            collective(buf.array)
    else:
        flat = _pack(bufs)
        collective(flat)
        _unpack(flat, bufs)


def _pack(bufs):
    """One flat buffer holding the buffers' values one after another."""
    arrays = [b.array for b in bufs]
    xp = get_array_module(*arrays)
    return xp.concatenate([xp.asarray(a).reshape(-1) for a in arrays])


def _empty_like_pack(bufs, like):
    xp = _xp_of(like)
    return xp.empty(sum(b.array.size for b in bufs), like.dtype)


def _unpack(flat, bufs) -> None:
    offset = 0
    for b in bufs:
        n = b.array.size
        b.array[...] = _same_module(flat[offset : offset + n], b.array).reshape(b.array.shape)
        offset += n
