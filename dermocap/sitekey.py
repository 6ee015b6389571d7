"""The one rule for subject, site and visit ids: :class:`SiteKey`, used by worklists, MQTT, capture.

A *subject* is a pseudonym: up to 8 letters, an optional ``-`` or ``_``, then at least three
digits, which may be grouped by single ``-`` or ``_`` (``P00123``, ``S-0042``,
``clinic7_0001``, ``12345``). Nothing but digits and separators may follow the first digit,
so a name with a number in it (``Maria_1_Garcia``) is refused. A *site* is a lower-case label
starting with a letter (``frontal``, ``vertex``, ``occipital``, ``adhoc-2``); a *visit* a
lower-case label (``baseline``, ``3m``). Every id is also safe as a folder name.

A clinic may narrow the subject rule with ``capture.subject_pattern`` (:class:`SiteRule`): an id
must then match both, so the clinic pattern can never admit what this rule refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from dermocap.errors import SiteKeyError

SUBJECT_PATTERN = r"^[A-Za-z]{0,8}[-_]?[0-9](?:[-_]?[0-9]){2,30}$"
SITE_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
VISIT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
SUBJECT_MAX_CHARS = 32

Subject = Annotated[
    str,
    Field(
        pattern=SUBJECT_PATTERN,
        max_length=SUBJECT_MAX_CHARS,
        description="Pseudonymous subject id: up to 8 letters, then digits (P00123); no names",
    ),
]
Site = Annotated[
    str,
    Field(pattern=SITE_PATTERN, description="Scalp site: frontal, vertex, occipital or a label"),
]
Visit = Annotated[
    str,
    Field(pattern=VISIT_PATTERN, description="Visit: baseline, 3m, 6m, 12m or a free label"),
]

_SUBJECT = re.compile(SUBJECT_PATTERN)
_SITE = re.compile(SITE_PATTERN)
_VISIT = re.compile(VISIT_PATTERN)

# Name-like ids the rule refuses; a clinic pattern that admits one of them is refused at load,
# so a too-wide pattern is reported instead of silently narrowed to the rule.
NAME_PROBES = (
    "Maria_1_Garcia",
    "John Smith",
    "JohnSmith",
    "anna",
    "Marie-Claire",
    "Garcia-042-Maria",
    "P0042 ",
    "",
    "../P00123",
)


def check_subject(subject: str, clinic: re.Pattern[str] | None = None) -> str:
    """Return ``subject`` if it is a pseudonym (and matches the clinic's pattern, if any).

    Raises:
        SiteKeyError: a name or an unsafe label, with what to enter instead.
    """
    if not (len(subject) <= SUBJECT_MAX_CHARS and _SUBJECT.fullmatch(subject)):
        # The refused value is not repeated: it may be a name, and the message goes to a
        # command reply (published) and to the journal.
        raise SiteKeyError(
            "the subject is not a pseudonymous id (up to 8 letters, then digits, e.g. P00123 "
            "or S-0042); never enter a name"
        )
    if clinic is not None and not clinic.fullmatch(subject):
        raise SiteKeyError(
            f"the subject does not match this clinic's pseudonym pattern {clinic.pattern!r} "
            "(capture.subject_pattern)"
        )
    return subject


def _check_label(kind: str, value: str, pattern: re.Pattern[str], examples: str) -> str:
    if not pattern.fullmatch(value):
        first = "starts with a letter; " if kind == "site" else ""
        raise SiteKeyError(
            f"{kind} {value!r}: use {examples} or a short lower-case label "
            f"(letters, digits, '-', '_'; {first}at most 32)"
        )
    return value


def check_site(site: str) -> str:
    """Return ``site`` if it is a site label. Raises SiteKeyError."""
    return _check_label("site", site, _SITE, "frontal, vertex, occipital")


def check_visit(visit: str) -> str:
    """Return ``visit`` if it is a visit label. Raises SiteKeyError."""
    return _check_label("visit", visit, _VISIT, "baseline, 3m, 6m, 12m")


def compile_subject_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a clinic's subject pattern (matched against the whole id).

    Raises:
        ValueError: the pattern does not compile, or admits a name-like id the rule refuses.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from None
    admitted = [p for p in NAME_PROBES if compiled.fullmatch(p)]
    if admitted:
        raise ValueError(
            f"admits {admitted[0]!r}, which is not a pseudonym; narrow it (e.g. "
            r"'^P[0-9]{5}$'): it may only narrow the built-in subject rule"
        )
    return compiled


@dataclass(frozen=True)
class SiteKey:
    """One site of one subject at one visit; valid by construction (raises SiteKeyError)."""

    subject: str
    site: str
    visit: str

    def __post_init__(self) -> None:
        check_subject(self.subject)
        check_site(self.site)
        check_visit(self.visit)


class SiteRule:
    """The rule with a clinic's optional narrower subject pattern (``capture.subject_pattern``).

    Raises:
        ValueError: from the constructor, when the pattern is unusable (see
            :func:`compile_subject_pattern`); config validation reports it first.
    """

    def __init__(self, subject_pattern: str | None = None) -> None:
        self._clinic = None if subject_pattern is None else compile_subject_pattern(subject_pattern)

    def check_subject(self, subject: str) -> str:
        """Return ``subject`` if both the rule and the clinic's pattern admit it."""
        return check_subject(subject, self._clinic)

    def key(self, subject: str, site: str, visit: str) -> SiteKey:
        """The validated key. Raises SiteKeyError naming the id and what to enter."""
        self.check_subject(subject)
        return SiteKey(subject, site, visit)
