"""``nnabla.utils.callback``: the hooks NNabla's command-line tools call out to.

Each function asks the first module in ``callback_list`` that defines a function of the same name and returns
its answer, or NNabla's default answer when none does. NNabla fills ``callback_list`` from its config file
(``[CALLBACK] util_callback_module``); here modules are appended to it directly.
"""

from __future__ import annotations

callback_list: list = []


def _get_callback(func_name: str):
    for module in callback_list:
        if hasattr(module, func_name):
            return module
    return None


def _call(func_name: str, default, *args):
    module = _get_callback(func_name)
    return getattr(module, func_name)(*args) if module is not None else default


def alternative_cli(args):
    return _call("alternative_cli", None, args)


def get_callback_version():
    return _call("get_callback_version", None)


def get_best_from_status(args):
    return _call("get_best_from_status", (None, None), args)


def update_time_train(prediction=None):
    _call("update_time_train", None, prediction)


def save_train_snapshot():
    _call("save_train_snapshot", None)


def update_status(state=None, start=False, start_time=None):
    _call("update_status", None, state, start, start_time)


def add_train_command_arg(subparser):
    _call("add_train_command_arg", None, subparser)


def get_timelimit(args):
    return _call("get_timelimit", -1, args)


def process_evaluation_result(outdir, filename):
    _call("process_evaluation_result", None, outdir, filename)


def update_forward_time():
    _call("update_forward_time", None)


def check_training_time(args, config, timeinfo, epoch, last_epoch):
    return _call("check_training_time", True, args, config, timeinfo, epoch, last_epoch)


def result_base(base, suffix, outdir):
    return _call("result_base", None, base, suffix, outdir)


def update_progress(text):
    _call("update_progress", None, text)


def get_load_image_func(ext):
    return _call("get_load_image_func", None, ext)
