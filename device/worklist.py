"""The technician's worklist: one subject, one visit, ordered sites; ad-hoc captures without one."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dermocap.errors import ConfigError

SUBJECT_RE = re.compile(r"^[A-Za-z]{0,8}[-_]?[0-9][A-Za-z0-9_-]{1,31}$")
SITE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
VISIT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class WorkItem:
    """One site to capture."""

    subject: str
    visit: str
    site: str
    adhoc: bool = False


def check_ids(subject: str, visit: str, sites: list[str]) -> None:
    """Refuse names and odd labels: subjects are pseudonyms (P00123), sites and visits labels."""
    if not SUBJECT_RE.match(subject):
        raise ConfigError(
            f"subject {subject!r} is not a pseudonymous id (letters then digits, e.g. P00123); "
            "never enter a name"
        )
    if not VISIT_RE.match(visit):
        raise ConfigError(f"visit {visit!r}: use baseline, 3m, 6m, 12m or a short label")
    if not sites:
        raise ConfigError("a worklist needs at least one site")
    for s in sites:
        if not SITE_RE.match(s):
            raise ConfigError(f"site {s!r}: use frontal, vertex, occipital or a short label")


class Worklist:
    """Ordered sites for one subject and visit; thread-safe. A hold steps back one site."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.subject = "S0000"
        self.visit = "adhoc"
        self._sites: list[str] = []
        self._index = 0
        self._adhoc_counter = 0

    def load(self, subject: str, visit: str, sites: list[str]) -> None:
        check_ids(subject, visit, sites)
        with self._lock:
            self.subject, self.visit, self._sites, self._index = subject, visit, list(sites), 0

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
                return WorkItem(self.subject, self.visit, self._sites[self._index])
            return WorkItem(self.subject, self.visit, f"adhoc-{self._adhoc_counter + 1}", True)

    def advance(self, item: WorkItem) -> None:
        with self._lock:
            if item.adhoc:
                self._adhoc_counter += 1
            elif self._index < len(self._sites) and self._sites[self._index] == item.site:
                self._index += 1

    def step_back(self) -> WorkItem | None:
        """Retake: the next press captures the previous site again."""
        with self._lock:
            if self._index == 0:
                return None
            self._index -= 1
            return WorkItem(self.subject, self.visit, self._sites[self._index])

    @property
    def remaining(self) -> list[str]:
        with self._lock:
            return self._sites[self._index :]
