"""Which cut tips a hair model reads as hairs (``scripts/study_tips.py``).

The bench's figure "cut tips detected as hairs" (:func:`sim.heldout.metrics.cut_tip_readers`,
the rule :func:`sim.heldout.metrics.score` counts by) split by what the truth says of each tip
- its cut style, kind, diameter, the length of its shaft (where the truth names the hair:
``id`` on the tip and on the hair), the luma contrast of its shaft against the skin (where
the tip gives its ``direction_deg``) - and by its image's factors (hair length, colour, skin
tone, scale, light, the generator's blur where its params hold ``blur_px``). For the tips read,
where the reading detection sits along the shaft (past the listed end, within a diameter of
it, or further back on the shaft) and whether the hair's own root is read too. Last, the
median luma profile along the axis across cut ends (per style) and across roots: what sets a
generator's ends apart from its roots, or not. Rates carry a binomial SE over tips and an SE
over images (tips of one image are not independent; that SE is the one to read for the
image's own factors).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import map_coordinates

from inference import HairModel
from sim.generality.bench import VARIANTS, build_all
from sim.generality.cases import (
    Case,
    add_generators_option,
    chosen_generators,
    independent_cases,
    labels,
    load,
)
from sim.heldout.metrics import MATCH_RADIUS_UM, cut_tip_readers, score

STYLE_KEYS = ("cut_style", "end", "style")  # what the generators call a tip's cut
IMAGE_FACTORS = ("hair_length", "hair_colour", "skin_tone", "scale", "light")
SKIN_UM, SHAFT_UM = 100.0, 150.0  # the contrast's skin sample past the end, shaft one behind it
PROFILE_UM = (-60.0, -40.0, -20.0, 0.0, 20.0, 40.0)  # < 0: past the end (behind a root)
ROOT_MIN_UM = 300.0  # roots profiled: of shafts at least this long
T = TypeVar("T")


class Outcome(Protocol):
    """One truth item a model reads or not (a cut tip here, a root in :mod:`.roots`): its
    image, whether it was read (found), and its factors (factor -> value)."""

    @property
    def image(self) -> str: ...
    @property
    def read(self) -> bool: ...
    @property
    def factors(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class TipRead:
    """One cut tip: its image, whether the model reads it as a hair, its factors (factor ->
    value; a factor the truth cannot give is absent) and, when read, where (``place``)."""

    image: str
    read: bool
    factors: dict[str, str]
    place: dict[str, str] = field(default_factory=dict)


@dataclass
class Study:
    """A generator's tips, its bench figure (sum of ``score(...).tips_hit``) and profiles."""

    generator: str
    tips: list[TipRead] = field(default_factory=list)
    bench_tips: int = 0
    bench_hits: int = 0
    profiles: dict[str, list[NDArray[np.float64]]] = field(default_factory=dict)


def _bin(x: float, edges: tuple[float, ...]) -> str:
    """``x``'s bin among ``edges``: "<a", "a-b", ..., ">=z"."""
    if x < edges[0]:
        return f"<{edges[0]:g}"
    for lo, hi in itertools.pairwise(edges):
        if x < hi:
            return f"{lo:g}-{hi:g}"
    return f">={edges[-1]:g}"


