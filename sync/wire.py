"""MQTT v5 wire details paho leaves to us: PUBLISH properties and the packet size."""

from __future__ import annotations

from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

RC_UNSPECIFIED = 0x80
RC_PACKET_TOO_LARGE = 0x95


def new_properties(packet_type: int) -> Properties:
    """An empty paho Properties object (paho's constructor is untyped)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


def _varint_len(n: int) -> int:
    size = 1
    while n >= 128:
        n //= 128
        size += 1
    return size


def publish_packet_size(topic: str, payload: bytes, props: Properties, qos: int) -> int:
    """Bytes of the PUBLISH packet paho will send (the figure Maximum Packet Size limits)."""
    remaining = 2 + len(topic.encode("utf-8")) + (2 if qos else 0) + len(props.pack())  # type: ignore[no-untyped-call]
    remaining += len(payload)
    return 1 + _varint_len(remaining) + remaining


def message_properties(msg_id: str, seq: int | None, **extra: Any) -> Properties:
    """PUBLISH properties: JSON content type and message_id / seq as user properties."""
    props = new_properties(PacketTypes.PUBLISH)
    props.ContentType = "application/json"
    props.PayloadFormatIndicator = 1
    user = [("message_id", msg_id)]
    if seq is not None:
        user.append(("seq", str(seq)))
    props.UserProperty = user
    for key, value in extra.items():
        setattr(props, key, value)
    return props
