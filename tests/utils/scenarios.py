"""Scenarios run both on real NNabla 1.36 (to make the fixture) and on the engine (in the tests).

Each takes an empty folder and returns plain JSON data: batches, epochs, positions, file names, printed text.
"""

from __future__ import annotations

import csv
import io
import os
from contextlib import redirect_stdout

import numpy as np


def _load(i):
    return np.array([i]), np.array(i * 10)


def _batches(di, n):
    out = []
    for _ in range(n):
        batch = di.next()
        out.append([b.ravel().tolist() for b in batch] + [di.epoch])
    return out


def simple_iterators(folder):
    from nnabla.utils.data_iterator import data_iterator_simple

    result = {}
    for shuffle in (False, True):
        for memory in (False, True):
            events = []
            di = data_iterator_simple(_load, 10, 4, shuffle=shuffle, with_memory_cache=memory, use_thread=False)
            di.register_epoch_end_callback(lambda e: events.append(["end", e]))
            di.register_epoch_begin_callback(lambda e: events.append(["begin", e]))
            head = [di.size, di.batch_size, list(di.variables), di.epoch, di.position]
            batches = _batches(di, 8)
            result["shuffle={} memory={}".format(shuffle, memory)] = [head, batches, events, di.position]
            di.close()
    first = data_iterator_simple(_load, 10, 4, use_thread=False).next()
    result["dtypes"] = [str(a.dtype) for a in first] + [list(a.shape) for a in first]
    return result


def slices(folder):
    from nnabla.utils.data_iterator import data_iterator_simple

    result = {}
    for n, pos, drop in [(3, 0, False), (3, 1, False), (3, 2, False), (3, 2, True), (4, 3, False)]:
        di = data_iterator_simple(_load, 10, 3, use_thread=False).slice(None, num_of_slices=n, slice_pos=pos,
                                                                         drop_last=drop)  # fmt: skip
        result["n={} pos={} drop={}".format(n, pos, drop)] = [di.size, _batches(di, 3)]
    di = data_iterator_simple(_load, 10, 3, shuffle=True, use_thread=False).slice(None, slice_start=2, slice_end=7)
    result["range shuffled"] = [di.size, _batches(di, 4)]
    di = data_iterator_simple(_load, 10, 3, use_thread=False).slice(None, slice_start=2, slice_end=7, use_cache=True)
    result["range memory cache"] = [di.size, _batches(di, 4)]
    return result


def stop_exhausted(folder):
    from nnabla.utils.data_iterator import data_iterator_simple

    di = data_iterator_simple(_load, 10, 4, stop_exhausted=True, use_thread=False)
    out = []
    try:
        for _ in range(5):
            out.append(di.next()[0].ravel().tolist())
    except StopIteration:
        out.append("StopIteration")
    return out


def _write_csv_dataset(folder):
    for i in range(7):
        np.save(os.path.join(folder, "x{}.npy".format(i)), np.arange(6, dtype=np.float32).reshape(2, 3) + i)
    path = os.path.join(folder, "data.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x:image", "y__0:first", "y__1", "#comment", "t"])
        for i in range(7):
            w.writerow(["x{}.npy".format(i), i * 0.5, -i, "ignored", i % 3])
    return path


def csv_dataset(folder):
    from nnabla.utils.data_iterator import data_iterator_csv_dataset

    path = _write_csv_dataset(folder)
    result = {}
    for shuffle, file_cache in [(False, False), (True, False), (False, True), (True, True)]:
        cache_dir = os.path.join(folder, "cache{}{}".format(int(shuffle), int(file_cache)))
        os.makedirs(cache_dir)
        di = data_iterator_csv_dataset(path, 3, shuffle=shuffle, with_file_cache=file_cache,
                                       cache_dir=cache_dir if file_cache else None, use_thread=False)  # fmt: skip
        entry = [list(di.variables), di.size]
        for _ in range(4):
            x, y, t = di.next()
            entry.append([x.shape, x[:, 0, 0].tolist(), y.tolist(), t.ravel().tolist(), str(x.dtype), str(y.dtype)])
        if file_cache:
            entry.append(sorted(os.listdir(cache_dir)))
            entry.append([open(os.path.join(cache_dir, n)).read() for n in ("cache_index.csv", "cache_info.csv")])
        result["shuffle={} file_cache={}".format(shuffle, file_cache)] = entry
        di.close()
    return result


