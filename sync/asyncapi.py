"""The AsyncAPI 3.0 contract, generated from the message models.

``python -m sync.asyncapi`` rewrites ``sync/asyncapi.yaml``; a test fails when the file
is stale. :func:`message_schema` gives the JSON Schema of a channel, with every ``$ref``
resolvable, for validating payloads.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dermocap import __version__
from sync.models import (
    COMMANDS,
    DURABLE_CHANNELS,
    EPHEMERAL_CHANNELS,
    ReplyMessage,
)

DOCUMENT_PATH = Path(__file__).with_name("asyncapi.yaml")
ADDRESS = "dermocap/v1/{device_id}/"
REF = "#/components/schemas/{model}"

_HEADERS = {
    "type": "object",
    "description": "MQTT v5 user properties (the same values as in the payload)",
    "properties": {
        "message_id": {"type": "string", "description": "UUIDv7 of the message"},
        "seq": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "Outbox seq"},
    },
    "required": ["message_id"],
}

# channel key -> (topic suffix, model, summary, retained, qos)
_DEVICE_CHANNELS: list[tuple[str, str, type[BaseModel], str, bool, int]] = [
    ("status", "status", EPHEMERAL_CHANNELS["status"],
     "Presence: online on connect, stopped on a clean exit, offline by the will "
     "(after the Will Delay Interval)", True, 1),
    ("telemetry", "telemetry", EPHEMERAL_CHANNELS["telemetry"],
     "Periodic health figures, sent with a Message Expiry Interval", False, 0),
    ("results", "results", DURABLE_CHANNELS["results"],
     "One message per capture, from the outbox; resent until PUBACK", False, 1),
    ("events", "events", DURABLE_CHANNELS["events"],
     "What the technician did and saw", False, 1),
    ("imageManifest", "images/manifest", DURABLE_CHANNELS["images/manifest"],
     "Start of an image transfer: size, SHA-256 and chunking", False, 1),
    ("imageChunk", "images/chunk", DURABLE_CHANNELS["images/chunk"],
     "One chunk of an image, keyed by offset (idempotent)", False, 1),
]  # fmt: skip


def _schemas() -> dict[str, Any]:
    models: list[type[BaseModel]] = [m for _, _, m, *_ in _DEVICE_CHANNELS]
    models += [*COMMANDS.values(), ReplyMessage]
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    return dict(sorted(top["$defs"].items()))


def _message(name: str, model: type[BaseModel], summary: str, **bindings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "title": model.__name__,
        "summary": summary,
        "contentType": "application/json",
        "headers": _HEADERS,
        "payload": {"$ref": REF.format(model=model.__name__)},
        "bindings": {"mqtt": {"payloadFormatIndicator": 1, **bindings, "bindingVersion": "0.2.0"}},
    }


def build_document() -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document as plain data."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    params = {"device_id": {"description": "rig.device_id of the rig (also in its client id)"}}
    for key, suffix, model, summary, retained, qos in _DEVICE_CHANNELS:
        messages[key] = _message(key, model, summary)
        channels[key] = {
            "address": ADDRESS + suffix,
            "parameters": params,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"send{key[0].upper()}{key[1:]}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "bindings": {"mqtt": {"qos": qos, "retain": retained, "bindingVersion": "0.2.0"}},
        }
    messages["reply"] = _message(
        "reply", ReplyMessage, "Answer to a command: ok, or a clear error",
        correlationData={"type": "string", "description": "copied from the command"},
    )  # fmt: skip
    channels["reply"] = {
        "address": None,
        "description": "The command's ResponseTopic (else {prefix}/replies)",
        "messages": {"reply": {"$ref": "#/components/messages/reply"}},
    }
    for name, model in COMMANDS.items():
        key = f"cmd{name.capitalize()}"
        summary = (model.__doc__ or name).strip().splitlines()[0]
        messages[key] = _message(key, model, summary)
        messages[key]["headers"] = {"type": "object"}
        channels[key] = {
            "address": f"{ADDRESS}cmd/{name}",
            "parameters": params,
            "description": "Never retained: a retained command is ignored",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"receive{name.capitalize()}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "reply": {
                "address": {"location": "$message.header#/ResponseTopic"},
                "channel": {"$ref": "#/channels/reply"},
                "messages": [{"$ref": "#/channels/reply/messages/reply"}],
            },
            "bindings": {"mqtt": {"qos": 1, "retain": False, "bindingVersion": "0.2.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "dermocap rig MQTT API",
            "version": __version__,
            "description": "Topics of one dermoscope rig. Durable messages carry a per-device "
            "seq and a UUIDv7 message_id (payload and user properties): drop duplicates by "
            "message_id, ask for gaps with cmd/resend. Generated by sync/asyncapi.py.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "clinic": {
                "host": "{host}:{port}",
                "protocol": "mqtt",
                "protocolVersion": "5",
                "description": "The clinic's Mosquitto broker (TLS on 8883)",
                "variables": {
                    "host": {"default": "localhost"},
                    "port": {"default": "1883", "enum": ["1883", "8883"]},
                },
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def message_schema(document: dict[str, Any], channel: str) -> dict[str, Any]:
    """A standalone JSON Schema of ``channel``'s payload (its refs resolve in ``$defs``)."""
    (msg,) = document["channels"][channel]["messages"].values()
    key = msg["$ref"].rsplit("/", 1)[1]
    payload_ref = document["components"]["messages"][key]["payload"]["$ref"]
    return {"$ref": payload_ref, "components": document["components"]}


def render(document: dict[str, Any]) -> str:
    """The document as YAML (pyyaml, from the dev extra, is imported only here)."""
    import yaml  # only needed when (re)writing the contract

    head = "# Generated by `python -m sync.asyncapi` from sync/models.py: do not edit.\n"
    return head + str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


def main(argv: list[str] | None = None) -> int:
    """Write the document to the path given or sync/asyncapi.yaml."""
    p = argparse.ArgumentParser(
        prog="python -m sync.asyncapi",
        description="Write the AsyncAPI contract generated from sync/models.py.",
    )
    p.add_argument("path", nargs="?", type=Path, default=DOCUMENT_PATH, help="output file")
    path: Path = p.parse_args(argv).path
    path.write_text(render(build_document()), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
