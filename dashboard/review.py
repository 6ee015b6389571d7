"""What a clinic does about each kind of review reason a result carries.

A rig's result names one kind per reason (``review_kinds``, the codes of
``inference.second_opinion.REVIEW_KINDS``); the pages put the kind's short name and what to
do before the reason's own words. A result from a rig older than the kinds, or of a kind
newer than this dashboard, shows the words alone.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class ReviewAction(NamedTuple):
    label: str
    action: str


# docs/dashboard.md, "Review reasons", gives the same table to read.
REVIEW_ACTIONS = {
    "hair_mat": ReviewAction("hair mat", "clip the site to about 1 mm and capture it again"),
    "density_implausible": ReviewAction(
        "more than a scalp holds", "look at the image, clean the site and capture it again"
    ),
    "diameter_implausible": ReviewAction(
        "implausible diameter", "check focus and contrast and capture it again"
    ),
    "net_above_classical": ReviewAction(
        "counts disagree (model higher)",
        "look at the image with the overlay on: skin texture, flakes or cut tips counted",
    ),
    "net_below_classical": ReviewAction(
        "counts disagree (model lower)",
        "look at the image with the overlay on: faint or missed hairs",
    ),
    "no_shafts": ReviewAction(
        "no shafts seen",
        "look for marks on bare skin (dots, flakes) and for blond, grey or white hair",
    ),
}


class ReviewItem(NamedTuple):
    """One reason as a page shows it: its kind (None where the result names none), the
    kind's name and action (None where this dashboard does not know the kind)."""

    kind: str | None
    label: str | None
    action: str | None
    text: str


def review_items(result: dict[str, Any]) -> list[ReviewItem]:
    """The reasons of a stored result (its payload), each with what to do where its kind is
    known. Kinds are used only when there is one per reason (a validated result's)."""
    texts = [str(t) for t in result.get("review_reasons") or []]
    given = result.get("review_kinds") or []
    kinds = [str(k) for k in given] if len(given) == len(texts) else [None] * len(texts)
    items = []
    for kind, text in zip(kinds, texts, strict=True):
        known = REVIEW_ACTIONS.get(kind) if kind is not None else None
        items.append(
            ReviewItem(kind, known.label if known else None, known.action if known else None, text)
        )
    return items


def kind_tally(kinds: dict[str | None, int]) -> str:
    """``{"hair_mat": 2, None: 1}`` as "hair mat 2, kind not named 1" (most often first)."""

    def name(kind: str | None) -> str:
        if kind is None:
            return "kind not named"
        known = REVIEW_ACTIONS.get(kind)
        return known.label if known else kind

    ordered = sorted(kinds.items(), key=lambda kv: (-kv[1], name(kv[0])))
    return ", ".join(f"{name(k)} {n}" for k, n in ordered)
