"""The dashboard's pages through Flask's test client: login, CSRF, values, escaping, paths."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from dashboard_fixtures import PASSWORD, SITES, VISITS, add_image, density, fill, new_store, result
from flask.testing import FlaskClient

from dashboard.auth import hash_password, verify_password
from dashboard.review import REVIEW_ACTIONS, review_items
from dashboard.store import Store
from dashboard.trends import FLAGGED, change, mdc_fraction, visit_key
from dashboard.web import create_app
from dermocap.ids import uuid7
from inference.second_opinion import REVIEW_KINDS
from sync.models import EventMessage, ReplyMessage, StatusMessage

XSS = "<script>alert(1)</script>"


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> Iterator[Store]:
    with new_store(tmp_path) as store:
        yield store


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def fetch(client: FlaskClient, path: str) -> bytes:
    with client.get(path) as resp:  # a file response holds the file open until closed
        assert resp.status_code == 200
        return resp.data


def login(client: FlaskClient, password: str = PASSWORD) -> Any:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token
    return client.post(
        "/login?next=/subjects",
        data={"username": "alice", "password": password, "token": token.group(1)},
    )


def test_passwords_hashed_with_scrypt_and_checked() -> None:
    h = hash_password("s3cret-enough")
    assert h.startswith("scrypt$") and "s3cret" not in h
    assert verify_password("s3cret-enough", h) and not verify_password("s3cret-enougH", h)
    assert not verify_password("x", "garbage") and hash_password("a") != hash_password("a")


def test_every_page_needs_a_login_and_a_wrong_password_gets_none(store: Store) -> None:
    client = create_app(store).test_client()
    assert client.get("/login").mimetype == "text/html"
    for path in ("/rigs", "/subjects", "/subjects/P00042", "/worklist", "/images/x"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert "Wrong username or password" in login(client, "nope").get_data(as_text=True)
    assert client.get("/rigs").status_code == 302
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/subjects"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/rigs").status_code == 200


def test_login_refuses_a_form_without_its_token_and_an_open_redirect(store: Store) -> None:
    client = create_app(store).test_client()
    resp = client.post("/login", data={"username": "alice", "password": PASSWORD, "token": "x"})
    assert "expired" in resp.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token
    resp = client.post(
        "/login?next=//evil.example/",
        data={"username": "alice", "password": PASSWORD, "token": token.group(1)},
    )
    assert resp.headers["Location"] == "/rigs"


def test_posts_without_the_sessions_csrf_token_are_refused(store: Store) -> None:
    fill(store)
    sent: list[tuple[str, str, dict[str, Any]]] = []
    app = create_app(store, commander=lambda d, n, p: sent.append((d, n, p)) or None)
    client = app.test_client()
    login(client)
    form = {"device_id": "rig-01", "subject": "P00042", "visit": "3m", "sites": "vertex"}
    assert client.post("/worklist", data=form).status_code == 400
    assert client.post("/worklist", data=form | {"csrf_token": "forged"}).status_code == 400
    assert client.post("/logout").status_code == 400
    assert sent == []
    token = csrf(client.get("/worklist").get_data(as_text=True))
    assert client.post("/worklist", data=form | {"csrf_token": token}).status_code == 200
    assert sent == [
        ("rig-01", "worklist", {"subject": "P00042", "visit": "3m", "sites": ["vertex"]})
    ]


def test_subject_page_shows_what_the_rig_published_and_the_noise(store: Store) -> None:
    fill(store)
    client = create_app(store).test_client()
    login(client)
    html = client.get("/subjects/P00042").get_data(as_text=True)
    for site in SITES:
        table = html.split(f'data-site="{site}"')[1].split("</table>")[0]
        for visit in VISITS:
            row = table.split(f'data-visit="{visit}"')[1].split("</tr>")[0]
            cell = row.split('data-metric="density_per_cm2">')[1].split("<")[0]
            assert float(cell) == pytest.approx(density(site, visit), abs=0.05)
        assert "within measurement noise" in table  # 3m: +5 % < MDC 8.3 %
        assert "increase" in table and "decrease" in table
    assert "<svg" in html and "dermocap qa repeatability" in html and "8.3" in html
    report = client.get("/subjects/P00042/report").get_data(as_text=True)
    assert "@media print" in report and report.count("<svg") == 9


def test_without_a_published_repeatability_no_effect_is_claimed(store: Store) -> None:
    store.add_durable("rig-02", "results", result("S-0001", "vertex", "baseline"))
    store.add_durable("rig-02", "results", result("S-0001", "vertex", "6m"))
    client = create_app(store).test_client()
    login(client)
    html = client.get("/subjects/S-0001").get_data(as_text=True)
    assert "has not published its repeatability" in html and "no noise figure" in html
    assert "increase" not in html


def test_review_flags_and_provenance_shown(store: Store) -> None:
    store.add_durable("rig-01", "results", result("P00042", "vertex", "baseline"))
    store.add_durable("rig-01", "results", result("P00042", "vertex", "3m"))
    client = create_app(store).test_client()
    login(client)
    html = client.get("/subjects/P00042").get_data(as_text=True)
    assert "hairnet 1.0" in html and "abababababab" in html and 'class="flag"' not in html
    assert "None" not in html  # provenance a rig did not send is not shown as "runtime None"
    # Results that carry the review fields and more provenance (newer rigs) show them.
    with sqlite3.connect(store.path) as con:
        con.execute(
            "UPDATE results SET review = 1, payload = json_set(payload, '$.review', json('true'), "
            "'$.review_reasons', json('[\"model and classical count disagree\"]'), "
            "'$.model.onnxruntime', '1.20.1') WHERE visit = '3m'"
        )
    html = client.get("/subjects/P00042").get_data(as_text=True)
    assert html.count('class="flag"') == 1 and "model and classical count disagree" in html
    assert "onnxruntime 1.20.1" in html
    side = client.get("/subjects/P00042/sites/vertex").get_data(as_text=True)
    assert side.count('class="flag"') == 1
    assert "<td>1</td>" in client.get("/subjects").get_data(as_text=True)


def test_a_review_reason_shows_what_to_do_by_its_kind(store: Store) -> None:
    """A result naming its reasons' kinds shows each kind's name and what to do before the
    words; a kind this dashboard does not know (a newer rig) shows the words alone."""
    mat = "long hair lies over 72 % of the frame (over 60 %) and hides the openings"
    store.add_durable("rig-01", "results", result("P00042", "vertex", "baseline"))
    store.add_durable(
        "rig-01",
        "results",
        result(
            "P00042",
            "vertex",
            "3m",
            review=True,
            review_reasons=[mat, "<b>a reason of a newer rig</b>"],
            review_kinds=["hair_mat", "glare_on_scale"],
        ),
    )
    client = create_app(store).test_client()
    login(client)
    for page in ("/subjects/P00042", "/subjects/P00042/sites/vertex"):
        html = client.get(page).get_data(as_text=True)
        assert html.count('class="flag"') == 1
        assert "<b>hair mat</b>: clip the site to about 1 mm and capture it again" in html
        assert f'<span class="muted">({mat})</span>' in html
        newer = html.split('data-kind="glare_on_scale">')[1].split("</span>")[0]
        assert newer == "&lt;b&gt;a reason of a newer rig&lt;/b&gt;"  # words alone, escaped
    # a payload whose kinds do not match its reasons one for one shows the words alone
    assert [i.label for i in review_items({"review_reasons": [mat], "review_kinds": []})] == [None]
    assert [
        i.label for i in review_items({"review_reasons": [mat], "review_kinds": ["hair_mat"]})
    ] == ["hair mat"]
    assert set(REVIEW_ACTIONS) == set(REVIEW_KINDS)  # the dashboard knows every kind a rig gives


def test_side_by_side_with_overlay_toggle_and_image_files(store: Store) -> None:
    msgs = fill(store)
    vertex = [m for m in msgs if m.site == "vertex"]
    for m in vertex:
        add_image(store, "rig-01", m.capture_id, "frame.png", f"png {m.visit}".encode())
        add_image(store, "rig-01", m.capture_id, "overlay.jpg", f"ovl {m.visit}".encode())
    client = create_app(store).test_client()
    login(client)
    html = client.get("/subjects/P00042/sites/vertex").get_data(as_text=True)
    srcs = re.findall(r'<img src="([^"]+)"[^>]*data-name="([^"]+)"', html)
    assert len(srcs) == 4 and {n for _, n in srcs} == {"frame.png"}
    assert [fetch(client, s) for s, _ in srcs] == [f"png {v}".encode() for v in VISITS]
    html = client.get("/subjects/P00042/sites/vertex?overlay=1").get_data(as_text=True)
    srcs = re.findall(r'<img src="([^"]+)"[^>]*data-name="([^"]+)"', html)
    assert {n for _, n in srcs} == {"overlay.jpg"} and "Overlay off" in html
    assert client.get("/subjects/P00042/sites/nowhere").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/images/../dash.sqlite3", "/images/..%2Fdash.sqlite3", "/subjects/..%2F..%2Fetc",
     "/subjects/P00042/sites/..%2F..", "/images/%2Fetc%2Fpasswd"],
)  # fmt: skip
def test_path_injection_finds_nothing(store: Store, path: str) -> None:
    fill(store)
    client = create_app(store).test_client()
    login(client)
    resp = client.get(path)
    assert resp.status_code == 404 and b"SQLite" not in resp.data and b"root:" not in resp.data


def test_every_string_from_a_rig_is_escaped(store: Store) -> None:
    """A rig (or a forger) controls its device id, model name, QC reasons and error text."""
    dev = f"rig{XSS}"
    store.set_status(
        dev, StatusMessage(message_id=str(uuid7()), state="online", software=XSS, model=XSS)
    )
    store.add_durable(
        dev,
        "results",
        result("P00042", "vertex", "baseline", model={"name": XSS},
               qc={"passed": False, "reasons": [XSS]}, calibration_id=XSS, review=True,
               review_reasons=[XSS, XSS], review_kinds=["hair_mat", "zz_newer"]),
    )  # fmt: skip
    store.dead_letter(dev, f"dermocap/v1/{XSS}/results", XSS.encode(), f"bad {XSS}")
    app = create_app(store, commander=lambda d, n, p: ReplyMessage(
        message_id=str(uuid7()), command=n, ok=False, error=XSS))  # fmt: skip
    client = app.test_client()
    login(client)
    pages = ["/rigs", "/subjects", "/subjects/P00042", "/subjects/P00042/report",
             "/subjects/P00042/sites/vertex", "/worklist", "/subjects/%3Cscript%3E"]  # fmt: skip
    token = csrf(client.get("/worklist").get_data(as_text=True))
    posted = client.post(
        "/worklist",
        data={"device_id": dev, "subject": XSS, "visit": "3m", "sites": XSS, "csrf_token": token},
    ).get_data(as_text=True)
    refused = client.post(
        "/worklist",
        data={
            "device_id": dev,
            "subject": "P0001",
            "visit": "3m",
            "sites": "v",
            "csrf_token": token,
        },
    ).get_data(as_text=True)
    assert "The rig refused it" in refused
    for html in [client.get(p).get_data(as_text=True) for p in pages] + [posted, refused]:
        assert "<script>" not in html
    # review reasons, of a known kind and of one this dashboard does not know
    subject = client.get("/subjects/P00042").get_data(as_text=True)
    assert subject.count("&lt;script&gt;") >= 2 and "<b>hair mat</b>" in subject
    assert "&lt;script&gt;" in client.get("/rigs").get_data(as_text=True)
    csp = client.get("/rigs").headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_rigs_page_shows_what_the_rig_published(store: Store) -> None:
    fill(store)
    store.add_durable(
        "rig-01",
        "events",
        EventMessage(message_id=str(uuid7()), seq=999, at=datetime.now(UTC), type="error",
                     detail="stage did not home: check the limit switch"),
    )  # fmt: skip
    client = create_app(store).test_client()
    login(client)
    html = client.get("/rigs").get_data(as_text=True)
    row = html.split('<td class="text">rig-01</td>')[1].split("</tr>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0] == "online" and cells[2] == "12" and cells[3] == "2"  # results, queued
    assert cells[4] == "2.0 h" and cells[5] == "-1.5 %" and cells[6] == "1.5 h ago"
    assert cells[7] == "3.0 %"
    assert cells[8:10] == ["0", "0"]  # seqs lost, seqs refused (dead letters)
    assert "error: stage did not home: check the limit switch" in cells[12]
    assert cells[10] == "0 of 12"  # none flagged for review in the last 30 days


def test_rigs_page_counts_review_kinds_over_recent_results(store: Store) -> None:
    """A kind that recurs at a rig tells the clinic what to change there; a result of a rig
    older than the kinds counts as one whose kind is not named; old results drop out."""
    fill(store)
    mat = {
        "review": True,
        "review_reasons": ["long hair lies over ..."],
        "review_kinds": ["hair_mat"],
    }
    both = {
        "review": True,
        "review_reasons": ["long hair lies over ...", "finds shafts for only 3/cm2"],
        "review_kinds": ["hair_mat", "no_shafts"],
    }
    older = {"review": True, "review_reasons": ["the model reads 2.0x the classical count"]}
    for i, flag in enumerate((mat, both, older, mat)):
        store.add_durable("rig-01", "results", result(f"P0090{i}", "vertex", "baseline", **flag))
    with sqlite3.connect(store.path) as con:  # the last one arrived 31 days ago
        con.execute(
            "UPDATE results SET received_at = received_at - 31 * 86400 WHERE subject = 'P00903'"
        )
    client = create_app(store).test_client()
    login(client)
    html = client.get("/rigs").get_data(as_text=True)
    row = html.split('<td class="text">rig-01</td>')[1].split("</tr>")[0]
    cell = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[10]
    assert (
        cell
        == '3 of 15 <span class="muted">(hair mat 2, kind not named 1, no shafts seen 1)</span>'
    )
    tally = store.review_tally(0.0)["rig-01"]
    assert tally == {"results": 16, "flagged": 4, "kinds": {"hair_mat": 3, "no_shafts": 1, None: 1}}


def test_trend_science() -> None:
    assert sorted(["12m", "x", "baseline", "6m", "3m"], key=visit_key) == [
        "baseline", "3m", "6m", "12m", "x"]  # fmt: skip
    mdc = mdc_fraction(0.03)
    assert mdc == pytest.approx(0.0832, abs=1e-4)
    assert change(105, 100, mdc).verdict == "within measurement noise"  # type: ignore[union-attr]
    assert change(109, 100, mdc).verdict == "increase"  # type: ignore[union-attr]
    assert change(91, 100, mdc).verdict == "decrease"  # type: ignore[union-attr]
    assert change(91, 100, None).verdict == "no noise figure"  # type: ignore[union-attr]
    assert change(None, 100, mdc) is None and change(5, 0, mdc) is None
    assert mdc_fraction(None) is None and mdc_fraction(float("nan")) is None
    assert unescape("&lt;") == "<"


def test_a_change_from_a_flagged_result_is_not_called_an_effect(store: Store) -> None:
    """A visit flagged for review (the model and the classical count disagree, a hair mat,
    ...) shows its change but no verdict of increase or decrease; an unflagged visit of the
    same site is judged as usual, and a flagged baseline withholds every verdict."""
    fill(store)
    flag = {"review": True, "review_reasons": ["the model reads 130 hairs/cm2, 1.50x ..."]}

    def retake(site: str, visit: str) -> None:  # later the same day, flagged
        first = result("P00042", site, visit)
        later = first.captured_at + timedelta(hours=1)
        store.add_durable(
            "rig-01",
            "results",
            result("P00042", site, visit, **flag, captured_at=later.isoformat()),
        )

    retake("frontal", "6m")
    retake("vertex", "baseline")
    client = create_app(store).test_client()
    login(client)
    html = client.get("/subjects/P00042").get_data(as_text=True)

    def cell(site: str, visit: str) -> str:
        table = html.split(f'data-site="{site}"')[1].split("</table>")[0]
        return table.split(f'data-visit="{visit}"')[1].split("</tr>")[0]

    assert FLAGGED in cell("frontal", "6m") and "+20.0 %" in cell("frontal", "6m")
    assert "increase" not in cell("frontal", "6m")
    assert "decrease" in cell("frontal", "12m")  # unflagged: judged
    for visit in ("3m", "6m", "12m"):
        assert FLAGGED in cell("vertex", visit)
    assert "increase" in cell("occipital", "6m")
    # the plots draw the flagged visits hollow: frontal 6m, and vertex's baseline
    frontal = html.split('aria-label="frontal: density"')[1].split("</svg>")[0]
    assert frontal.count("(flagged for review)</title>") == 3  # total, terminal, vellus
    assert "○ flagged for review" in frontal
    occipital = html.split('aria-label="occipital: density"')[1].split("</svg>")[0]
    assert "flagged for review" not in occipital


def test_a_review_flag_is_read_from_the_checked_column_not_the_raw_json(store: Store) -> None:
    """A rig that sends "review": "false" is read as unflagged (as the message model reads
    it), by the subjects list and by the change verdicts alike."""
    fill(store)
    first = result("P00042", "frontal", "6m")
    later = first.captured_at + timedelta(hours=1)
    m = result("P00042", "frontal", "6m", captured_at=later.isoformat())
    raw = json.loads(m.model_dump_json()) | {"review": "false"}
    store.add_durable("rig-01", "results", m, raw=json.dumps(raw))
    (row,) = [r for r in store.subject_results("P00042") if r["capture_id"] == m.capture_id]
    assert row["review"] is False
    assert store.result(m.capture_id)["review"] is False  # type: ignore[index]
    client = create_app(store).test_client()
    login(client)
    html = client.get("/subjects/P00042").get_data(as_text=True)
    assert FLAGGED not in html and "increase" in html
