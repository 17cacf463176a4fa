"""NNabla's core: modules (``nnabla.core.module``) and graph definitions (``nnabla.core.graph_def``)."""
