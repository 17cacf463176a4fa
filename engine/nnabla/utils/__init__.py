"""NNabla's utilities: data iterators, model files, schedulers, profiling and inspection tools."""
