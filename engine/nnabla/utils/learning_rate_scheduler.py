"""``nnabla.utils.learning_rate_scheduler``: NNabla's learning-rate schedules, ``get_learning_rate(iter)`` each."""

from __future__ import annotations

import math


class BaseLearningRateScheduler:
    """A schedule: the learning rate at iteration ``iter`` (counted from 0)."""

    def get_learning_rate(self, iter: int) -> float:
        raise NotImplementedError()


class PolynomialScheduler(BaseLearningRateScheduler):
    """``init_lr * (1 - iter / max_iter) ** power``."""

    def __init__(self, init_lr: float, max_iter: int, power: float):
        self.init_lr, self.max_iter, self.power = init_lr, max_iter, power

    def get_learning_rate(self, iter: int) -> float:
        return self.init_lr * ((1.0 - iter * 1.0 / self.max_iter) ** self.power)


class CosineScheduler(BaseLearningRateScheduler):
    """``init_lr * (cos(pi * iter / max_iter) + 1) / 2``."""

    def __init__(self, init_lr: float, max_iter: int):
        self.init_lr, self.max_iter = init_lr, max_iter

    def get_learning_rate(self, iter: int) -> float:
        return self.init_lr * ((math.cos(iter * 1.0 / self.max_iter * math.pi) + 1.0) * 0.5)


class ExponentialScheduler(BaseLearningRateScheduler):
    """``init_lr * gamma ** (iter // iter_interval)``."""

    def __init__(self, init_lr: float, gamma: float, iter_interval: int = 1):
        self.init_lr, self.gamma, self.iter_interval = init_lr, gamma, iter_interval

    def get_learning_rate(self, iter: int) -> float:
        return self.init_lr * (self.gamma ** (iter // self.iter_interval))


class StepScheduler(BaseLearningRateScheduler):
    """``init_lr`` times ``gamma`` once for every step in ``iter_steps`` that ``iter`` has reached."""

    def __init__(self, init_lr: float, gamma: float, iter_steps):
        self.init_lr, self.gamma, self.iter_steps = init_lr, gamma, iter_steps

    def get_learning_rate(self, iter: int) -> float:
        lr = self.init_lr
        for step in self.iter_steps:
            if iter >= step:
                lr *= self.gamma
        return lr


class LinearWarmupScheduler(BaseLearningRateScheduler):
    """Another schedule scaled by ``(iter + 1) / warmup_iter`` for the first ``warmup_iter`` iterations."""

    def __init__(self, scheduler: BaseLearningRateScheduler, warmup_iter: int):
        self.scheduler, self.warmup_iter = scheduler, warmup_iter

    def get_learning_rate(self, iter: int) -> float:
        lr = self.scheduler.get_learning_rate(iter)
        if iter < self.warmup_iter:
            lr *= (iter + 1) * 1.0 / self.warmup_iter
        return lr
