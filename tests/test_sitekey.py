"""One rule for subject, site and visit: worklist file, MQTT command, capture config agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.config import CaptureConfig
from dermocap.errors import CommandError, ConfigError, SiteKeyError
from dermocap.sitekey import SUBJECT_PATTERN, SiteKey, SiteRule
from device.config import parse_config
from device.worklist import Worklist
from sync.commands import parse_command

NAMES = ["Maria_1_Garcia", "John Smith", "JohnSmith", "anna", "Marie-Claire", "Garcia-042-Maria"]
PSEUDONYMS = ["P00042", "S-0042", "clinic7_0001", "12345", "P001", "S0000"]

# Subjects built from the characters an id is made of, so both sides of the rule are hit.
subjects = st.text(alphabet="PSaz09_- .", max_size=14) | st.sampled_from(NAMES + PSEUDONYMS)


def _mqtt_accepts(subject: str, site: str = "vertex", visit: str = "baseline") -> bool:
    payload = {"subject": subject, "visit": visit, "sites": [site]}
    try:
        parse_command("worklist", json.dumps(payload).encode())
    except CommandError:
        return False
    return True


def _worklist_accepts(subject: str, site: str = "vertex", visit: str = "baseline") -> bool:
    try:
        Worklist().load(subject, visit, [site])
    except SiteKeyError:
        return False
    return True


def _capture_accepts(subject: str, site: str = "vertex", visit: str = "baseline") -> bool:
    rule = SiteRule(CaptureConfig().subject_pattern)
    try:
        rule.key(subject, site, visit)
    except SiteKeyError:
        return False
    return True


@given(subject=subjects, site=st.sampled_from(["vertex", "3x", "Vertex", "a" * 33, "adhoc-1"]))
def test_worklist_mqtt_and_capture_agree(subject: str, site: str) -> None:
    verdicts = {
        _mqtt_accepts(subject, site),
        _worklist_accepts(subject, site),
        _capture_accepts(subject, site),
    }
    assert len(verdicts) == 1, (subject, site)


@pytest.mark.parametrize("name", NAMES)
def test_a_name_is_refused_everywhere(name: str) -> None:
    assert not _mqtt_accepts(name)
    assert not _worklist_accepts(name)
    assert not _capture_accepts(name)
    with pytest.raises(SiteKeyError, match="never enter a name") as err:
        SiteKey(name, "vertex", "baseline")
    assert name not in str(err.value)


@pytest.mark.parametrize("subject", PSEUDONYMS)
def test_pseudonyms_pass_everywhere(subject: str) -> None:
    assert _mqtt_accepts(subject) and _worklist_accepts(subject) and _capture_accepts(subject)


def test_a_worklist_file_with_a_name_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "wl.json"
    f.write_text(json.dumps({"subject": "Maria_1_Garcia", "visit": "3m", "sites": ["vertex"]}))
    wl = Worklist()
    with pytest.raises(ConfigError, match="never enter a name") as err:
        wl.load_file(f)
    assert "Maria" not in str(err.value)  # the refusal does not repeat (log, publish) a name
    assert wl.remaining == [] and wl.subject == "S0000"  # nothing of it was taken


@pytest.mark.parametrize("pattern", ["([a-", "(?P<x"])
def test_a_subject_pattern_that_does_not_compile_fails_config_check(pattern: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"capture": {"subject_pattern": pattern}})
    assert [k for k, _ in err.value.errors] == ["capture.subject_pattern"]
    assert "not a regular expression" in err.value.errors[0][1]


@pytest.mark.parametrize("pattern", [".*", "[A-Za-z_0-9 -]+", r"\w+"])
def test_a_subject_pattern_wider_than_the_rule_fails_config_check(pattern: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"capture": {"subject_pattern": pattern}})
    assert err.value.errors[0][0] == "capture.subject_pattern"
    assert "not a pseudonym" in err.value.errors[0][1]


CLINIC = r"^(P[0-9]{5}|[A-Za-z]+[0-9]+)$"  # too wide on its own: admits "Garcia42" style ids


@given(subject=subjects)
def test_a_clinic_pattern_only_narrows_the_rule(subject: str) -> None:
    rule = SiteRule(CLINIC)
    try:
        rule.check_subject(subject)
    except SiteKeyError:
        return
    assert re.fullmatch(SUBJECT_PATTERN, subject), subject


def test_a_clinic_pattern_applies_where_ids_enter() -> None:
    cfg = parse_config({"capture": {"subject_pattern": r"^P[0-9]{5}$"}})
    wl = Worklist(SiteRule(cfg.capture.subject_pattern))
    with pytest.raises(SiteKeyError, match=r"capture\.subject_pattern"):
        wl.load("S-0042", "baseline", ["vertex"])  # the rule admits it; this clinic does not
    wl.load("P00042", "baseline", ["vertex"])
    assert wl.current().subject == "P00042"


def test_a_hold_after_an_ad_hoc_site_retakes_that_site() -> None:
    wl = Worklist()
    wl.load("P00123", "3m", ["frontal"])
    wl.advance(wl.current())
    first = wl.current()
    assert first.adhoc and first.site == "adhoc-1"
    wl.advance(first)
    assert wl.current().site == "adhoc-2"
    back = wl.step_back()
    assert back is not None and back.site == "adhoc-1" and back.adhoc
    assert wl.current().site == "adhoc-1"  # the same ad-hoc site, not the list's last
    back = wl.step_back()  # a second hold: the list's last site
    assert back is not None and back.site == "frontal" and wl.current().site == "frontal"
    gen = wl.generation
    wl.load("P00124", "baseline", ["vertex"])
    assert wl.generation == gen + 1 and wl.step_back() is None
