"""The technician's worklist: one subject, one visit, ordered sites; ad-hoc captures without one."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dermocap.errors import ConfigError, SiteKeyError
from dermocap.sitekey import SiteRule


@dataclass(frozen=True)
class WorkItem:
    """One site to capture; ``generation`` tells which loaded list it came from."""

    subject: str
    visit: str
    site: str
    adhoc: bool = False
    generation: int = 0


class Worklist:
    """Ordered sites for one subject and visit; thread-safe. A hold steps back one site.

    Args:
        rule: the site rule ids must pass (with the clinic's subject pattern, if any).
    """

    def __init__(self, rule: SiteRule | None = None) -> None:
        self.rule = rule or SiteRule()
        self._lock = threading.Lock()
        self.subject = "S0000"
        self.visit = "adhoc"
        self._sites: list[str] = []
        self._index = 0
        self._adhoc_counter = 0
        self._last_adhoc = False  # the last site captured of this list was an ad-hoc one
        self._generation = 0  # counts loads: an item of an older list never moves this one

    def load(self, subject: str, visit: str, sites: list[str]) -> None:
        """Replace the list.

        Raises:
            SiteKeyError: a name or a bad label (nothing changes), with what to enter.
        """
        if not sites:
            raise SiteKeyError("a worklist needs at least one site")
        for site in sites:
            self.rule.key(subject, site, visit)
        with self._lock:
            self.subject, self.visit, self._sites, self._index = subject, visit, list(sites), 0
            self._last_adhoc = False
            self._generation += 1

    def load_file(self, path: Path) -> None:
        """Read ``{"subject": ..., "visit": ..., "sites": [...]}`` from a JSON file."""
        try:
            data: Any = json.loads(Path(path).read_text())
            self.load(str(data["subject"]), str(data["visit"]), [str(s) for s in data["sites"]])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"worklist file {path} unusable ({exc}): expected JSON with subject, visit, sites"
            ) from None

    def current(self) -> WorkItem:
        """The item the next press captures (an ad-hoc site when the list is done or empty)."""
        with self._lock:
            if self._index < len(self._sites):
                site = self._sites[self._index]
                return WorkItem(self.subject, self.visit, site, generation=self._generation)
            return self._adhoc_item()

    def advance(self, item: WorkItem) -> None:
        """``item`` was captured: move past it, if it is still the list's current site.

        A list loaded while ``item`` was being captured is left at its first site (the
        capture belonged to the list before it, even when a site of the same name leads both).
        """
        with self._lock:
            if item.generation != self._generation:
                return
            if item.adhoc:
                self._adhoc_counter += 1
                self._last_adhoc = True
            elif self._index < len(self._sites) and self._sites[self._index] == item.site:
                self._index += 1
                self._last_adhoc = False

    def step_back(self) -> WorkItem | None:
        """Retake: the next press captures the previous site again (the last ad-hoc site,
        when that was the last one captured)."""
        with self._lock:
            if self._last_adhoc:
                self._last_adhoc = False
                self._adhoc_counter -= 1
                return self._adhoc_item()
            if self._index == 0:
                return None
            self._index -= 1
            site = self._sites[self._index]
            return WorkItem(self.subject, self.visit, site, generation=self._generation)

    def _adhoc_item(self) -> WorkItem:
        """The next ad-hoc site (the caller holds the lock)."""
        site = f"adhoc-{self._adhoc_counter + 1}"
        return WorkItem(self.subject, self.visit, site, True, generation=self._generation)

    @property
    def generation(self) -> int:
        """How many lists were loaded: an item of an older one (``WorkItem.generation``) is
        no longer this list's."""
        with self._lock:
            return self._generation

    @property
    def remaining(self) -> list[str]:
        with self._lock:
            return self._sites[self._index :]
