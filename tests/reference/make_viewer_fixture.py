"""Write tests/utils/fixtures/nnabla_simple_graph.dot: the DOT source NNabla 1.36's SimpleGraph makes for the
network of its own docstring, plain then verbose. NNabla's venv lacks the graphviz package; give it one:

    pip install --target /tmp/gvpkg graphviz
    PYTHONPATH=/tmp/gvpkg "$(/work/shared/tools/nnabla-reference)" tests/reference/make_viewer_fixture.py \
        > tests/utils/fixtures/nnabla_simple_graph.dot
"""

import nnabla as nn
import nnabla.experimental.viewers as V
import nnabla.functions as F
import nnabla.parametric_functions as PF


def network(image, test=False):
    h = image
    h /= 255.0
    h = PF.convolution(h, 16, kernel=(3, 3), pad=(1, 1), name="conv")
    h = PF.batch_normalization(h, name="bn", batch_stat=not test)
    h = F.relu(h)
    return PF.affine(h, 10, name="fc")


if __name__ == "__main__":
    pred = network(nn.Variable([4, 3, 32, 32]))
    for verbose in (False, True):
        print(V.SimpleGraph(verbose=verbose).create_graphviz_digraph(pred).source)
