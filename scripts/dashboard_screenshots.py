"""Take the README's dashboard screenshots from a demo's data with headless chromium.

    dermocap demo --out /tmp/demo --no-serve
    python scripts/dashboard_screenshots.py /tmp/demo/dashboard --out docs/img

Writes ``trend.png`` (one site's visits: table and plots) and ``side_by_side.png`` (that
site's photographs across visits). Needs Debian's chromium and chromium-driver and the
``dev`` extra (Selenium); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from selenium.webdriver.common.by import By

from dashboard.auth import add_user
from dashboard.browser import headless_chromium
from dashboard.config import DashboardConfig
from dashboard.server import DashboardServer


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("data_dir", type=Path, help="the dashboard's data folder (demo: OUT/dashboard)")
    p.add_argument("--out", type=Path, default=Path("docs/img"), help="folder of the PNGs")
    p.add_argument("--subject", default="P00042")
    p.add_argument("--site", default="vertex")
    args = p.parse_args()
    cfg = DashboardConfig(data_dir=str(args.data_dir), port=0)
    password = secrets.token_urlsafe(12)
    args.out.mkdir(parents=True, exist_ok=True)
    with DashboardServer(cfg, environ={}, receive=False) as server:
        assert server.store is not None  # noqa: S101 - start opened it
        add_user(server.store, "screenshots", password)
        driver = headless_chromium(1500, 1100)
        try:
            driver.get(server.url + "login")
            driver.find_element(By.ID, "username").send_keys("screenshots")
            driver.find_element(By.ID, "password").send_keys(password)
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            driver.get(f"{server.url}subjects/{args.subject}")
            driver.find_element(By.ID, f"site-{args.site}").screenshot(str(args.out / "trend.png"))
            driver.get(f"{server.url}subjects/{args.subject}/sites/{args.site}?overlay=1")
            driver.find_element(By.TAG_NAME, "main").screenshot(str(args.out / "side_by_side.png"))
        finally:
            driver.quit()
    print(f"wrote {args.out / 'trend.png'} and {args.out / 'side_by_side.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
