"""The science of the pages: visits in order, change against baseline, measurement noise.

Pure functions on result payloads (dicts as the rig sent them), tested on their own.

The minimal detectable change (MDC95) of a metric measured twice with a coefficient of
variation ``cv`` (from the rig's ``dermocap qa repeatability``) is ``1.96 * sqrt(2) * cv``:
a change smaller than that is within measurement noise at 95 % confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

VISIT_ORDER = ("baseline", "3m", "6m", "12m")

# (key in Metrics, label, unit)
METRICS: tuple[tuple[str, str, str], ...] = (
    ("density_per_cm2", "Density", "/cm²"),
    ("terminal_density_per_cm2", "Terminal density", "/cm²"),
    ("vellus_density_per_cm2", "Vellus density", "/cm²"),
    ("mean_diameter_um", "Mean diameter", "µm"),
    ("cumulative_thickness_mm_per_cm2", "Cumulative thickness", "mm/cm²"),
)
MDC_FACTOR = 1.96 * math.sqrt(2.0)
# The verdict of a change where either visit's result is flagged for review: a number a
# person has not yet looked at makes no treatment effect, however large the change.
FLAGGED = "a visit is flagged for review: not called an effect"


def visit_key(visit: str) -> tuple[int, str]:
    """Sort key: baseline, 3m, 6m, 12m, then other labels alphabetically."""
    return (VISIT_ORDER.index(visit), "") if visit in VISIT_ORDER else (len(VISIT_ORDER), visit)


def mdc_fraction(density_cv: float | None) -> float | None:
    """Minimal detectable change, as a fraction of the value, from a repeatability CV."""
    if density_cv is None or not math.isfinite(density_cv) or density_cv < 0:
        return None
    return MDC_FACTOR * density_cv


@dataclass(frozen=True)
class Change:
    """A visit's value against the baseline's."""

    fraction: float  # (value - baseline) / baseline
    # "within measurement noise", "increase", "decrease", "no noise figure", or FLAGGED
    verdict: str


def change(value: float | None, baseline: float | None, mdc: float | None) -> Change | None:
    """The change of ``value`` against ``baseline``; None when either is missing or zero."""
    if value is None or baseline is None or baseline <= 0:
        return None
    frac = (value - baseline) / baseline
    if mdc is None:
        return Change(frac, "no noise figure")
    if abs(frac) <= mdc:
        return Change(frac, "within measurement noise")
    return Change(frac, "increase" if frac > 0 else "decrease")


@dataclass
class SiteTrend:
    """One site of a subject: the latest result of each visit, in visit order."""

    site: str
    visits: list[str]
    results: dict[str, dict[str, Any]]  # visit -> result payload
    retakes: dict[str, int]  # visit -> number of results (more than 1: retaken)

    def value(self, visit: str, key: str) -> float | None:
        """A metric of a visit (None when absent)."""
        raw = self.results.get(visit, {}).get("metrics", {}).get(key)
        return None if raw is None else float(raw)

    def change(self, visit: str, key: str, mdc: float | None) -> Change | None:
        """The change of ``key`` at ``visit`` against the baseline visit; its verdict is
        :data:`FLAGGED` where either result is flagged for review."""
        if visit == "baseline" or "baseline" not in self.results:
            return None
        c = change(self.value(visit, key), self.value("baseline", key), mdc)
        if c is not None and any(self.results[v].get("review") for v in (visit, "baseline")):
            return Change(c.fraction, FLAGGED)
        return c


def site_trends(results: list[dict[str, Any]]) -> list[SiteTrend]:
    """Group a subject's results by site; per visit keep the latest capture."""
    by_site: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in results:
        by_site.setdefault(str(r["site"]), {}).setdefault(str(r["visit"]), []).append(r)
    out = []
    for site in sorted(by_site):
        visits = sorted(by_site[site], key=visit_key)
        chosen = {
            v: max(rs, key=lambda r: str(r["captured_at"])) for v, rs in by_site[site].items()
        }
        out.append(SiteTrend(site, visits, chosen, {v: len(rs) for v, rs in by_site[site].items()}))
    return out
