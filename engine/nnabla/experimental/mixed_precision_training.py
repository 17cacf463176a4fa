"""``nnabla.experimental.mixed_precision_training``: the dynamic loss-scaling updater (NNabla's).

Backward starts from ``scale`` instead of 1 so that small half-precision gradients do not underflow. When a
gradient holds Inf or NaN the step is redone with ``scale / scaling_factor`` (at most 100 times in a row, then
the step is skipped); otherwise gradients are divided by ``scale`` and the solver updates, and after ``N``
good steps in a row ``scale`` grows by ``scaling_factor``.
"""

from __future__ import annotations


class DynamicLossScalingUpdater:
    """``update()``: zero_grad, then ``accum_grad`` times (feed data, forward, backward from ``scale``), an
    optional all-reduce over ``comm``, the Inf/NaN check, unscaling, weight decay, ``solver.update()``."""

    def __init__(self, solver, loss, data_feeder=lambda x: x, scale: float = 8.0, scaling_factor: float = 2.0,
                 N: int = 2000, clear_buffer: bool = True, accum_grad: int = 1, weight_decay=None, comm=None,
                 grads=[]):  # fmt: skip
        self.solver = solver
        self.loss = loss
        self.data_feeder = data_feeder
        self.scale = scale
        self.scaling_factor = scaling_factor
        self.N = N
        self.clear_buffer = clear_buffer
        self.accum_grad = accum_grad
        self.weight_decay = weight_decay
        self.comm = comm
        self.grads = grads
        self._counter = 0
        self._recursive_count = 0
        self._max_recursive_count = 100

    def update(self) -> None:
        while True:
            self.solver.zero_grad()
            for _ in range(self.accum_grad):
                self.data_feeder()
                self.loss.forward(clear_no_need_grad=self.clear_buffer)
                self.loss.backward(self.scale, clear_buffer=self.clear_buffer)
            if self.comm and len(self.grads) != 0:
                self.comm.all_reduce(self.grads, division=False, inplace=False)
            if not self.solver.check_inf_or_nan_grad():
                break
            self.scale /= self.scaling_factor
            self._counter = 0
            self._recursive_count += 1
            if self._recursive_count > self._max_recursive_count:
                self._recursive_count = 0
                return
        self._recursive_count = 0
        self.solver.scale_grad(1.0 / self.scale)
        if self.weight_decay is not None:
            self.solver.weight_decay(self.weight_decay)
        self.solver.update()
        if self._counter > self.N:
            self.scale *= self.scaling_factor
            self._counter = 0
        self._counter += 1
