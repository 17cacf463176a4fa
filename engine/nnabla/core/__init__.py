"""NNabla's core: graph definitions and modules."""