def file_cache_and_cache_reader(folder):
    from nnabla.utils.data_iterator import data_iterator_cache, data_iterator_simple

    def load(i):
        return np.full((2,), i, dtype=np.uint8), np.array([i % 4], dtype=np.int32)

    cache_dir = os.path.join(folder, "cache")
    os.makedirs(cache_dir)
    di = data_iterator_simple(load, 230, 50, shuffle=True, with_file_cache=True, cache_dir=cache_dir,
                              use_thread=False)  # fmt: skip
    written = [sorted(os.listdir(cache_dir)), open(os.path.join(cache_dir, "cache_index.csv")).read()]
    batches = [[b[:, 0].tolist() for b in di.next()] for _ in range(6)]
    di.close()
    with open(os.path.join(cache_dir, "cache_00000000_00000099.npy"), "rb") as f:
        first_file = [np.load(f).tolist()[:3], np.load(f).ravel().tolist()[:3]]
    result = {"written": written, "batches": batches, "first file": first_file}
    for shuffle, normalize in [(False, True), (True, False)]:
        reader = data_iterator_cache(cache_dir, 64, shuffle=shuffle, normalize=normalize, use_thread=False)
        got = [list(reader.variables), reader.size]
        for _ in range(5):
            x0, x1 = reader.next()
            got.append([x0[:, 0].round(4).tolist(), x1.ravel().tolist(), str(x0.dtype), reader.epoch])
        result["reader shuffle={} normalize={}".format(shuffle, normalize)] = got
    return result


def schedulers(folder):
    import nnabla.utils.learning_rate_scheduler as lrs

    cases = {
        "Polynomial": lrs.PolynomialScheduler(0.1, 100, 0.9),
        "Cosine": lrs.CosineScheduler(0.1, 100),
        "Exponential": lrs.ExponentialScheduler(0.1, 0.5, 10),
        "Exponential default": lrs.ExponentialScheduler(0.1, 0.9),
        "Step": lrs.StepScheduler(0.1, 0.1, [30, 60]),
        "Warmup": lrs.LinearWarmupScheduler(lrs.CosineScheduler(0.1, 100), 20),
    }
    names = sorted(n for n in dir(lrs) if n.endswith("Scheduler"))
    return {"names": names, **{k: [s.get_learning_rate(i) for i in (0, 1, 9, 10, 29, 30, 59, 60, 99)]
                               for k, s in cases.items()}}  # fmt: skip


def images(folder):
    from nnabla.utils.image_utils import imread, imresize, imsave

    rng = np.random.RandomState(0)
    rgb = rng.randint(0, 256, size=(5, 7, 3)).astype(np.uint8)
    gray = rng.randint(0, 256, size=(5, 7)).astype(np.uint8)
    result = {}
    for name, img in (("rgb", rgb), ("gray", gray)):
        path = os.path.join(folder, name + ".png")
        imsave(path, img)
        back = imread(path)
        result[name + " read"] = [back.shape, str(back.dtype), bool((back == img).all())]
        for mode in ("nearest", "bilinear", "bicubic"):
            small = imresize(img, (4, 3), interpolate=mode)
            result[name + " " + mode] = [small.shape, small.ravel().tolist()]
    result["rgb as gray"] = imread(os.path.join(folder, "rgb.png"), grayscale=True).ravel().tolist()
    result["channel_first"] = list(imread(os.path.join(folder, "rgb.png"), channel_first=True, size=(3, 2)).shape)
    floats = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    imsave(os.path.join(folder, "f.png"), floats)
    result["float save"] = imread(os.path.join(folder, "f.png")).ravel().tolist()
    result["float resize"] = np.round(imresize(floats, (2, 2)), 5).ravel().tolist()
    return result


