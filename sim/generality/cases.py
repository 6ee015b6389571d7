"""Images of the generality bench: independent-generator cases, held-out twin renders, caching.

Seeds: the twin rows use scalp seeds from 9,000,000, disjoint from training (1,000,000 up to
1,010,000) and from ``scripts/bench_inference.py`` (7,000,000 up to 7,200,000).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dermocap.errors import ModelError
from sim import (
    blind,
    blind2,
    blind3,
    blind4,
    blind5,
    blind6,
    blind7,
    blind8,
    blind9,
    blind10,
    blind11,
    blind12,
    blind13,
    blind14,
    blind15,
    blind16,
    blind17,
    blind18,
    blind19,
    blind20,
    blind21,
    blind22,
    heldout,
)
from sim.config import OpticsConfig, ScalpConfig, SimConfig
from sim.heldout.params import tone_bin
from sim.render import View, shaft_points
from sim.scalp import generate_scalp, hair_colour_names
from sim.tools import RenderRequest, render_capture

log = logging.getLogger(__name__)

TWIN_SEED_BASE = 9_000_000
INDEPENDENT = "independent"  # sim/heldout: heldout-1
BLIND = "blind"  # sim/blind: blind-1, written without reading the twin or sim/heldout
BLIND2 = "blind2"  # sim/blind2: blind-2, written without reading any of the others
BLIND3 = "blind3"  # sim/blind3: blind-3, written after the twin's synth-v7 looks, apart too
BLIND4 = "blind4"  # sim/blind4: blind-4, written after synth-v9 and model 2.3.0's choice, apart
BLIND5 = "blind5"  # sim/blind5: blind-5, written apart before 2.4.0's choice, benched after it
BLIND6 = "blind6"  # sim/blind6: blind-6, written apart as a training source (2.5.0's round)
BLIND7 = "blind7"  # sim/blind7: blind-7, written apart as a training source (2.5.0's round)
BLIND8 = "blind8"  # sim/blind8: blind-8, written apart as a judge (2.7.0's round), volumetric
BLIND9 = "blind9"  # sim/blind9: blind-9, written apart as a judge (2.7.0's round), meshes
BLIND10 = "blind10"  # sim/blind10: blind-10, written apart as a judge (c31's round), spectral
BLIND11 = "blind11"  # sim/blind11: blind-11, written apart as a judge (c32's round), rods
BLIND12 = "blind12"  # sim/blind12: blind-12, written apart as a judge (c35's round), EDT fibres
BLIND13 = "blind13"  # sim/blind13: blind-13, written apart as a judge (c38's round), erf shafts
BLIND14 = "blind14"  # sim/blind14: blind-14, written apart as a judge (c39's round), ribbons
BLIND15 = "blind15"  # sim/blind15: blind-15, written apart as a judge (c40's round), polygons
BLIND16 = "blind16"  # sim/blind16: blind-16, written apart as a judge (c41's round), splats
BLIND17 = "blind17"  # sim/blind17: blind-17, a judge written after c41 (DDA spans, fractals)
BLIND18 = "blind18"  # sim/blind18: blind-18, a judge written after blind-17 (shaded height field)
BLIND19 = "blind19"  # sim/blind19: blind-19, a judge written after blind-18 (sphere-traced SDF)
BLIND20 = "blind20"  # sim/blind20: blind-20, a judge written after blind-19 (Fourier chords)
BLIND21 = "blind21"  # sim/blind21: blind-21, a judge written after blind-20 (quadtree arcs)
BLIND22 = "blind22"  # sim/blind22: blind-22, a judge written after blind-21 (hair cards)
TWIN = "twin"


@dataclass(frozen=True)
class _Source:
    """An independent generator: its package under sim/ (whose source keys the image cache),
    its ``generate``, and the seeds of its bench images (base, and the key of the stream
    that draws each image's scale and size)."""

    package: str
    generate: Callable[..., tuple[NDArray[np.uint8], dict[str, Any]]]
    seed_base: int
    stream_key: int


# Generators that share no drawing code with the twin. heldout-1, blind-4, blind-5, blind-8,
# blind-9, blind-10, blind-11, blind-12, blind-13, blind-14, blind-15, blind-16, blind-17,
# blind-18, blind-19, blind-20, blind-21 and blind-22 are evaluation only, never training,
# calibration or choosing checkpoints (blind-8 and blind-9, written in 2.7.0's round, blind-10,
# written after 2.8.0 shipped, blind-11, written while c32 trained, blind-12, written in c35's
# round as a fresh judge once the others had all been looked at, blind-13, written in c38's
# round, blind-14, written in c39's, blind-15, in c40's, blind-16, in c41's, and blind-17,
# blind-18, blind-19, blind-20, blind-21 and blind-22, after it, joined as sources no model
# had seen;
# blind-10 has since chosen between candidates, model card "A finer pigment network");
# since the 2.4.0 round blind-1, blind-2 and blind-3 also give training frames, of other seeds
# (sim/generality/train_frames.py), and blind-6 and blind-7, written as training sources in
# 2.5.0's round, since 2.6.0.
# heldout-1's seeds are those of its first benches (its cached images stay valid).
_SOURCES = {
    INDEPENDENT: _Source("heldout", heldout.generate, 50_000, 0xBE7C),
    BLIND: _Source("blind", blind.generate, 80_000, 0xB11D),
    BLIND2: _Source("blind2", blind2.generate, 110_000, 0xB112),
    BLIND3: _Source("blind3", blind3.generate, 140_000, 0xB113),
    BLIND4: _Source("blind4", blind4.generate, 170_000, 0xB114),
    BLIND5: _Source("blind5", blind5.generate, 200_000, 0xB115),
    BLIND6: _Source("blind6", blind6.generate, 230_000, 0xB116),
    BLIND7: _Source("blind7", blind7.generate, 260_000, 0xB117),
    BLIND8: _Source("blind8", blind8.generate, 290_000, 0xB118),
    BLIND9: _Source("blind9", blind9.generate, 320_000, 0xB119),
    BLIND10: _Source("blind10", blind10.generate, 350_000, 0xB11A),
    BLIND11: _Source("blind11", blind11.generate, 380_000, 0xB11B),
    BLIND12: _Source("blind12", blind12.generate, 410_000, 0xB11C),
    BLIND13: _Source("blind13", blind13.generate, 440_000, 0xB11E),
    BLIND14: _Source("blind14", blind14.generate, 470_000, 0xB11F),
    BLIND15: _Source("blind15", blind15.generate, 500_000, 0xB120),
    BLIND16: _Source("blind16", blind16.generate, 530_000, 0xB121),
    BLIND17: _Source("blind17", blind17.generate, 560_000, 0xB122),
    BLIND18: _Source("blind18", blind18.generate, 590_000, 0xB123),
    BLIND19: _Source("blind19", blind19.generate, 620_000, 0xB124),
    BLIND20: _Source("blind20", blind20.generate, 650_000, 0xB125),
    BLIND21: _Source("blind21", blind21.generate, 680_000, 0xB126),
    BLIND22: _Source("blind22", blind22.generate, 710_000, 0xB127),
}
INDEPENDENT_GENERATORS = tuple(_SOURCES)
# give training frames too (train_frames.py); 2.4.0 and 2.5.0 trained on the first three only,
# 2.6.0 to 2.9.0 on all five
TRAINING_GENERATORS = (BLIND, BLIND2, BLIND3, BLIND6, BLIND7)
# never trained on: a release is judged by their worst
HELD_OUT_GENERATORS = (
    INDEPENDENT,
    BLIND4,
    BLIND5,
    BLIND8,
    BLIND9,
    BLIND10,
    BLIND11,
    BLIND12,
    BLIND13,
    BLIND14,
    BLIND15,
    BLIND16,
    BLIND17,
    BLIND18,
    BLIND19,
    BLIND20,
    BLIND21,
    BLIND22,
)
BASELINE_COMMIT = "077852f"  # the shipped 1.0.0 files
BASELINE_FILES = (
    "hair_density_int8.onnx",
    "hair_density_fp32.onnx",
    "manifest.json",
    "golden.png",
)


@dataclass(frozen=True)
class Case:
    """One bench image: which generator makes it and the choices that make it."""

    generator: str
    index: int
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.generator}-{self.index:04d}"


