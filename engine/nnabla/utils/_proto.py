"""NNabla's protobuf messages, built at import time from ``nnabla.proto`` (no protoc needed).

``nnabla.proto`` holds the subset of NNabla's schema this engine uses, with NNabla's names and field numbers.
It is plain proto3 with messages, scalar, message, ``repeated``, ``map<,>`` and ``oneof`` fields only; the
small reader below turns it into a ``FileDescriptorProto`` in a pool of its own (so NNabla's unqualified
names such as ``Shape`` cannot clash with other packages' messages), and the message classes are module
attributes: ``_proto.NNablaProtoBuf``, ``_proto.Network``, ...
"""

from __future__ import annotations

import os
import re

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nnabla.proto")
_FD = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "double": _FD.TYPE_DOUBLE,
    "float": _FD.TYPE_FLOAT,
    "int64": _FD.TYPE_INT64,
    "uint64": _FD.TYPE_UINT64,
    "int32": _FD.TYPE_INT32,
    "uint32": _FD.TYPE_UINT32,
    "bool": _FD.TYPE_BOOL,
    "string": _FD.TYPE_STRING,
    "bytes": _FD.TYPE_BYTES,
}
_FIELD = re.compile(r"(repeated\s+)?(map<\s*(\w+)\s*,\s*(\w+)\s*>|\w+)\s+(\w+)\s*=\s*(\d+)\s*;")


def _set_type(field, type_name) -> None:
    if type_name in _SCALARS:
        field.type = _SCALARS[type_name]
    else:
        field.type = _FD.TYPE_MESSAGE
        field.type_name = "." + type_name


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _file_descriptor(text: str) -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(name="nnabla_nb/nnabla.proto", syntax="proto3")
    message = None
    oneof = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip()
        if not line or line.startswith("syntax"):
            continue
        if line.startswith("message "):
            message = fd.message_type.add(name=line.split()[1])
        elif line.startswith("oneof "):
            oneof = len(message.oneof_decl)
            message.oneof_decl.add(name=line.split()[1])
        elif line == "}":
            if oneof is not None:
                oneof = None
            else:
                message = None
        else:
            match = _FIELD.fullmatch(line)
            if match is None or message is None:
                raise ValueError(f"nnabla.proto line {number}: cannot read {raw!r}")
            repeated, type_name, key, value, name, field_number = match.groups()
            field = message.field.add(
                name=name, number=int(field_number), json_name=_camel(name)[:1].lower() + _camel(name)[1:]
            )
            field.label = _FD.LABEL_REPEATED if (repeated or key) else _FD.LABEL_OPTIONAL
            if key:  # a map is a repeated nested entry message, as protoc writes it
                entry = message.nested_type.add(name=_camel(name) + "Entry")
                entry.options.map_entry = True
                _set_type(entry.field.add(name="key", number=1, label=_FD.LABEL_OPTIONAL, json_name="key"), key)
                _set_type(entry.field.add(name="value", number=2, label=_FD.LABEL_OPTIONAL, json_name="value"), value)
                _set_type(field, f"{message.name}.{entry.name}")
            else:
                _set_type(field, type_name)
            if oneof is not None:
                field.oneof_index = oneof
    return fd


def _build():
    with open(_SCHEMA, encoding="utf-8") as f:
        fd = _file_descriptor(f.read())
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    get_class = getattr(message_factory, "GetMessageClass", None)
    factory = None if get_class else message_factory.MessageFactory(pool)
    classes = {}
    for m in fd.message_type:
        desc = pool.FindMessageTypeByName(m.name)
        classes[m.name] = get_class(desc) if get_class else factory.GetPrototype(desc)
    return classes


globals().update(_build())