def _exact_graph():
    """A small graph whose values are exact in float32 (so both engines print the same digits)."""
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.parametric_functions as PF
    from nnabla.initializer import ConstantInitializer

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]], dtype=np.float32))
    with nn.parameter_scope("fc"):
        h = PF.affine(x, 2, w_init=ConstantInitializer(0.5), b_init=ConstantInitializer(-0.25))
    y = F.log(F.relu(h) * 2.0 - 1.0)
    return x, h, y


def _printed(run):
    buf = io.StringIO()
    with redirect_stdout(buf):
        try:
            run()
        except ValueError as error:
            print("ValueError:", error)
    return buf.getvalue()


def inspection(folder):
    import nnabla as nn
    from nnabla.utils.inspection import NanInfTracer, pprint

    x, h, y = _exact_graph()
    result = {"pprint": _printed(lambda: pprint(y, summary=True, forward=True, backward=True))}
    x, h, y = _exact_graph()
    result["pprint plain"] = _printed(lambda: pprint(y))
    printer = pprint(y, hidden=True, printer=True) if False else None
    del printer

    def trace(need_details, inputs_ok):
        x, h, y = _exact_graph()
        if inputs_ok:
            x.d = np.abs(x.d) + 2
        nit = NanInfTracer(trace_inf=True, trace_nan=True, need_details=need_details)
        with nit.trace():
            y.forward(function_post_hook=nit.forward_post_hook)
            y.backward(function_post_hook=nit.backward_post_hook)
        print("check:", nit.check())

    result["tracer details"] = _printed(lambda: trace(True, False))
    result["tracer short"] = _printed(lambda: trace(False, False))
    result["tracer clean"] = _printed(lambda: trace(True, True))

    def backward_only():
        import nnabla.functions as F

        nn.clear_parameters()
        a = nn.Variable.from_numpy_array(np.array([0.0, 1.0], dtype=np.float32), need_grad=True)
        b = F.sqrt(a) if hasattr(F, "sqrt") else F.pow_scalar(a, 0.5)
        c = F.sum(b)
        nit = NanInfTracer()
        c.forward(function_post_hook=nit.forward_post_hook)
        c.backward(function_post_hook=nit.backward_post_hook)
        nit.check()

    result["tracer backward"] = _printed(backward_only)
    try:
        NanInfTracer().post_hook
    except NotImplementedError as error:
        result["post_hook"] = str(error)
    return result


def profiler(folder):
    import nnabla as nn
    import nnabla.solvers as S
    from nnabla.utils.profiler import GraphProfiler, GraphProfilerCsvWriter

    x, h, y = _exact_graph()
    loss = nn.functions.mean(nn.functions.relu(h), axis=(0, 1))
    solver = S.Momentum()
    solver.set_parameters(nn.get_parameters())
    profile = GraphProfiler(loss, solver=solver, device_id=0, ext_name="cpu", n_run=3)
    profile.run()
    rows = []
    for direction in ("forward", "backward"):
        for stat in profile.result[direction]:
            rows.append([direction, stat.parameter_scope, str(stat.inputs_shape), stat.function_name, stat.n_run,
                         isinstance(stat.mean_time, str), float(stat.mean_time) >= 0])  # fmt: skip
    keys = sorted(profile.result)
    buf = io.StringIO()
    GraphProfilerCsvWriter(profile, file=buf).write()
    lines = buf.getvalue().split("\r\n")
    # times differ from run to run: keep every cell but the measured ones
    shape = []
    for line in lines:
        cells = next(csv.reader([line])) if line else []
        if len(cells) == 8 and cells[0] != "parameter_scope":
            cells[4] = cells[5] = "T"
        elif len(cells) == 2 and cells[0] in ("forward all", "backward all", "training(forward + backward + update)"):
            cells[1] = "T"
        shape.append(cells)
    printed = _printed(profile.print_result).splitlines()
    return {"rows": rows, "keys": keys, "csv": shape, "printed lines": len(printed), "printed head": printed[:2]}


