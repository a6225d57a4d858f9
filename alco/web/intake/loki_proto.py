"""The messages of Loki's push API (``logproto.PushRequest``, Loki's Apache-2.0 ``pkg/push``
``push.proto``), declared as a protobuf file descriptor and built by the official ``protobuf``
package: no generated code to keep in step with the runtime, no hand-written wire parser."""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

F = descriptor_pb2.FieldDescriptorProto
PACKAGE = "logproto"
FILE = "alco/loki/push.proto"  # a name of its own: no clash with another copy in the pool
# message -> (field name, number, type, repeated, message type)
MESSAGES: dict[str, list[tuple[str, int, int, bool, str]]] = {
    "PushRequest": [("streams", 1, F.TYPE_MESSAGE, True, ".logproto.StreamAdapter")],
    "PushResponse": [],
    "StreamAdapter": [
        ("labels", 1, F.TYPE_STRING, False, ""),
        ("entries", 2, F.TYPE_MESSAGE, True, ".logproto.EntryAdapter"),
        ("hash", 3, F.TYPE_UINT64, False, ""),
    ],
    "EntryAdapter": [
        ("timestamp", 1, F.TYPE_MESSAGE, False, ".google.protobuf.Timestamp"),
        ("line", 2, F.TYPE_STRING, False, ""),
        ("structuredMetadata", 3, F.TYPE_MESSAGE, True, ".logproto.LabelPairAdapter"),
        ("parsed", 4, F.TYPE_MESSAGE, True, ".logproto.LabelPairAdapter"),
    ],
    "LabelPairAdapter": [
        ("name", 1, F.TYPE_STRING, False, ""),
        ("value", 2, F.TYPE_STRING, False, ""),
    ],
}


def file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    fd = descriptor_pb2.FileDescriptorProto(
        name=FILE, package=PACKAGE, syntax="proto3",
        dependency=[timestamp_pb2.DESCRIPTOR.name])
    for name, fields in MESSAGES.items():
        msg = fd.message_type.add(name=name)
        for fname, number, ftype, repeated, type_name in fields:
            field = msg.field.add(name=fname, number=number, type=ftype, json_name=fname,
                                  label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                field.type_name = type_name
    return fd


@functools.cache
def push_request_class() -> Any:
    """The ``logproto.PushRequest`` message class."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file_descriptor())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("logproto.PushRequest"))
