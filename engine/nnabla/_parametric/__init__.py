"""Parametric functions by family; nnabla.parametric_functions re-exports them."""