def modules(folder):
    import nnabla as nn
    import nnabla.parametric_functions as PF

    class ConvBn(nn.Module):
        def __init__(self, outmaps):
            self.outmaps = outmaps

        def call(self, x, training=True):
            h = PF.convolution(x, self.outmaps, (1, 1), with_bias=False)
            return PF.batch_normalization(h, batch_stat=training)

    class TwoBlocks(nn.Module):
        def __init__(self):
            self.first = ConvBn(2)
            self.second = ConvBn(3)

        def call(self, x):
            return self.second(self.first(x))

    nn.clear_parameters()
    net = TwoBlocks()
    y = net(nn.Variable((1, 4, 5, 5)))
    seq = nn.Sequential(ConvBn(2), ("last", ConvBn(3)))
    z = seq(nn.Variable((1, 4, 5, 5)))
    net.training = False
    path = os.path.join(folder, "net.h5")
    net.save_parameters(path)
    other = TwoBlocks()
    other(nn.Variable((1, 4, 5, 5)))
    other.load_parameters(path)
    same = all((other.get_parameters()[k].d == v.d).all() for k, v in net.get_parameters().items())
    return {
        "params": [[k, list(v.shape), v.need_grad] for k, v in net.get_parameters().items()],
        "grad only": list(net.get_parameters(grad_only=True)),
        "not recursive": list(net.get_parameters(recursive=False)),
        "seq params": list(seq.get_parameters()),
        "global": list(nn.get_parameters()),
        "names": [net.name, net.first.name, net.first.get_path_name(), seq.name, repr(net), len(net), len(seq)],
        "training": [net.training, net.first.training, seq.training],
        "scope name": net.get_scope_name(),
        "shapes": [list(y.shape), list(z.shape)],
        "loaded equal": bool(same),
        "is nn.Module": [isinstance(net, nn.Module), nn.Sequential.__name__],
    }


def mixed_precision(folder):
    import nnabla as nn
    import nnabla.functions as F
    import nnabla.solvers as S
    from nnabla.experimental.mixed_precision_training import DynamicLossScalingUpdater

    nn.clear_parameters()
    w = nn.Variable.from_numpy_array(np.array([1.0, 2.0], dtype=np.float32), need_grad=True)
    x = nn.Variable.from_numpy_array(np.array([3.0, 4.0], dtype=np.float32))
    loss = F.sum(w * x)
    solver = S.Sgd(0.125)
    solver.set_parameters({"w": w})
    fed = []
    updater = DynamicLossScalingUpdater(solver, loss, data_feeder=lambda: fed.append(1), scale=8.0, N=2)
    history = []
    for step in range(6):
        if step == 2:
            x.d = np.array([np.inf, 1.0], dtype=np.float32)
        if step == 3:
            x.d = np.array([3.0, 4.0], dtype=np.float32)
        if step == 2:
            # an Inf gradient at every scale: the step is skipped after 100 retries
            updater.update()
        else:
            updater.update()
        history.append([w.d.tolist(), updater.scale, updater._counter])
    return {"history": history, "fed": len(fed)}


ALL = {
    "simple_iterators": simple_iterators,
    "slices": slices,
    "stop_exhausted": stop_exhausted,
    "csv_dataset": csv_dataset,
    "file_cache_and_cache_reader": file_cache_and_cache_reader,
    "schedulers": schedulers,
    "images": images,
    "inspection": inspection,
    "profiler": profiler,
    "modules": modules,
    "mixed_precision": mixed_precision,
}
