"""Write tests/utils/fixtures/: small model files made by real NNabla 1.36, and the numbers they must give.

Run with NNabla's own Python and no PYTHONPATH:
    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_model_fixtures.py
The same builder (``build``) runs in tests/utils/test_nnp_interop.py with our engine, so both sides make the
same graph from the same seed.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "utils", "fixtures")
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "utils"))

from nnp_models import build, contents_of  # noqa: E402


def main():
    import nnabla as nn
    import nnabla.solvers as S
    from nnabla.utils.save import save

    os.makedirs(OUT, exist_ok=True)
    nn.clear_parameters()
    x, t, y, loss = build(nn)
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())
    rng = np.random.RandomState(0)
    x.d = rng.randn(*x.shape)
    t.d = rng.randint(0, 3, size=t.shape)
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    y.forward()
    contents = contents_of(x, t, y, loss, solver)
    save(os.path.join(OUT, "nnabla_model.nnp"), contents)
    save(os.path.join(OUT, "nnabla_model.nntxt"), contents, include_params=True)
    save(os.path.join(OUT, "nnabla_model.protobuf"), contents, include_params=True)
    for fmt in (".h5", ".protobuf"):
        name = f"nnabla_model_states{fmt.replace('.', '_')}.nnp"
        save(os.path.join(OUT, name), contents, include_solver_state=True, solver_state_format=fmt)
    nn.save_parameters(os.path.join(OUT, "nnabla_params.protobuf"))
    solver.save_states(os.path.join(OUT, "nnabla_adam_states.protobuf"))
    states = {f"{p}/{s}": v.d for p, st in solver.get_states().items() for s, v in st.pstate.items()}
    np.savez(
        os.path.join(OUT, "nnabla_model_outputs.npz"),
        x=x.d,
        t=t.d,
        y=y.d,
        loss=loss.d,
        **{"param:" + k: v.d for k, v in nn.get_parameters(grad_only=False).items()},
        **{"state:" + k: v for k, v in states.items()},
    )
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
