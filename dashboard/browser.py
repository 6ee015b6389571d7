"""A headless Debian chromium driven by Selenium: the browser test and the README screenshots.

Nothing is downloaded: the browser and its driver are Debian's ``chromium`` and
``chromium-driver`` packages (scripts/test.sh installs them); Selenium (the ``dev`` extra)
is pointed at both, so its driver manager never runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _first(paths: tuple[str, ...], name: str) -> str | None:
    for p in paths:
        if Path(p).is_file():
            return p
    return shutil.which(name)


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) of the installed Debian chromium, or None when either is missing."""
    browser = _first(CHROMIUM, "chromium")
    driver = _first(DRIVER, "chromedriver")
    return (browser, driver) if browser and driver else None


def headless_chromium(width: int = 1400, height: int = 1000) -> Chrome:
    """A headless chromium session (close it with ``quit()``).

    Raises:
        FileNotFoundError: chromium or chromium-driver is not installed.
    """
    from selenium.webdriver import Chrome, ChromeOptions
    from selenium.webdriver.chrome.service import Service

    paths = chromium_paths()
    if paths is None:
        raise FileNotFoundError(
            "chromium and chromium-driver are not installed (apt-get install chromium "
            "chromium-driver)"
        )
    opts = ChromeOptions()
    opts.binary_location = paths[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--hide-scrollbars"):  # fmt: skip
        opts.add_argument(arg)
    return Chrome(options=opts, service=Service(executable_path=paths[1]))