def add_generators_option(
    p: argparse.ArgumentParser, default: tuple[str, ...] = INDEPENDENT_GENERATORS
) -> None:
    """A bench script's ``--generators`` option (read it with :func:`chosen_generators`),
    naming ``default`` unless given."""
    every = "every one: " if default == INDEPENDENT_GENERATORS else ""
    p.add_argument(
        "--generators",
        default=",".join(default),
        help="independent generators beside the twin, comma-separated (default: "
        + every
        + ", ".join(default)
        + ")",
    )


def chosen_generators(p: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, ...]:
    """The independent generators ``--generators`` names (exits 2 naming an unknown one)."""
    generators = tuple(g for g in str(args.generators).split(",") if g)
    unknown = sorted(set(generators) - set(INDEPENDENT_GENERATORS))
    if unknown:
        p.error(f"unknown generator(s) {unknown}: choose from {list(INDEPENDENT_GENERATORS)}")
    return generators


def independent_cases(n: int, n_hairless: int, generator: str = INDEPENDENT) -> list[Case]:
    """``n`` images with hairs and ``n_hairless`` bare ones, 3-12 um/px, 6-10 mm wide, of
    one of :data:`INDEPENDENT_GENERATORS`."""
    source = _SOURCES[generator]
    out = []
    for i in range(n + n_hairless):
        rng = np.random.default_rng([source.stream_key, i])
        spec = {"seed": source.seed_base + i, **frame_size(rng), "hairless": i >= n}
        out.append(Case(generator, i, spec))
    return out


