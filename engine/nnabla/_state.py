"""Process-wide engine switches, kept in one-element lists so hot loops read them without attribute lookups."""

auto_forward = [False]  # nn.auto_forward(): run each function as it is created
no_grad = [False]  # nn.no_grad(): functions created now need no gradient
recompute = [False]  # nn.recompute() / nn.set_global_recompute(): variables created now are recomputed in backward
recompute_used = [False]  # some variable was ever marked recompute: until then graph walks need not look for one
graph_version = [0]  # bumped whenever a graph edge changes; cached traversal orders check it
# bumped whenever a buffer a solver holds views of may have been replaced, refilled or released, or a need_grad
# flag changed: solvers re-check their parameters only when it moved
param_version = [0]
function_pre_hooks: dict = {}  # nn.set_function_pre_hook(key, hook)
function_post_hooks: dict = {}
solver_pre_hooks: dict = {}
solver_post_hooks: dict = {}
clear_recorder: list = [None]  # nnabla.testing.clear_called_flag_recorder while it is active
