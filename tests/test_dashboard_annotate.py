"""The annotation page (clicks without script, the fine-tuning export) and schema upgrades."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_fixtures import PASSWORD, add_image, fill, new_store
from flask.testing import FlaskClient
from PIL import Image

from dashboard.schema import MIGRATIONS, SCHEMA_VERSION
from dashboard.store import Store
from dashboard.web import create_app


@pytest.fixture(name="client")
def client_fixture(tmp_path: Path) -> Iterator[tuple[FlaskClient, Store, str]]:
    with new_store(tmp_path) as store:
        msgs = fill(store)
        buf = io.BytesIO()
        Image.new("RGB", (80, 60), (120, 90, 70)).save(buf, format="PNG")
        cid = msgs[0].capture_id
        add_image(store, "rig-01", cid, "frame.png", buf.getvalue())
        add_image(store, "rig-01", cid, f"{cid}-overlay.jpg", b"not annotated")
        image_id = next(
            i["image_id"] for i in store.images_of([cid])[cid] if i["name"] == "frame.png"
        )
        client = create_app(store).test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token
        client.post("/login", data={"username": "alice", "password": PASSWORD, "token": token[1]})
        yield client, store, image_id


def _csrf(client: FlaskClient, path: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert m
    return m[1]


def test_clicks_become_points_and_export_in_the_fine_tuning_format(
    client: tuple[FlaskClient, Store, str],
) -> None:
    c, store, image_id = client
    page = f"/annotate/{image_id}"
    html = c.get(page).get_data(as_text=True)
    assert 'type="image" name="point"' in html and "<script" not in html
    token = _csrf(c, page)
    for x, y, d in ((10, 20, 55), (79, 59, 30)):
        resp = c.post(
            page, data={"point.x": x, "point.y": y, "diameter_um": d, "csrf_token": token}
        )
        assert resp.status_code == 302
    for bad in ({"point.x": 80, "point.y": 5, "diameter_um": 50},  # outside the 80 x 60 image
                {"point.x": 5, "point.y": 5, "diameter_um": 900},
                {"diameter_um": 50}):  # fmt: skip
        resp = c.post(page, data=bad | {"csrf_token": token})
        assert resp.status_code == 200 and 'id="annotate-error"' in resp.get_data(as_text=True)
    assert c.post(page, data={"point.x": 1, "point.y": 1, "diameter_um": 50}).status_code == 400
    hairs = [{"x_px": 10.0, "y_px": 20.0, "diameter_um": 55.0},
             {"x_px": 79.0, "y_px": 59.0, "diameter_um": 30.0}]  # fmt: skip
    want = {"um_per_px": 3.2, "hairs": hairs}
    assert json.loads(c.get(f"{page}.json").data) == want
    assert c.post(f"{page}/undo", data={"csrf_token": token}).status_code == 302
    assert json.loads(c.get(f"{page}.json").data)["hairs"] == want["hairs"][:1]
    with c.get("/annotations.zip") as resp:
        z = zipfile.ZipFile(io.BytesIO(resp.data))
    row = store.image(image_id)
    assert row is not None
    assert sorted(z.namelist()) == [f"{row['capture_id']}.json", f"{row['capture_id']}.png"]
    ann = json.loads(z.read(f"{row['capture_id']}.json"))
    assert ann == {"um_per_px": 3.2, "hairs": want["hairs"][:1]}
    assert Image.open(io.BytesIO(z.read(f"{row['capture_id']}.png"))).size == (80, 60)


def test_overlays_and_unknown_images_are_not_annotated(
    client: tuple[FlaskClient, Store, str],
) -> None:
    c, store, image_id = client
    row = store.image(image_id)
    assert row is not None
    overlay = next(i for i in store.images_of([row["capture_id"]])[row["capture_id"]]
                   if Store.is_overlay(i["name"]))  # fmt: skip
    assert c.get(f"/annotate/{overlay['image_id']}").status_code == 404
    assert c.get("/annotate/nope").status_code == 404


def test_a_version_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as con:
        con.executescript(MIGRATIONS[1] + "PRAGMA user_version=1;")
        con.execute("INSERT INTO users VALUES ('bob', 'x', 0)")
    with Store(db, tmp_path / "images") as store:
        assert store.password_hash("bob") == "x" and store.annotated_images() == []
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(OSError, match="newer than this dashboard"):
        Store(db, tmp_path / "images")