def frame_size(rng: np.random.Generator) -> dict[str, Any]:
    """An independent frame's scale and size: 3-12 um/px, 6-10 mm wide, 4:3."""
    upp = float(rng.uniform(3.0, 12.0))
    width = int(np.clip(round(float(rng.uniform(6000.0, 10000.0)) / upp), 512, 2028))
    return {"um_per_px": upp, "width": width, "height": round(width * 0.75)}


def held_out_scalp(rng: np.random.Generator, rich: bool) -> dict[str, Any]:
    """A held-out twin scalp with hair: any skin, colour, density, vellus share and length;
    ``rich``: long or mixed hair at >= 200 hairs/cm2 with 30-50 % empty openings."""
    return {
        "skin_tone": float(rng.uniform(0, 1)),
        "hair_colour": hair_colour_names()[int(rng.integers(7))],
        "density_per_cm2": float(rng.uniform(200, 320) if rich else rng.uniform(40, 320)),
        "vellus_fraction": float(rng.uniform(0.05, 0.40)),
        "hair_length": ("long", "mixed")[int(rng.integers(2))]
        if rich
        else ("trimmed", "long", "mixed")[int(rng.integers(3))],
        "empty_follicle_fraction": float(rng.uniform(0.3, 0.5) if rich else rng.uniform(0, 0.3)),
    }


def capture_settings(
    rng: np.random.Generator, sweep: bool, sweep_max_um: float = 12.0
) -> dict[str, Any]:
    """A held-out render's optics and capture settings; ``sweep``: at 3 to ``sweep_max_um``
    um/px, not the rig's 5.17."""
    return {
        "um_per_px_error": float(rng.uniform(-0.05, 0.05)),
        "nominal": float(rng.uniform(3.0, sweep_max_um)) if sweep else 5.1667,
        "z": float(rng.uniform(-0.1, 0.1)),
        "light": "parallel" if rng.random() < 0.2 else "cross",
        "duty": float(rng.uniform(0.5, 0.85)),
        "exposure_us": int(rng.integers(6500, 10000)),
    }


def twin_cases(n: int, n_bare: int = 0) -> list[Case]:
    """``n`` held-out twin renders: a quarter at 3-12 um/px, a quarter rich (empty openings,
    long or mixed hair, dense); every other one in a random look (a style seed). Then
    ``n_bare`` of bare skin (every hair shed, openings left), in random looks at 3-12 um/px."""
    out = []
    for i in range(n):
        rng = np.random.default_rng([0x7F1A, i])
        sweep = i % 4 == 1
        rich = i % 4 == 3
        scalp = held_out_scalp(rng, rich)
        spec = {
            "seed": TWIN_SEED_BASE + i,
            "scalp": scalp,
            "rich": rich,
            **capture_settings(rng, sweep),
            "style_seed": int(rng.integers(1, 2**31 - 1)) if i % 2 else None,
        }
        out.append(Case(TWIN, i, spec))
    for i in range(n, n + n_bare):
        rng = np.random.default_rng([0x7F1A, i])
        scalp = {
            "skin_tone": float(rng.uniform(0, 1)),
            "hair_colour": hair_colour_names()[int(rng.integers(7))],
            "empty_follicle_fraction": float(rng.uniform(0, 0.5)),
        }
        spec = {
            "seed": TWIN_SEED_BASE + i,
            "scalp": scalp,
            "rich": False,
            "bare": True,
            **capture_settings(rng, sweep=True),
            "style_seed": int(rng.integers(1, 2**31 - 1)),
        }
        out.append(Case(TWIN, i, spec))
    return out


