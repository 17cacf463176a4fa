"""Extension modules that make contexts: ``cpu`` (numpy) and ``cuda``/``cudnn`` (cupy)."""