def _luma(img: NDArray[np.uint8]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = (img.astype(np.float64) @ [0.299, 0.587, 0.114]) / 255.0
    return out


def _along(
    luma: NDArray[np.float64], x: float, y: float, deg: float, t_um: NDArray[np.float64], upp: float
) -> NDArray[np.float64]:
    """Luma at ``t_um`` along direction ``deg`` from (x, y), bilinear, edges clamped."""
    a = math.radians(deg)
    xs, ys = x + t_um / upp * math.cos(a), y + t_um / upp * math.sin(a)
    out: NDArray[np.float64] = map_coordinates(luma, [ys, xs], order=1, mode="nearest")
    return out


def style_of(tip: dict[str, Any]) -> str | None:
    """A tip's cut style as its generator names it (None where its truth does not say)."""
    return next((str(tip[k]) for k in STYLE_KEYS if k in tip), None)


def tip_factors(
    tip: dict[str, Any],
    image: dict[str, str],
    hair: dict[str, Any] | None,
    luma: NDArray[np.float64],
    upp: float,
    blur_px: float | None,
) -> dict[str, str]:
    """A cut tip's factors: its own (style, kind, diameter, shaft length, contrast) and its
    image's (``image``: the bench's labels). ``hair``: the tip's hair, None when the truth
    names it but its root lies outside the frame (a tip without ``id`` gives no length)."""
    out: dict[str, str] = {}
    style = style_of(tip)
    if style is not None:
        out["cut style"] = style
    if "kind" in tip:
        out["kind"] = str(tip["kind"])
        if style is not None:
            out["kind / cut style"] = f"{tip['kind']} / {style}"
    out["tip diameter, um"] = _bin(float(tip["diameter_um"]), (30.0, 55.0, 80.0))
    if "id" in tip:
        length = None if hair is None else hair.get("length_um")
        out["shaft length, um"] = (
            "root outside frame" if length is None else _bin(float(length), (300, 800, 1800))
        )
    if "direction_deg" in tip:
        t = np.array([-SKIN_UM, SHAFT_UM])  # past the end; back on the shaft
        skin, shaft = _along(luma, tip["x_px"], tip["y_px"], tip["direction_deg"], -t, upp)
        out["end contrast (skin - shaft luma)"] = _bin(skin - shaft, (0.0, 0.1, 0.2, 0.35))
    for k in IMAGE_FACTORS:
        if k in image:
            out[k] = image[k]
    if blur_px is not None:
        out["blur, px"] = _bin(blur_px, (0.9, 1.25))
    return out


def read_place(
    tip: dict[str, Any],
    det: dict[str, Any],
    hair: dict[str, Any] | None,
    dets: list[dict[str, Any]],
    radius_px: float,
    upp: float,
) -> dict[str, str]:
    """Where ``det``, the detection that reads ``tip``, sits: along the shaft from the listed
    end in units of the tip's diameter (where the tip gives its direction), and whether the
    hair's own root has a detection within ``radius_px`` too (where the truth names it)."""
    out: dict[str, str] = {}
    if "direction_deg" in tip:
        a = math.radians(float(tip["direction_deg"]))
        dx, dy = det["x_px"] - tip["x_px"], det["y_px"] - tip["y_px"]
        ahead = (dx * math.cos(a) + dy * math.sin(a)) * upp  # > 0: past the end
        d = float(tip["diameter_um"])
        out["where the read sits"] = (
            "past the listed end"
            if ahead > 0
            else ("within a diameter of the end" if ahead >= -d else "over a diameter back")
        )
    if "id" in tip:
        if hair is None:
            out["own root"] = "outside the frame"
        else:
            near = any(
                math.hypot(e["x_px"] - hair["x_px"], e["y_px"] - hair["y_px"]) <= radius_px
                for e in dets
            )
            out["own root"] = "read too (both ends)" if near else "not read (end for root)"
    return out


def end_profiles(
    truth: dict[str, Any], luma: NDArray[np.float64]
) -> dict[str, list[NDArray[np.float64]]]:
    """Luma along the axis at :data:`PROFILE_UM` into each shaft from its cut end (per style)
    and from its root (shafts over :data:`ROOT_MIN_UM`), each with its skin (past the end)
    and shaft (back on it) samples last; only where the truth gives directions."""
    upp = float(truth["um_per_px"])
    t = np.array([*PROFILE_UM, -SKIN_UM, SHAFT_UM])
    out: dict[str, list[NDArray[np.float64]]] = defaultdict(list)
    for h in truth["hairs"]:
        if "direction_deg" in h and float(h.get("length_um", 0.0)) >= ROOT_MIN_UM:
            out["root"].append(_along(luma, h["x_px"], h["y_px"], h["direction_deg"], t, upp))
    for tip in truth.get("tips", []):
        if tip.get("cut", True) and "direction_deg" in tip:
            key = f"end: {style_of(tip) or 'cut'}"
            out[key].append(_along(luma, tip["x_px"], tip["y_px"], tip["direction_deg"], -t, upp))
    return out


def study_image(
    case: Case,
    img: NDArray[np.uint8],
    truth: dict[str, Any],
    read: dict[str, Any],
    luma: NDArray[np.float64] | None = None,
) -> tuple[list[TipRead], int, int]:
    """One image's cut tips (:class:`TipRead`) and its bench figure: (tips, tips read) as
    :func:`sim.heldout.metrics.score` counts them. ``luma``: the image's, where the caller
    has it already (else made here)."""
    upp = float(truth["um_per_px"])
    r_px = MATCH_RADIUS_UM / upp
    dets = read.get("emergence_points", [])
    cut, readers = cut_tip_readers(truth, [(e["x_px"], e["y_px"]) for e in dets], r_px)
    s = score(truth, read, radius_um=MATCH_RADIUS_UM)
    luma = _luma(img) if luma is None else luma
    image = labels(case, truth)
    blur = truth.get("params", {}).get("blur_px")
    by_id = {h["id"]: h for h in truth["hairs"] if "id" in h}
    out = []
    for tip, k in zip(cut, readers, strict=True):
        hair = by_id.get(tip["id"]) if "id" in tip else None
        factors = tip_factors(tip, image, hair, luma, upp, None if blur is None else float(blur))
        place = read_place(tip, dets[k], hair, dets, r_px, upp) if k >= 0 else {}
        out.append(TipRead(case.name, bool(k >= 0), factors, place))
    return out, s.tips or 0, s.tips_hit


def reads(
    cases: Iterable[Case], files: Iterable[str], model: HairModel
) -> Iterator[tuple[Case, NDArray[np.uint8], dict[str, Any], dict[str, Any]]]:
    """Each case's image (built: ``files``), its truth and ``model``'s read of it, as the
    bench reads it (no review flags)."""
    for case, f in zip(cases, files, strict=True):
        img, truth = load(f)
        read = model.analyze(img, float(truth["um_per_px"]), review_factor=None).model_dump()
        yield case, img, truth, read


def run_study(args: argparse.Namespace, cases: list[Case], study: Callable[..., T]) -> T:
    """``study(cases, files, model)`` on ``cases`` built and read as
    :func:`add_study_options` says."""
    files = build_all(cases, args.cache, args.workers)
    with HairModel.load(args.variant, threads=args.threads, models_dir=args.models_dir) as m:
        return study(cases, files, m)


def study(cases: Iterable[Case], files: Iterable[str], model: HairModel) -> dict[str, Study]:
    """Run ``model`` on every case's image (built: ``files``) and study its cut tips."""
    out: dict[str, Study] = {}
    for case, img, truth, read in reads(cases, files, model):
        st = out.setdefault(case.generator, Study(case.generator))
        luma = _luma(img)
        tips, n, hit = study_image(case, img, truth, read, luma)
        st.tips += tips
        st.bench_tips += n
        st.bench_hits += hit
        for k, v in end_profiles(truth, luma).items():
            st.profiles.setdefault(k, []).extend(v)
    return out


# -- figures and printing --------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """Tips read of ``n``, with a binomial SE over tips and an SE over images."""

    n: int
    read: int
    se_tips: float
    se_images: float

    @property
    def pct(self) -> float:
        return 100.0 * self.read / self.n if self.n else 0.0


def rate(tips: Sequence[Outcome]) -> Rate:
    """Share of ``tips`` read, in %: binomial SE; SE over images (a ratio estimator's, the
    images as clusters), in points."""
    n, k = len(tips), sum(t.read for t in tips)
    if not n:
        return Rate(0, 0, 0.0, 0.0)
    p = k / n
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in tips:
        per[t.image][0] += 1
        per[t.image][1] += int(t.read)
    m = len(per)
    resid = sum((h - p * c) ** 2 for c, h in per.values())
    se_img = math.sqrt(resid * m / max(m - 1, 1)) / n if m > 1 else float("nan")
    return Rate(n, k, 100.0 * math.sqrt(p * (1 - p) / n), 100.0 * se_img)


def factor_rows(tips: Sequence[Outcome]) -> dict[str, dict[str, Rate]]:
    """Factor -> value -> :class:`Rate`, over the tips that have the factor."""
    groups: dict[str, dict[str, list[Outcome]]] = defaultdict(lambda: defaultdict(list))
    for t in tips:
        for k, v in t.factors.items():
            groups[k][v].append(t)
    return {k: {v: rate(by[v]) for v in sorted(by, key=_value_order)} for k, by in groups.items()}


def _value_order(v: str) -> tuple[float, str]:
    """Bins (:func:`_bin`) by their lower edge, then names alphabetically."""
    head = v.split(" ", 1)[0]
    try:
        if head.startswith("<"):
            return float(head[1:]) - 1e9, v
        if head.startswith(">="):
            return float(head[2:]), v
        return float(head[:1] + head[1:].split("-")[0]), v  # "-30--10": from -30
    except ValueError:
        return math.inf, v


def place_rows(tips: list[TipRead]) -> dict[str, dict[str, int]]:
    """Of the tips read: how many per place value (where the read sits, the own root)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for t in tips:
        for k, v in t.place.items():
            out[k][v] += 1
    return {k: dict(sorted(v.items())) for k, v in out.items()}


def profile_rows(
    profiles: dict[str, list[NDArray[np.float64]]],
) -> dict[str, tuple[int, list[float]]]:
    """Per end kind: (n, median darkness at each :data:`PROFILE_UM`), darkness normalised
    per profile as 0 = its skin sample, 1 = its shaft sample; only profiles whose shaft is
    darker than the skin by 0.06 luma or more (light hair on dark skin left out)."""
    out = {}
    for k in sorted(profiles):
        p = np.array(profiles[k])
        skin, shaft = p[:, -2], p[:, -1]
        ok = skin - shaft >= 0.06
        if not ok.any():
            continue
        dark = (skin[ok, None] - p[ok, :-2]) / (skin[ok] - shaft[ok])[:, None]
        out[k] = (int(ok.sum()), [float(x) for x in np.median(dark, axis=0)])
    return out


def _se(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def report(studies: dict[str, Study]) -> str:
    """The printed tables, one block per generator."""
    lines: list[str] = []
    for g, st in studies.items():
        total = rate(st.tips)
        agree = "=" if (total.n, total.read) == (st.bench_tips, st.bench_hits) else "!="
        lines += [
            f"== {g}: cut tips read as hairs {total.read} of {total.n} = {total.pct:.1f} % "
            f"(SE tips {total.se_tips:.1f}, images {_se(total.se_images)}); the bench's score(): "
            f"{st.bench_hits} of {st.bench_tips} {agree}",
            f"  {'factor':34s} {'value':26s} {'n':>5s} {'read':>5s} {'%':>6s} "
            f"{'SE tips':>7s} {'SE img':>6s}",
        ]
        for k, rows in factor_rows(st.tips).items():
            for v, r in rows.items():
                lines.append(
                    f"  {k:34s} {v:26s} {r.n:5d} {r.read:5d} {r.pct:6.1f} "
                    f"{r.se_tips:7.1f} {_se(r.se_images):>6s}"
                )
        for k, counts in place_rows(st.tips).items():
            hits = sum(counts.values())
            for v, c in counts.items():
                lines.append(
                    f"  {'(of reads) ' + k:34s} {v:26s} {hits:5d} {c:5d} {100 * c / hits:6.1f}"
                )
        prof = profile_rows(st.profiles)
        if prof:
            head = " ".join(f"{t:>5g}" for t in PROFILE_UM)
            lines.append(
                f"  end profile: median darkness (0 skin {SKIN_UM:g} um past, 1 shaft "
                f"{SHAFT_UM:g} um back) at um along the axis, < 0 past the end/behind the root"
            )
            lines.append(f"  {'':20s} {'n':>5s} {head}")
            for k, (n, med) in prof.items():
                lines.append(f"  {k:20s} {n:5d} " + " ".join(f"{x:5.2f}" for x in med))
        lines.append("")
    return "\n".join(lines)


def add_study_options(p: argparse.ArgumentParser, item: str) -> None:
    """A study script's options: the model (``--models-dir``, ``--variant``, ``--threads``),
    the bench's images (``--n``, ``--workers``, ``--cache``) and ``--json``, which writes every
    ``item``'s record."""
    p.add_argument("--models-dir", type=Path, default=None, help="default: packaged models")
    p.add_argument("--variant", choices=VARIANTS, default="int8")
    p.add_argument("--n", type=int, default=40, help="images with hairs per generator")
    p.add_argument("--workers", type=int, default=1, help="image-making processes")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dermocap-gen")
    p.add_argument("--json", type=Path, default=None, help=f"write every {item}'s record here")


def main(argv: list[str] | None = None) -> int:
    """``scripts/study_tips.py`` (its docstring says what it prints); returns the exit status."""
    p = argparse.ArgumentParser(
        description="Which cut tips a hair model reads as hairs: the bench's tip figure "
        "split by cut style and more"
    )
    add_study_options(p, "tip")
    add_generators_option(p)
    args = p.parse_args(argv)
    generators = chosen_generators(p, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cases = [c for g in generators for c in independent_cases(args.n, 0, g)]
    studies = run_study(args, cases, study)
    print(report(studies))
    if args.json is not None:
        out = {g: [asdict(t) for t in st.tips] for g, st in studies.items()}
        args.json.write_text(json.dumps(out))
    return 0