# Modules of sim/ and sim/heldout/ that draw nothing a bench image holds: scoring and the
# training recipe (a new training option must not make the bench render every image again).
NOT_DRAWING = frozenset({"metrics.py", "model_recipe.py", "dataset.py"})


def _source_key(*folders: Path) -> str:
    """Short hash of the generator's source, so a changed generator never reuses a cache."""
    h = hashlib.sha256()
    for folder in folders:
        for f in sorted(folder.glob("*.py")):
            if f.name in NOT_DRAWING:
                continue
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def generator_key(generator: str) -> str:
    """Short hash of an independent generator's source (:func:`_source_key`)."""
    return _source_key(Path(__file__).resolve().parent.parent / _SOURCES[generator].package)


def cache_path(case: Case, cache_dir: Path) -> Path:
    """Where a case's image and truth are cached (keyed by the generator's source)."""
    sim_dir = Path(__file__).resolve().parent.parent
    if case.generator in INDEPENDENT_GENERATORS:
        source = generator_key(case.generator)
    else:  # the twin, and the code here that renders its cases and adds their shaft ends
        own = inspect.getsource(_render_twin) + inspect.getsource(twin_ends)
        source = _source_key(sim_dir) + hashlib.sha256(own.encode()).hexdigest()
    spec = json.dumps(case.spec, sort_keys=True).encode()
    key = hashlib.sha256((source + spec.decode()).encode()).hexdigest()[:16]
    return cache_dir / f"{case.name}-{key}.npz"


# True density bands (hairs/cm2, upper bounds) for the bench's "density_band" rows: on
# near-bald frames a few hairs/cm2 read on bare skin is a large percentage, so these rows
# tell bare-skin over-reads from counting errors.
DENSITY_BANDS = ((30.0, "<30"), (80.0, "30-80"), (150.0, "80-150"), (float("inf"), ">=150"))


def density_band(true_density: float, bare: bool) -> str:
    """The :data:`DENSITY_BANDS` label of a frame's true density ("bare" for bare skin)."""
    if bare:
        return "bare"
    return next(name for top, name in DENSITY_BANDS if true_density < top)


def labels(case: Case, truth: dict[str, Any]) -> dict[str, str]:
    """Group labels of a case (factor -> value), every generator's with its density band."""
    bare = bool(case.spec.get("hairless") or case.spec.get("bare"))
    band = density_band(float(truth["density_per_cm2"]), bare)
    if case.generator in INDEPENDENT_GENERATORS:
        return {**truth["factors"], "density_band": band}
    scalp = case.spec["scalp"]
    upp = float(truth["um_per_px"])
    return {
        "hair_length": "hairless" if bare else str(scalp["hair_length"]),
        "hair_colour": str(scalp["hair_colour"]),
        "skin_tone": tone_bin(float(scalp["skin_tone"])),
        "scale": "3-5" if upp < 5 else ("5-8" if upp < 8 else "8-12"),
        "light": str(case.spec["light"]),
        "rich": "rich" if case.spec["rich"] else "plain",
        "style": "default" if case.spec["style_seed"] is None else "random",
        "density_band": band,
    }


def _render_twin(spec: dict[str, Any]) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    base = SimConfig()
    cfg = base.model_copy(
        update={
            "scalp": base.scalp.model_copy(update=spec["scalp"]),
            "optics": OpticsConfig(um_per_px_error=spec["um_per_px_error"]),
        }
    )
    req = RenderRequest(
        seed=spec["seed"],
        nominal_um_per_px=spec["nominal"],
        light=spec["light"],
        duty=spec["duty"],
        exposure_us=spec["exposure_us"],
        z_offset_mm=spec["z"],
        noise_seed=spec.get("noise_seed", spec["seed"]),
        style_seed=spec["style_seed"],
        density_factor=0.0 if spec.get("bare") else spec.get("density_factor", 1.0),
    )
    img, truth = render_capture(cfg, req)
    if spec.get("bare"):
        truth["tips"] = []  # no hairs, no ends
        return img, truth
    if spec.get("density_factor", 1.0) != 1.0:
        return img, truth  # a regrown scalp (a later visit): scored on density alone
    # the world the twin drew, from the scalp config the truth records
    ends = twin_ends(generate_scalp(ScalpConfig.model_validate(truth["scalp"])), truth)
    if ends is not None:
        tips, truth["emergence_outside"] = ends
        truth.setdefault("tips", tips)  # a twin that lists its own cut tips is believed
    return img, truth


