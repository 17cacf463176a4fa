"""``TimeProfiler``: function hooks timing each function, grouped in named scopes (NNabla's inspection profiler)."""

from __future__ import annotations

import csv
import os
import time
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from nnabla.ext_utils import import_extension_module

from .base import FunctionHookCallbackBase


class CpuTimerCallback(FunctionHookCallbackBase):
    """Wall-clock times per key (a Function, or a scope name) between its pre and post hook."""

    def __init__(self, ext_name, device_id):
        self.results = OrderedDict()
        self.device_id = str(device_id)
        self.ext_module = import_extension_module(ext_name)
        self.key_to_times = OrderedDict()

    @property
    def pre_hook(self):
        def callback(key):
            self.key_to_times.setdefault(key, [0, 0])[0] = self.timer()

        return callback

    @property
    def post_hook(self):
        def callback(key):
            if key not in self.key_to_times:
                raise ValueError("CpuTimerCallback: post_hook for {} without its pre_hook".format(key))
            self.ext_module.synchronize(device_id=self.device_id)
            self.key_to_times[key][1] = self.timer()

        return callback

    @staticmethod
    def timer():
        return time.time()

    def calc_elapsed_time(self):
        for key, (start, end) in self.key_to_times.items():
            self.results.setdefault(key, []).append(end - start)

    def average(self, start_index=0):
        return {key: {"time": np.mean(times[start_index:]) * 1e3, "num": len(times) - start_index, "scale": "ms"}
                for key, times in self.results.items()}  # fmt: skip


class TimeProfiler(FunctionHookCallbackBase):
    """Times functions run under ``with tp.scope(name):`` with ``tp.pre_hook``/``tp.post_hook``; each scope's
    own duration goes to the ``"summary"`` scope. Call ``calc_elapsed_time()`` once per iteration."""

    def __init__(self, ext_name, device_id):
        if ext_name not in ("cpu", "cuda", "cudnn"):
            raise NotImplementedError("Profiler for the extension '{}' is not implemented.".format(ext_name))
        self.profiler = CpuTimerCallback
        self.ext_name = ext_name
        self.device_id = device_id
        self._scope_name = ""
        self.profilers = {}
        self.create_new_profiler("summary")

    def create_new_profiler(self, scope_name):
        self.profilers[scope_name] = self.profiler(ext_name=self.ext_name, device_id=self.device_id)

    @contextmanager
    def scope(self, scope_name):
        previous = self._scope_name
        try:
            if scope_name not in self.profilers:
                self.create_new_profiler(scope_name)
            self.call_pre_hook("summary", scope_name)
            self._scope_name = scope_name
            yield self
        finally:
            self._scope_name = previous
            self.call_post_hook("summary", scope_name)

    @property
    def pre_hook(self):
        return self.profilers[self._scope_name].pre_hook

    @property
    def post_hook(self):
        return self.profilers[self._scope_name].post_hook

    def call_pre_hook(self, scope_name, key):
        if scope_name not in self.profilers:
            self.create_new_profiler(scope_name)
        self.profilers[scope_name].pre_hook(key)

    def call_post_hook(self, scope_name, key):
        if scope_name not in self.profilers:
            raise ValueError("profiler instance for '{0}' scope is not found. ".format(scope_name))
        self.profilers[scope_name].post_hook(key)

    def calc_elapsed_time(self, names=None):
        names = [names] if isinstance(names, str) else names
        for profiler in (self.profilers[n] for n in names) if names is not None else self.profilers.values():
            profiler.calc_elapsed_time()

    def average(self, start_index=0):
        return {name: profiler.average(start_index) for name, profiler in self.profilers.items()}

    def get_all_results(self):
        return {name: p.results for name, p in self.profilers.items() if len(p.results)}

    def to_csv(self, out_dir="./", ignore_init=True):
        """Write ``profile_summary.csv`` (scope times) and ``profile_detail.csv`` (per function, per scope)."""
        os.makedirs(out_dir, exist_ok=True)
        averages = self.average(start_index=1 if ignore_init else 0)
        with open(os.path.join(out_dir, "profile_summary.csv"), "w") as f:
            writer = csv.DictWriter(f, ["scope", "time", "scale", "num"])
            writer.writeheader()
            writer.writerows([dict(r, scope=s) for s, r in averages["summary"].items()])
        count_of_text, unique_of_key, rows = {}, {}, {}
        for scope, results in averages.items():
            if scope == "summary":
                continue
            for key, result in results.items():
                cells = {"{}_{}".format(k, scope): v for k, v in result.items()}
                if key in unique_of_key:
                    rows[unique_of_key[key]].update(cells)
                    continue
                n = count_of_text.get(str(key), 0)
                count_of_text[str(key)] = n + 1
                unique_of_key[key] = "{}_{}".format(key, n)
                rows[unique_of_key[key]] = cells
        key_of_unique = {v: k for k, v in unique_of_key.items()}
        header = set()
        for cells in rows.values():
            header.update(cells)
        with open(os.path.join(out_dir, "profile_detail.csv"), "w") as f:
            writer = csv.DictWriter(f, ["scope", "original_key"] + list(header))
            writer.writeheader()
            writer.writerows([dict(c, scope=u, original_key=key_of_unique[u]) for u, c in rows.items()])

    def __call__(self, *args, **kwargs):
        """Print the average time of each key per scope, leaving out the first iteration."""
        for name, results in self.average(start_index=1).items():
            if not results:
                continue
            print("### {} ###".format(name))
            for key, result in results.items():
                print("{}: {} [{}]".format(key, result["time"], result["scale"]))
            print()
