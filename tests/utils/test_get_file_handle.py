"""nnabla.parameter.load_files / save_files: parameter files handed to the loader or saver of their extension.

Expected results were read off NNabla 1.36 running the same lines.
"""

import io
import zipfile

import numpy as np
import pytest

import nnabla as nn
import nnabla.parameter as P
import nnabla.parametric_functions as PF
from nnabla.utils import get_file_handle as G


@pytest.fixture()
def context():
    nn.clear_parameters()
    nn.seed(0)
    PF.affine(nn.Variable((2, 3)), 4, name="fc")
    ctx = P.FileHandlerContext()
    ctx.parameters = nn.get_parameters(grad_only=False)
    yield ctx
    nn.clear_parameters()


def loaded(path, **kwargs):
    ctx = P.FileHandlerContext()
    ctx.parameter_scope = {}
    for k, v in kwargs.items():
        setattr(ctx, k, v)
    P.load_files(ctx, P.get_parameter_file_loader(), path, extension=kwargs.get("extension"))
    with nn.parameter_scope("", ctx.parameter_scope):
        return ctx, {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}


def test_save_files_says_whether_every_file_had_a_saver(context, tmp_path):
    names = [str(tmp_path / "a.h5"), str(tmp_path / "a.protobuf"), str(tmp_path / "a.txt")]
    assert P.save_files(context, P.get_parameter_file_savers(), names) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "a.protobuf"]
    buffer = io.BytesIO()
    assert P.save_files(context, P.get_parameter_file_savers(), buffer, extension=".protobuf") is True
    assert len(buffer.getvalue()) == 121


@pytest.mark.parametrize("ext", [".h5", ".protobuf"])
def test_load_files_into_the_context_scope(context, tmp_path, ext):
    path = str(tmp_path / f"a{ext}")
    P.save_files(context, P.get_parameter_file_savers(), path)
    _, params = loaded(path)
    assert list(params) == ["fc/affine/W", "fc/affine/b"]
    assert np.isclose(params["fc/affine/W"].sum(), 2.737247943878174) and not params["fc/affine/b"].any()


def test_h5_loading_fills_the_proto_when_asked_and_skips_unknown_files(context, tmp_path):
    path = str(tmp_path / "a.h5")
    P.save_files(context, P.get_parameter_file_savers(), path)
    ctx, params = loaded([path, str(tmp_path / "b.xyz")], needs_proto=True, proto=None)
    assert [(p.variable_name, list(p.shape.dim), p.need_grad) for p in ctx.proto.parameter] == [
        ("fc/affine/W", [3, 4], True),
        ("fc/affine/b", [4], True),
    ]


def test_nnp_members_go_to_their_loaders_and_file_objects_use_extension(context, tmp_path):
    h5 = io.BytesIO()
    P.save_files(context, P.get_parameter_file_savers(), h5, extension=".h5")
    with zipfile.ZipFile(tmp_path / "m.nnp", "w") as z:
        z.writestr("nnp_version.txt", "0.1\n")
        z.writestr("parameter.h5", h5.getvalue())
    _, params = loaded(str(tmp_path / "m.nnp"))
    assert list(params) == ["fc/affine/W", "fc/affine/b"]
    pb = io.BytesIO()
    P.save_files(context, P.get_parameter_file_savers(), pb, extension=".protobuf")
    _, params = loaded(io.BytesIO(pb.getvalue()), extension=".protobuf")
    assert list(params) == ["fc/affine/W", "fc/affine/b"]


def test_handles_and_buffer_types(tmp_path):
    assert (G.get_buf_type("states_buf.h5"), G.get_buf_type("x_optimizer_states.protobuf")) == ("h5", "protobuf")
    with G.get_file_handle_save(str(tmp_path / "z.nntxt"), ".nntxt") as f:
        f.write("hi")
    assert (tmp_path / "z.nntxt").read_text() == "hi"
    with pytest.raises(RuntimeError), G.get_file_handle_save(str(tmp_path / "y.nntxt"), ".nntxt") as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.nntxt"]  # a failed write leaves nothing
    with pytest.raises(ValueError, match="not supported"), G.get_file_handle_save("x.csv", ".csv"):
        pass
