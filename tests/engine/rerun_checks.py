"""A second pass over op-table cases: gradients are the same when forward and backward free the buffers they may
(``clear_no_need_grad``, ``clear_buffer``: what each op declares backward reads must survive), and a second
backward adds into the leaves' gradients."""

import numpy as np

import nnabla as nn
import nnabla.functions as F


def _gradients(case, clear, backwards=1):
    wrt = case.grad_inputs
    if wrt is None:
        wrt = [i for i, a in enumerate(case.inputs) if np.issubdtype(np.asarray(a).dtype, np.floating)]
    xs = [nn.Variable.from_numpy_array(np.array(a), need_grad=i in wrt) for i, a in enumerate(case.inputs)]
    ys = case.fn(*xs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    rng = np.random.RandomState(0)
    terms = [F.sum(y * nn.Variable.from_numpy_array(np.asarray(rng.randn(*y.shape), np.float32))) for y in ys]
    total = terms[0] if len(terms) == 1 else F.add_n(*terms)
    total.forward(clear_no_need_grad=clear)
    for x in xs:
        x.grad.zero()
    for _ in range(backwards):
        total.backward(clear_buffer=clear)
    return [xs[i].g.copy() for i in wrt]


def check_cleared_buffers_and_accumulation(case) -> None:
    plain = _gradients(case, clear=False)
    for k, (a, b) in enumerate(zip(plain, _gradients(case, clear=True))):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=f"{case.name}: input {k} with cleared buffers")
    for k, (a, b) in enumerate(zip(plain, _gradients(case, clear=False, backwards=2))):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-5, atol=1e-6, err_msg=f"{case.name}: input {k} accumulated")
