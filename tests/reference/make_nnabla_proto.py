"""Write engine/nnabla/utils/nnabla.proto: the messages of NNabla's file format that the engine reads and writes.

Run with real NNabla 1.36 (``"$(/work/shared/tools/nnabla-reference)" tests/reference/make_nnabla_proto.py``, no
PYTHONPATH): the message and field names and numbers are read off its compiled schema, and kept for the
containers (networks, parameters, solvers, executors, ...) and for the argument messages of the functions our
engine registers (the list is read from ``ours.json``, written by ``--functions`` with our engine).
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(ROOT, "engine", "nnabla", "utils", "nnabla.proto")
# functions the graph converters create, kept even while the engine lacks them
EXTRA_FUNCTIONS = {"FixedPointQuantize", "Pow2Quantize", "MinMaxQuantize", "Prune", "FusedConvolution"}
SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
}


def our_functions():
    code = "import json, nnabla.function as f; print(json.dumps(sorted(f.registry())))"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "engine"))
    out = subprocess.run(
        [os.environ.get("OUR_PY", os.path.join(ROOT, ".venv", "bin", "python")), "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def main():
    from google.protobuf import descriptor_pb2

    from nnabla.utils import nnabla_pb2

    wanted = our_functions() | EXTRA_FUNCTIONS
    fd = descriptor_pb2.FileDescriptorProto()
    nnabla_pb2.DESCRIPTOR.CopyToProto(fd)
    function = next(m for m in fd.message_type if m.name == "Function")
    param_messages = {}
    for f in function.field:
        if f.HasField("oneof_index"):
            param_messages[f.type_name[1:]] = f.type_name[1 + 0 : -len("Parameter")]
    keep_param = {m for m, fn in param_messages.items() if fn in wanted}

    def field_type(f, message):
        if f.type == 11:
            nested = next((n for n in message.nested_type if "." + message.name + "." + n.name == f.type_name), None)
            if nested is not None and nested.options.map_entry:
                key, value = nested.field
                return "map<%s, %s>" % (
                    SCALARS[key.type],
                    value.type_name[1:] if value.type == 11 else SCALARS[value.type],
                )
            return f.type_name[1:]
        return SCALARS[f.type]

    lines = ['syntax = "proto3";', ""]
    for m in fd.message_type:
        if m.name in param_messages and m.name not in keep_param:
            continue
        lines.append("message %s {" % m.name)
        groups = {}
        for f in m.field:
            if m.name == "Function" and f.HasField("oneof_index") and f.type_name[1:] not in keep_param:
                continue
            t = field_type(f, m)
            label = "repeated " if f.label == 3 and not t.startswith("map<") else ""
            text = "%s%s %s = %d;" % (label, t, f.name, f.number)
            if f.HasField("oneof_index"):
                groups.setdefault(f.oneof_index, []).append(text)
                if len(groups[f.oneof_index]) == 1:
                    lines.append("  @oneof%d" % f.oneof_index)
            else:
                lines.append("  " + text)
        out = []
        for line in lines[lines.index("message %s {" % m.name) :]:
            if line.startswith("  @oneof"):
                index = int(line[len("  @oneof") :])
                out.append("  oneof %s {" % m.oneof_decl[index].name)
                out.extend("    " + t for t in groups[index])
                out.append("  }")
            else:
                out.append(line)
        del lines[lines.index("message %s {" % m.name) :]
        lines.extend(out)
        lines.append("}")
    header = [
        "// NNabla's file format (.nnp, .nntxt, .protobuf): the messages this engine reads and writes.",
        "// Names and field numbers are those of NNabla 1.36; written by tests/reference/make_nnabla_proto.py.",
    ]
    with open(TARGET, "w") as f:
        f.write("\n".join(header + lines) + "\n")
    print("wrote", TARGET, len(lines), "lines")


if __name__ == "__main__":
    sys.exit(main())