def twin_ends(world: Any, truth: dict[str, Any]) -> tuple[list[Any], list[Any]] | None:
    """Free shaft ends inside a twin frame and emergence points just outside it.

    Each end is the last of the points the renderer draws the shaft by
    (:func:`sim.render.shaft_points`); a trimmed hair's end is ``cut``, a long hair's is not.
    Returns None, with a warning, when the world's emergence points do not reproduce the truth's
    (the twin changed): the bench then uses only the tips the twin lists itself, if any.
    """
    w, h, upp = int(truth["width"]), int(truth["height"]), float(truth["um_per_px"])
    view = View(0.0, 0.0, 0.0, upp, w, h)
    hs = world.hairs
    u, v = view.world_to_pixel(hs.x_mm, hs.y_mm)
    inside = (u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5)
    want = np.array([(x["x_px"], x["y_px"]) for x in truth["hairs"]]).reshape(-1, 2)
    got = np.stack([u[inside], v[inside]], axis=1)
    if got.shape != want.shape or (got.size and np.abs(got - want).max() > 0.02):
        log.warning("twin hairs do not match their truth: no tip figures for this render")
        return None
    s = view.mm_per_px
    tips = []
    for i in range(len(hs)):
        length = float(hs.length_mm[i])
        reach = length / s + 2
        if not (-reach < u[i] < w + reach and -reach < v[i] < h + reach):
            continue
        ex, ey = (float(c) for c in shaft_points(world, i, view)[-1])
        if -0.5 <= ex < w - 0.5 and -0.5 <= ey < h - 0.5:
            tips.append(
                {
                    "x_px": round(ex, 2),
                    "y_px": round(ey, 2),
                    "cut": bool(hs.trimmed[i]),
                    "diameter_um": round(float(hs.diameter_um[i]), 2),
                }
            )
    pad = 200.0 / upp
    near = (~inside) & (u > -pad) & (u < w + pad) & (v > -pad) & (v < h + pad)
    outside = [
        {"x_px": round(float(a), 2), "y_px": round(float(b), 2)}
        for a, b in zip(u[near], v[near], strict=True)
    ]
    return tips, outside


def build(args: tuple[Case, str]) -> str:
    """Make (or find cached) the image and truth of a case; returns the .npz path."""
    case, folder = args
    path = cache_path(case, Path(folder))
    if path.exists():
        return str(path)
    if case.generator in INDEPENDENT_GENERATORS:
        s = case.spec
        # a later visit of the same site: its hairs regrown or shed, its noise new
        later = (float(s["regrow"]), int(s["regrow_seed"])) if "regrow" in s else None
        img, truth = _SOURCES[case.generator].generate(
            s["seed"],
            um_per_px=s["um_per_px"],
            width=s["width"],
            height=s["height"],
            hairless=s["hairless"],
            regrown=later,
        )
    else:
        img, truth = _render_twin(case.spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, image=img, truth=np.array(json.dumps(truth)))
    tmp.replace(path)
    return str(path)


def load(path: str) -> tuple[NDArray[np.uint8], dict[str, Any]]:
    """Image and truth of a built case."""
    with np.load(path, allow_pickle=False) as z:
        img: NDArray[np.uint8] = z["image"]
        truth: dict[str, Any] = json.loads(str(z["truth"]))
    return img, truth


def baseline_from_git(dest: Path, commit: str = BASELINE_COMMIT) -> Path:
    """Write the shipped 1.0.0 model files of ``commit`` into ``dest`` (from this checkout's git).

    Raises:
        ModelError: git or the commit is not reachable (pass a baseline folder instead).
    """
    git = shutil.which("git")
    here = Path(__file__).resolve().parent
    if git is None:
        raise ModelError("git not found: pass --baseline-dir with the 1.0.0 model files")
    dest.mkdir(parents=True, exist_ok=True)
    for name in BASELINE_FILES:
        # fixed arguments, no shell: the commit and file names are constants of this module
        r = subprocess.run(  # noqa: S603
            [git, "-C", str(here), "show", f"{commit}:inference/models/{name}"],
            capture_output=True,
            check=False,
        )
        if r.returncode != 0:
            raise ModelError(
                f"cannot read inference/models/{name} of commit {commit} from git "
                f"({r.stderr.decode(errors='replace').strip()}): pass --baseline-dir"
            )
        (dest / name).write_bytes(r.stdout)
    return dest
