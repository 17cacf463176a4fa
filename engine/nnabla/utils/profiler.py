"""``nnabla.utils.profiler``: how long each function of a graph takes, forward and backward (NNabla's
``GraphProfiler``), the whole graph's forward, backward and training step, and the CSV NNabla writes of it.

Each measurement runs once to warm up, then up to ``n_run`` times, stopping early once more than
``max_measure_execution_time`` seconds have passed; times are means in ``time_scale`` (``'m'``: ms, ``'u'``,
``'n'``) formatted as NNabla does (``'{:.8}'``, a string).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections import namedtuple

import nnabla as nn
from nnabla.ext_utils import import_extension_module

ProfileStat = namedtuple("ProfileStat", ["parameter_scope", "inputs_shape", "args_info", "function_name",
                                         "mean_time", "n_run"])  # fmt: skip

_SCALES = {"m": 1e3, "u": 1e6, "n": 1e9}


def convert_time_scale(sec: float, format: str = "m") -> float:
    if format not in _SCALES:
        raise NotImplementedError("format must be {}".format(_SCALES.keys()))
    return sec * _SCALES[format]


def _zero_variables(variables):
    for v in variables:
        if v.parent is not None:
            v.data.zero()
            v.grad.zero()


class GraphProfiler:
    """Measures every function of the graph ending at ``graph`` (``run()``), then ``result`` holds
    ``forward``/``backward`` (lists of ProfileStat in visit order), ``forward_all``, ``backward_all`` and, with a
    solver, ``training``, each with its ``n_run_*`` count."""

    def __init__(self, graph, device_id, ext_name, solver=None, n_run: int = 100, max_measure_execution_time=1,
                 time_scale: str = "m", backward_accum: bool = False):  # fmt: skip
        if n_run < 1:
            raise AssertionError("n_run must be bigger than 1")
        convert_time_scale(0, time_scale)
        self.graph = graph
        self.solver = solver
        self.n_run = n_run
        self.device_id = str(device_id)
        self.ext_name = ext_name
        self.ext_module = import_extension_module(ext_name)
        self.max_measure_execution_time = max_measure_execution_time
        self.time_scale = time_scale
        self.result = dict()
        self.name2val = {v: k for k, v in nn.get_parameters().items()}
        self.backward_accum = backward_accum

    def _measure_execution_time(self, execution, *args):
        execution(*args)  # warm-up
        self.ext_module.synchronize(device_id=self.device_id)
        total, count = 0.0, 0
        first_start = time.time()
        for _ in range(self.n_run):
            start = time.time()
            execution(*args)
            self.ext_module.synchronize(device_id=self.device_id)
            stop = time.time()
            total += stop - start
            count += 1
            if stop - first_start > self.max_measure_execution_time:
                break
        return "{:.8}".format(convert_time_scale(total / count, format=self.time_scale)), count

    def _time_profiling(self, f, target_process):
        # zeroed first so that functions reading indices (softmax cross entropy) see valid values
        _zero_variables(f.inputs)
        _zero_variables(f.outputs)
        if target_process == "forward":
            mean_time, count = self._measure_execution_time(f.forward, f.inputs, f.outputs)
        elif target_process == "backward":
            mean_time, count = self._measure_execution_time(f.backward, f.inputs, f.outputs,
                                                            [self.backward_accum] * len(f.inputs))  # fmt: skip
        else:
            raise NotImplementedError("target process must be [forward, backward]")
        _zero_variables(f.inputs)
        _zero_variables(f.outputs)
        scope = None
        if len(f.inputs) > 1 and f.inputs[1] in self.name2val:
            scope = os.path.dirname(self.name2val[f.inputs[1]])
        self.result[target_process].append(ProfileStat(
            parameter_scope=scope, inputs_shape=[x.shape for x in f.inputs], args_info=f.info.args.items(),
            function_name=f.name, mean_time=mean_time, n_run=count))  # fmt: skip

    def time_profiling_forward(self):
        self.result["forward"] = []
        self.graph.visit(lambda f: self._time_profiling(f, "forward"))

    def time_profiling_backward(self):
        self.result["backward"] = []
        self.graph.visit(lambda f: self._time_profiling(f, "backward"))

    def training_function(self):
        self.graph.forward(clear_no_need_grad=True)
        self.solver.zero_grad()
        self.graph.backward(clear_buffer=True)
        self.solver.update()

    def time_profiling_whole_graph(self):
        self.result["forward_all"], self.result["n_run_forward_all"] = self._measure_execution_time(self.graph.forward)
        self.result["backward_all"], self.result["n_run_backward_all"] = self._measure_execution_time(
            self.graph.backward
        )
        if self.solver is not None:
            self.result["training"], self.result["n_run_training"] = self._measure_execution_time(
                self.training_function
            )

    def run(self):
        """Measure each function forward, then backward, then the whole graph (and training)."""
        self.time_profiling_forward()
        self.time_profiling_backward()
        self.time_profiling_whole_graph()

    def get_result(self):
        return self.result

    def print_result(self):
        print("time scale: {}".format(self.time_scale))
        print("-----------------forward--------------------")
        for x in self.result["forward"]:
            print(x)
        print()
        print("-----------------backward--------------------")
        for x in self.result["backward"]:
            print(x)
        print()
        print("all forward: {}, all backward: {}".format(self.result["forward_all"], self.result["backward_all"]))


class GraphProfilerCsvWriter:
    """Writes a GraphProfiler's result as NNabla's CSV: a header block, one row per function, then totals."""

    def __init__(self, gb: GraphProfiler, file=sys.stdout):
        self.file = file
        self.gb = gb
        self.fields = ["parameter_scope", "function_name", "inputs_shape", "args_info", "forward", "backward",
                       "forward_n_run", "backward_n_run"]  # fmt: skip
        self.write_header()

    def write_header(self):
        writer = csv.writer(self.file)
        writer.writerow(["num. of run", self.gb.n_run])
        writer.writerow(["device id", self.gb.device_id])
        writer.writerow(["ext name", self.gb.ext_name])
        writer.writerow(["time scale", self.gb.time_scale])
        writer.writerow(["nnabla version", nn.__version__])
        writer.writerow([])
        writer.writerow(self.fields)

    def check_same(self, f, b):
        return all(f[field] == b[field] for field in self.fields[:4])

    def write(self):
        writer = csv.writer(self.file)
        for f, b in zip(self.gb.result["forward"], self.gb.result["backward"]):
            f, b = f._asdict(), b._asdict()
            if not self.check_same(f, b):
                raise AssertionError("GraphProfilerCsvWriter: forward and backward rows describe different functions")
            args_info = ", ".join("{}: {}".format(k, v) for k, v in f["args_info"])
            writer.writerow([f["parameter_scope"], f["function_name"], f["inputs_shape"], args_info, f["mean_time"],
                             b["mean_time"], f["n_run"], b["n_run"]])  # fmt: skip
        result = self.gb.result
        writer.writerow([])
        writer.writerow(["forward all", result["forward_all"]])
        writer.writerow(["forward_all_n_run", result["n_run_forward_all"]])
        writer.writerow([])
        writer.writerow(["backward all", result["backward_all"]])
        writer.writerow(["backward_all_n_run", result["n_run_backward_all"]])
        if {"training", "n_run_training"} <= set(result):
            writer.writerow([])
            writer.writerow(["training(forward + backward + update)", result["training"]])
            writer.writerow(["training_n_run", result["n_run_training"]])
