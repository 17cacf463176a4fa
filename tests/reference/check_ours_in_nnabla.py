"""Check by hand that real NNabla 1.36 reads the model files our engine writes.

    PYTHONPATH=engine python tests/reference/check_ours_in_nnabla.py write FOLDER      # our engine writes
    "$(/work/shared/tools/nnabla-reference)" tests/reference/check_ours_in_nnabla.py read FOLDER   # NNabla reads

``write`` builds tests/utils/nnp_models.py's network, trains it one Adam step on the fixture's data and saves
``.nnp``, ``.nntxt`` (with parameters), ``.protobuf`` parameters and solver states, with the numbers it got;
``read`` loads each file with NNabla and prints the largest difference from those numbers.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "utils"))
FIXTURES = os.path.join(os.path.dirname(HERE), "utils", "fixtures")

from nnp_models import build, contents_of  # noqa: E402


def write(folder):
    import nnabla as nn
    import nnabla.solvers as S
    from nnabla.utils.save import save

    data = np.load(os.path.join(FIXTURES, "nnabla_model_outputs.npz"))
    x, t, y, loss = build(nn)
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())
    x.d, t.d = data["x"], data["t"]
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    y.forward()
    os.makedirs(folder, exist_ok=True)
    contents = contents_of(x, t, y, loss, solver)
    save(os.path.join(folder, "ours.nnp"), contents)
    save(os.path.join(folder, "ours.nntxt"), contents, include_params=True)
    save(os.path.join(folder, "ours.protobuf"), contents, include_params=True)
    for fmt in (".h5", ".protobuf"):
        name = f"ours_states{fmt.replace('.', '_')}.nnp"
        save(os.path.join(folder, name), contents, include_solver_state=True, solver_state_format=fmt)
    nn.save_parameters(os.path.join(folder, "ours_params.protobuf"))
    solver.save_states(os.path.join(folder, "ours_states.protobuf"))
    states = {f"{p}/{s}": v.d for p, st in solver.get_states().items() for s, v in st.pstate.items()}
    np.savez(
        os.path.join(folder, "ours_outputs.npz"),
        x=x.d,
        y=y.d,
        loss=loss.d,
        **{"state:" + k: v for k, v in states.items()},
    )


def read(folder):
    import nnabla as nn
    import nnabla.solvers as S
    from nnabla.utils.load import load
    from nnabla.utils.nnp_graph import NnpLoader

    data = np.load(os.path.join(folder, "ours_outputs.npz"))
    for name in ("ours.nnp", "ours.nntxt", "ours.protobuf", "ours_states_h5.nnp", "ours_states_protobuf.nnp"):
        nn.clear_parameters()
        net = NnpLoader(os.path.join(folder, name)).get_network("runtime", batch_size=2)
        net.inputs["x"].d = data["x"]
        out = net.outputs["y"]
        out.forward()
        print(f"NnpLoader {name}: y differs by {np.abs(out.d - data['y']).max():.3g}")
        nn.clear_parameters()
        info = load([os.path.join(folder, name)])
        print(
            f"load {name}: networks {list(info.networks)}, executors {list(info.executors)}, "
            f"optimizers {list(info.optimizers)}, monitors {list(info.monitors)}"
        )
        if "states" in name:
            solver = info.optimizers["optimizer"].solver
            worst = max(
                np.abs(v.d - data[f"state:{p}/{s}"]).max()
                for p, st in solver.get_states().items()
                for s, v in st.pstate.items()
            )
            print(f"load {name}: solver states differ by {worst:.3g}")
        g = nn.graph_def.load(os.path.join(folder, name))
        xv = nn.Variable.from_numpy_array(data["x"])
        yv = g.networks["runtime"](xv)
        yv.forward()
        print(f"graph_def.load {name}: y differs by {np.abs(yv.d - data['y']).max():.3g}")
    nn.clear_parameters()
    x, t, y, loss = build(nn)
    nn.load_parameters(os.path.join(folder, "ours_params.protobuf"))
    x.d = data["x"]
    y.forward()
    print(f"load_parameters ours_params.protobuf: y differs by {np.abs(y.d - data['y']).max():.3g}")
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())
    solver.load_states(os.path.join(folder, "ours_states.protobuf"))
    worst = max(
        np.abs(v.d - data[f"state:{p}/{s}"]).max()
        for p, st in solver.get_states().items()
        for s, v in st.pstate.items()
    )
    print(
        f"load_states ours_states.protobuf: states differ by {worst:.3g}, t = "
        f"{sorted({st.t for st in solver.get_states().values()})}"
    )


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
