"""The dashboard as staff use it, in a real (headless Debian) chromium driven by Selenium.

A real rig publisher (outbox + MQTT link) sends three sites at two visits, with photographs
and overlays, through a real Mosquitto to ``dermocap dashboard serve`` in its own process.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_fixtures import Broker, make_broker, sample_record
from PIL import Image

from dashboard.browser import chromium_paths, headless_chromium
from dermocap.ids import uuid7
from sync import MqttLink, Outbox, SyncConfig
from sync.broker import free_port

if chromium_paths() is None:
    pytest.skip(
        "chromium and chromium-driver are not installed; scripts/test.sh installs them",
        allow_module_level=True,
    )

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

DEVICE = "rig-07"
SUBJECT = "P00042"
SITES = ("frontal", "vertex", "occipital")
DENSITY = {("frontal", "baseline"): 141.3, ("vertex", "baseline"): 112.6,
           ("occipital", "baseline"): 208.9, ("frontal", "3m"): 160.2,
           ("vertex", "3m"): 133.8, ("occipital", "3m"): 209.4}  # fmt: skip
PASSWORD = "browser-test-pass"  # noqa: S105 - a test account
ROOT = Path(__file__).resolve().parents[1]
# one result flagged: its reason names its kind, which the page turns into what to do
MAT = "long hair lies over 71 % of the frame (over 60 %) and hides the openings under it"
FLAGGED = {
    ("occipital", "3m"): {"review": True, "review_reasons": [MAT], "review_kinds": ["hair_mat"]}
}


def _png(path: Path, colour: tuple[int, int, int]) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


def _result(site: str, visit: str) -> dict[str, Any]:
    d = DENSITY[(site, visit)]
    return {
        "subject": SUBJECT, "site": site, "visit": visit,
        "captured_at": f"2025-{1 if visit == 'baseline' else 4:02d}-02T10:00:00+00:00",
        "metrics": {"density_per_cm2": d, "hair_count": int(d),
                    "terminal_density_per_cm2": round(d * 0.7, 1),
                    "vellus_density_per_cm2": round(d * 0.3, 1), "mean_diameter_um": 61.0,
                    "cumulative_thickness_mm_per_cm2": round(d * 0.061, 2)},
        "qc": {"passed": True}, "um_per_px": 3.2,
        "model": {"name": "hairnet", "version": "1.0", "sha256": "0" * 64},
        **FLAGGED.get((site, visit), {}),
    }  # fmt: skip


@pytest.fixture(name="rig_and_dashboard")
def rig_and_dashboard_fixture(tmp_path: Path) -> Iterator[tuple[str, MqttLink]]:
    broker: Broker = make_broker(tmp_path / "broker")
    data = tmp_path / "dash"
    port = free_port()
    cmd = [sys.executable, "-m", "device.cli"]
    subprocess.run(
        [*cmd, "dashboard", "add-user", "nurse", "--data-dir", str(data)],
        input=PASSWORD + "\n", text=True, check=True, cwd=ROOT, capture_output=True,
    )  # fmt: skip
    proc = subprocess.Popen(
        [*cmd, "dashboard", "serve", "--data-dir", str(data), "--port", str(port),
         "--broker", f"{broker.host}:{broker.port}"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    ob = Outbox(tmp_path / "outbox.db")
    link = MqttLink(
        SyncConfig(host=broker.host, port=broker.port, telemetry_interval_s=1), DEVICE, ob
    )
    link.on_command("worklist", lambda c: {"next_site": c.sites[0], "sites": list(c.sites)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("dashboard: http://127.0.0.1:"), line
        for i, (site, visit) in enumerate(DENSITY):
            cid = str(uuid7())
            photo = _png(tmp_path / f"{cid}.png", (40 * i, 90, 120))
            ob.add_capture(cid, sample_record(i), _result(site, visit), image=(photo, 4096))
            overlay = _png(tmp_path / f"{cid}-overlay.png", (250, 20, 20))
            ob.add_image(cid, overlay, 4096)
        link.start()
        deadline = time.monotonic() + 30
        while not link.drained() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", link
    finally:
        link.close()
        ob.close()
        proc.terminate()
        assert proc.wait(20) == 0  # SIGTERM: a clean stop
        if proc.stdout is not None:
            proc.stdout.close()
        broker.close()


def test_staff_log_in_read_a_subject_compare_images_and_send_a_worklist(
    rig_and_dashboard: tuple[str, MqttLink],
) -> None:
    url, _ = rig_and_dashboard
    driver = headless_chromium()
    wait = WebDriverWait(driver, 30)
    try:
        driver.get(url + "/subjects")
        assert "/login" in driver.current_url
        driver.find_element(By.ID, "username").send_keys("nurse")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        wait.until(lambda d: "/subjects" in d.current_url and "/login" not in d.current_url)

        # The receiver may still be storing: reload until all six results are in.
        def six_results(d: Any) -> bool:
            d.refresh()
            cells = d.find_elements(By.CSS_SELECTOR, "#subjects td:nth-child(2)")
            return bool(cells) and cells[0].text == "6"

        wait.until(six_results)
        driver.find_element(By.LINK_TEXT, SUBJECT).click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.trend"))
        for site in SITES:
            for visit in ("baseline", "3m"):
                cell = driver.find_element(
                    By.CSS_SELECTOR,
                    f'table[data-site="{site}"] tr[data-visit="{visit}"] '
                    'td[data-metric="density_per_cm2"]',
                )
                assert float(cell.text) == DENSITY[(site, visit)]
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.plot")) == 9
        # the flagged result's reason, sent over MQTT with its kind, reads as what to do
        (reason,) = driver.find_elements(By.CSS_SELECTOR, 'span.reason[data-kind="hair_mat"]')
        assert reason.text == f"hair mat: clip the site to about 1 mm and capture it again ({MAT})"
        row = 'table[data-site="occipital"] tr[data-visit="3m"]'
        assert reason in driver.find_elements(By.CSS_SELECTOR, f"{row} span.reason")

        driver.find_element(By.CSS_SELECTOR, "#site-vertex a").click()
        imgs = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#side-by-side img"))
        assert len(imgs) == 2
        loaded = "return arguments[0].complete && arguments[0].naturalWidth === 64"
        assert all(driver.execute_script(loaded, i) for i in imgs)
        assert {i.get_attribute("data-name") for i in imgs} == {
            n for n in (i.get_attribute("data-name") for i in imgs) if "-overlay" not in (n or "")
        }
        driver.find_element(By.ID, "overlay-toggle").click()
        wait.until(lambda d: "overlay=1" in d.current_url)
        imgs = driver.find_elements(By.CSS_SELECTOR, "#side-by-side img")
        assert len(imgs) == 2 and all(
            "-overlay" in (i.get_attribute("data-name") or "") for i in imgs
        )
        assert all(driver.execute_script(loaded, i) for i in imgs)

        driver.find_element(By.LINK_TEXT, "Worklist").click()
        Select(driver.find_element(By.ID, "device_id")).select_by_value(DEVICE)
        driver.find_element(By.ID, "subject").send_keys(SUBJECT)
        visit = driver.find_element(By.ID, "visit")
        visit.clear()
        visit.send_keys("6m")
        sites = driver.find_element(By.ID, "sites")
        sites.clear()
        sites.send_keys("vertex frontal")
        driver.find_element(By.CSS_SELECTOR, "#worklist button").click()
        reply = wait.until(lambda d: d.find_element(By.ID, "worklist-reply"))
        assert "The rig accepted it: next site vertex" in reply.text
        assert f"Sent to {DEVICE}: {SUBJECT}, 6m, vertex, frontal" in reply.text
    finally:
        driver.quit()
