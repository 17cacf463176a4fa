"""NNabla's experimental tools: viewers, graph converters, mixed-precision training."""
