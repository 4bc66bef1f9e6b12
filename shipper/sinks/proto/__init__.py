"""Loki's push schema (``logproto``) as protobuf message classes.

The classes are built from the committed descriptor in a private
:class:`~google.protobuf.descriptor_pool.DescriptorPool`, so nothing is registered in the
process-wide default pool and no generated module has to match the protobuf runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pool, message_factory, timestamp_pb2

from shipper.sinks.proto.push_descriptor import SERIALIZED


@dataclass(frozen=True, slots=True)
class PushSchema:
    """The message classes of ``push.proto``."""

    PushRequest: Any
    StreamAdapter: Any
    EntryAdapter: Any
    LabelPairAdapter: Any


def load_push_schema() -> PushSchema:
    """Build the ``logproto`` message classes (call once per sink or receiver)."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(SERIALIZED)

    def cls(name: str) -> Any:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"logproto.{name}"))

    return PushSchema(cls("PushRequest"), cls("StreamAdapter"), cls("EntryAdapter"),
                      cls("LabelPairAdapter"))
