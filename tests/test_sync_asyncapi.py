"""The AsyncAPI contract is current, well-formed, and matches what the models accept."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    sample_result,
)

from dashboard.watch import watch_main
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig
from sync.asyncapi import DOCUMENT_PATH, build_document, message_schema, render


def test_document_is_current() -> None:
    on_disk = yaml.safe_load(DOCUMENT_PATH.read_text())
    assert on_disk == build_document(), "run `python -m sync.asyncapi` and commit the file"
    assert yaml.safe_load(render(build_document())) == on_disk


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return out + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_document_is_a_valid_asyncapi_3() -> None:
    doc = yaml.safe_load(DOCUMENT_PATH.read_text())
    assert doc["asyncapi"] == "3.0.0" and doc["info"]["title"] and doc["info"]["version"]
    for ref in _refs(doc):
        _resolve(doc, ref)  # every $ref points somewhere
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    for key, ch in doc["channels"].items():
        assert ch["address"] is None or ch["address"].startswith("dermocap/v1/{device_id}/")
        if ch["address"]:
            assert set(ch.get("parameters", {})) == {"device_id"}, key
        assert ch["messages"]
    for key, op in doc["operations"].items():
        assert op["action"] in ("send", "receive"), key
        channel = _resolve(doc, op["channel"]["$ref"])
        for m in op["messages"]:
            assert m["$ref"].startswith(op["channel"]["$ref"] + "/messages/"), key
        if "reply" in op:
            assert op["reply"]["address"]["location"].startswith("$message.header#/")
        assert channel
    sends = {op["channel"]["$ref"] for op in doc["operations"].values() if op["action"] == "send"}
    assert {"#/channels/results", "#/channels/status", "#/channels/imageChunk"} <= sends


def test_schemas_agree_with_the_models() -> None:
    doc = build_document()
    v = jsonschema.Draft202012Validator(message_schema(doc, "results"))
    good = {**sample_result(), "message_id": str(uuid7()), "seq": 3, "capture_id": str(uuid7())}
    assert not list(v.iter_errors(good))
    assert list(v.iter_errors({**good, "subject": "Jane Doe"}))
    assert list(v.iter_errors({**good, "extra": 1}))
    assert list(v.iter_errors({**good, "seq": 0}))


def test_watch_cli_prints_a_live_table(broker: Broker, tmp_path: Path) -> None:
    out = io.StringIO()
    rc: list[int] = []
    t = threading.Thread(
        target=lambda: rc.append(
            watch_main([f"--broker={broker.host}:{broker.port}", "--count=3", "--duration=15"], out)
        )
    )
    t.start()
    time.sleep(0.8)
    cfg = SyncConfig(host=broker.host, port=broker.port, reconnect_min_s=0.05)
    with Outbox(tmp_path / "o.db") as ob, MqttLink(cfg, "rig-07", ob):
        for i in range(3):
            ob.add_capture(str(uuid7()), {}, sample_result(i, subject="S-0007"))
        t.join(20)
    assert rc == [0]
    text = out.getvalue()
    assert "subject" in text.splitlines()[0]
    assert text.count("S-0007") == 3 and "3 results, 0 duplicates" in text
    assert watch_main(["--broker", "nohost"], io.StringIO()) == 2
