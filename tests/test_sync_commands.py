"""Dashboard commands: validation (property tests), retained ones ignored, request/response."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    watching,
)

from dermocap.errors import CommandError
from sync import CommandRouter, MqttLink, Outbox, SyncConfig, WorklistCommand, parse_command
from sync.models import COMMANDS

json_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.lists(st.text(max_size=6), max_size=3)
)
valid_worklists = st.fixed_dictionaries(
    {
        "subject": st.from_regex(r"[A-Z]{0,3}[0-9]{2,8}", fullmatch=True),
        "visit": st.sampled_from(["baseline", "3m", "6m", "12m", "extra_1"]),
        "sites": st.lists(
            st.sampled_from(["frontal", "vertex", "occipital"]), min_size=1, max_size=5
        ),
    }
)
worklists = valid_worklists | st.dictionaries(
    st.sampled_from(["subject", "visit", "sites", "x"]), json_values
)


@given(name=st.sampled_from([*COMMANDS, "reboot", ""]), payload=st.binary(max_size=200))
def test_any_bytes_are_parsed_or_refused_with_command_error(name: str, payload: bytes) -> None:
    try:
        parse_command(name, payload)
    except CommandError:
        pass


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=worklists)
def test_worklist_router_calls_the_handler_only_for_valid_ones(data: dict[str, Any]) -> None:
    calls: list[WorklistCommand] = []
    router = CommandRouter()
    router.register("worklist", lambda cmd: calls.append(cmd) or {"queued": True})
    result = router.dispatch("worklist", json.dumps(data).encode(), retained=False)
    assert result.reply is not None
    assert result.acted == result.reply.ok == (len(calls) == 1)
    if not result.reply.ok:
        assert result.reply.error


@given(payload=st.binary(max_size=64))
def test_retained_commands_are_never_acted_on(payload: bytes) -> None:
    calls: list[object] = []
    router = CommandRouter()
    router.register("ping", lambda cmd: calls.append(cmd) or {})
    result = router.dispatch("ping", payload, retained=True)
    assert result.reply is None and not result.acted and not calls


@pytest.mark.parametrize(
    "subject", ["John Smith", "JohnSmith", "anna", "Marie-Claire", "", "P" * 50, "P0042 "]
)
def test_names_are_not_pseudonyms(subject: str) -> None:
    with pytest.raises(CommandError, match="subject"):
        parse_command(
            "worklist",
            json.dumps({"subject": subject, "visit": "3m", "sites": ["vertex"]}).encode(),
        )


@pytest.mark.parametrize("subject", ["P00042", "S-0042", "clinic7_0001", "12345"])
def test_pseudonyms_pass(subject: str) -> None:
    cmd = parse_command(
        "worklist",
        json.dumps(
            {"subject": subject, "visit": "baseline", "sites": ["vertex", "frontal"]}
        ).encode(),
    )
    assert isinstance(cmd, WorklistCommand) and cmd.sites == ["vertex", "frontal"]


def test_register_refuses_unknown_names() -> None:
    with pytest.raises(CommandError):
        CommandRouter().register("reboot", lambda cmd: None)


def _link(b: Broker, ob: Outbox) -> MqttLink:
    cfg = SyncConfig(host=b.host, port=b.port, reconnect_min_s=0.05, reconnect_max_s=0.3)
    return MqttLink(cfg, "rig-01", ob)


def test_commands_over_the_broker(broker: Broker, tmp_path: Path) -> None:
    got: list[WorklistCommand] = []
    with watching(broker) as (w, check), Outbox(tmp_path / "o.db") as ob:
        link = _link(broker, ob)

        def worklist(cmd: WorklistCommand) -> dict[str, Any]:
            if cmd.visit == "99m":
                raise CommandError("no such visit in this study")
            got.append(cmd)
            return {"sites": len(cmd.sites)}

        link.on_command("worklist", worklist)
        with link:
            assert link.connected.wait(10)
            time.sleep(0.2)  # let the command subscription settle
            ping = w.command("rig-01", "ping", b"")
            assert ping is not None and ping.ok and ping.data["last_seq"] == 0
            ok = w.command(
                "rig-01", "worklist", {"subject": "P001", "visit": "3m", "sites": ["vertex"]}
            )
            assert ok is not None and ok.ok and ok.data == {"sites": 1}
            refused = w.command(
                "rig-01", "worklist", {"subject": "P001", "visit": "99m", "sites": ["vertex"]}
            )
            assert (
                refused is not None and not refused.ok and "no such visit" in (refused.error or "")
            )
            for bad in [
                b"{not json",
                b"[]",
                json.dumps({"subject": "Jane Doe", "visit": "3m", "sites": ["a"]}).encode(),
            ]:
                reply = w.command("rig-01", "worklist", bad)
                assert reply is not None and not reply.ok
            unknown = w.command("rig-01", "reboot", {})
            assert (
                unknown is not None
                and not unknown.ok
                and "unknown command" in (unknown.error or "")
            )
            unhandled = w.command("rig-01", "config", {"changes": {"sound": False}})
            assert (
                unhandled is not None
                and not unhandled.ok
                and "not handled" in (unhandled.error or "")
            )
            # a retained command is ignored: no reply, no action, now or on reconnect
            assert (
                w.command(
                    "rig-01",
                    "worklist",
                    {"subject": "P002", "visit": "3m", "sites": ["vertex"]},
                    retain=True,
                    timeout_s=1.0,
                )
                is None
            )
            link2 = _link(broker, ob)
            link2.on_command("worklist", worklist)
        with link2:
            assert link2.connected.wait(10)
            time.sleep(0.5)
        assert [c.subject for c in got] == ["P001"]
        assert check.checked >= 8


def test_resend_sends_acked_results_again_with_the_same_ids(broker: Broker, tmp_path: Path) -> None:
    from mqtt_fixtures import sample_record, sample_result

    from dermocap.ids import uuid7

    with watching(broker) as (w, _), Outbox(tmp_path / "o.db") as ob:
        for i in range(6):
            ob.add_capture(str(uuid7()), sample_record(i), sample_result(i))
        with _link(broker, ob) as link:
            assert w.wait_for(lambda: len(w.device("rig-01").results) == 6, 10)
            dups = w.duplicates
            reply = w.command("rig-01", "resend", {"since_seq": 4})
            assert reply is not None and reply.ok and reply.data["requeued"] == 3
            assert w.wait_for(lambda: w.duplicates == dups + 3, 5), "resent messages keep their ids"
            bad = w.command("rig-01", "resend", {"since_seq": 0})
            assert bad is not None and not bad.ok
            assert link.drained()
