"""Frames of other renderers for training: five of the independent generators, never the judges.

Since the 2.4.0 round the model trains on the twin and on frames of blind-1, blind-2 and
blind-3; blind-6 and blind-7 (written in 2.5.0's round) joined them for 2.6.0
(:data:`TRAINING_GENERATORS`), each drawing hairs and skin its own way, so that no one
renderer's look is all the net knows. heldout-1, blind-4, blind-5, blind-8, blind-9, blind-10,
blind-11, blind-12, blind-13, blind-14, blind-15, blind-16, blind-17, blind-18, blind-19,
blind-20, blind-21 and blind-22
(:data:`HELD_OUT_GENERATORS`)
stay evaluation only: never training, calibration or choosing checkpoints, and a release is judged
by the worst of them.
:func:`export` refuses them.

Frames go out in the fine-tuning format of :func:`inference.training.realdata.load_real_dir`
(``NAME.png`` + ``NAME.json`` listing every emergence point), so a fine-tune takes them with
``--real-dir``. Their seeds (from :data:`SEED_BASE`) and scale draws (their own stream) are
disjoint from every bench image's. ``frames.idx`` (JSON) records what the folder holds; a frame
whose generator's source or choices (seed, scale, size, share of bare roots) changed since it
was written is written again.

``bare_roots`` (0-1, default 0): that share of each frame's hair-bearing openings is drawn
without its opening (no pit, dimple, halo or dark ring: a root on plain skin), the hairs and
the truth being the same; every training generator draws its roots in a visible opening
otherwise, so a net trained on them learns "a shaft end in a dark opening is a root". At 0 the
frames are those written before the option (their specs do not name it).
"""

from __future__ import annotations

import io
import json
import logging
import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dermocap.fsutil import atomic_write_bytes, atomic_write_json
from sim.generality.cases import (
    _SOURCES,
    HELD_OUT_GENERATORS,
    INDEPENDENT_GENERATORS,
    TRAINING_GENERATORS,
    frame_size,
    generator_key,
)

log = logging.getLogger(__name__)

SEED_BASE = 3_000_000  # plus the generator's bench seed base: far from every bench seed
STREAM_KEY = 0x7EA1  # with the generator's stream key: scale and size draws of their own
INDEX_NAME = "frames.idx"  # JSON; not *.json, which the fine-tuning format reads as a frame
# What a frame's annotation holds: 2 adds its cut tips ("tips", for --frame-tips). A frame of
# another format is drawn again, even by the same source from the same choices.
FRAME_FORMAT = 2


def check_bare_roots(share: float) -> float:
    """``share`` as a float when it lies in [0, 1].

    Raises:
        ValueError: not a number in [0, 1].
    """
    if isinstance(share, bool) or not isinstance(share, int | float):
        raise ValueError(f"the share of bare roots must be a number in [0, 1], not {share!r}")
    if not 0.0 <= float(share) <= 1.0:
        raise ValueError(f"the share of bare roots must lie in [0, 1], not {share!r}")
    return float(share)


def training_specs(
    generator: str, n: int, n_hairless: int, bare_roots: float = 0.0
) -> list[dict[str, Any]]:
    """``n`` frames with hairs and ``n_hairless`` bare ones of a training generator: 3-12
    um/px, 6-10 mm wide (the bench's ranges), seeds of their own; above 0, ``bare_roots``
    (the share of hair-bearing openings left undrawn) is in every spec.

    Raises:
        ValueError: ``generator`` is a held-out judge or unknown, or ``bare_roots`` is not in
            [0, 1].
    """
    share = check_bare_roots(bare_roots)
    if generator not in TRAINING_GENERATORS:
        why = "unknown"
        if generator in INDEPENDENT_GENERATORS:
            why = "a held-out judge: training on it would leave no clean one"
        raise ValueError(
            f"{generator!r} is not a training generator ({why}): "
            f"choose from {list(TRAINING_GENERATORS)}"
        )
    source = _SOURCES[generator]
    out = []
    for i in range(n + n_hairless):
        rng = np.random.default_rng([STREAM_KEY, source.stream_key, i])
        out.append(
            {
                "generator": generator,
                "name": f"{generator}-{i:04d}",
                "seed": SEED_BASE + source.seed_base + i,
                **frame_size(rng),
                "hairless": i >= n,
                **({"bare_roots": share} if share > 0 else {}),
            }
        )
    return out


def _write(job: tuple[dict[str, Any], str, str]) -> str:
    """Render one frame and write its PNG, then its annotation (the pair's last file)."""
    spec, folder, key = job
    out = Path(folder)
    ann_path = out / f"{spec['name']}.json"
    if ann_path.is_file():  # kept only when drawn by the same source from the same choices
        old = json.loads(ann_path.read_text())
        same = old.get("source_key") == key and old.get("spec") == spec
        if same and old.get("format") == FRAME_FORMAT:
            return str(spec["name"])
    img, truth = _SOURCES[spec["generator"]].generate(
        spec["seed"],
        um_per_px=spec["um_per_px"],
        width=spec["width"],
        height=spec["height"],
        hairless=spec["hairless"],
        **({"bare_roots": spec["bare_roots"]} if "bare_roots" in spec else {}),
    )
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=1)
    atomic_write_bytes(out / f"{spec['name']}.png", buf.getvalue(), mode=0o644)
    ann = {
        "um_per_px": float(truth["um_per_px"]),
        "hairs": [
            {"x_px": h["x_px"], "y_px": h["y_px"], "diameter_um": h["diameter_um"]}
            for h in truth["hairs"]
        ],
        # cut ends (the truth's tips with "cut"): negatives for the count, as the twin's
        "tips": [
            {"x_px": t["x_px"], "y_px": t["y_px"], "diameter_um": t["diameter_um"]}
            for t in truth["tips"]
            if t["cut"]
        ],
        "format": FRAME_FORMAT,
        "generator": spec["generator"],
        "seed": spec["seed"],
        "spec": spec,
        "source_key": key,
        "factors": truth.get("factors", {}),
    }
    atomic_write_json(ann_path, ann, mode=0o644)
    return str(spec["name"])


def parse_plan(text: str, n: int, n_hairless: int) -> dict[str, tuple[int, int]]:
    """``"blind,blind2:300:30,blind3:0:60"``: each generator with its frames with hairs and
    bare ones (``NAME:N:BARE``; a bare ``NAME`` takes ``n`` and ``n_hairless``), each once, in
    the order given (the first counts kept).

    Raises:
        ValueError: a part is not NAME or NAME:N:BARE with whole numbers.
    """
    plan: dict[str, tuple[int, int]] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, *counts = part.split(":")
        if counts and (len(counts) != 2 or not all(c.isdigit() for c in counts)):
            raise ValueError(f"{part!r}: give a generator as NAME or NAME:N:BARE (whole numbers)")
        plan.setdefault(name, (int(counts[0]), int(counts[1])) if counts else (n, n_hairless))
    return plan


def export(
    generators: tuple[str, ...] | dict[str, tuple[int, int]],
    n: int,
    n_hairless: int,
    out: Path,
    workers: int = 1,
    bare_roots: float = 0.0,
) -> dict[str, Any]:
    """Write (or keep, when already written by the same generator source with the same
    choices) ``n`` frames with hairs and ``n_hairless`` bare ones of each of ``generators`` into
    ``out`` (or, where ``generators`` maps each to its own ``(n, n_hairless)``,
    :func:`parse_plan`, those), with ``bare_roots`` of their hair-bearing openings left
    undrawn; returns the index it writes to ``out/frames.idx``.

    Raises:
        ValueError: no generator, a held-out judge or an unknown one, no frames asked for, or
            a share of bare roots outside [0, 1].
    """
    share = check_bare_roots(bare_roots)
    plan = (
        dict(generators)
        if isinstance(generators, dict)
        else dict.fromkeys(generators, (n, n_hairless))  # each once, in the order given
    )
    if not plan:
        raise ValueError(f"name at least one generator of {list(TRAINING_GENERATORS)}")
    for g, (gn, gb) in plan.items():
        if gn < 0 or gb < 0 or gn + gb == 0:
            raise ValueError(f"frames of {g} must be at least 1 (got {gn} + {gb})")
    generators = tuple(plan)
    specs = [s for g, (gn, gb) in plan.items() for s in training_specs(g, gn, gb, share)]
    keys = {g: generator_key(g) for g in generators}
    out.mkdir(parents=True, exist_ok=True)
    wanted = {s["name"] for s in specs}
    for old in sorted(out.glob("*.json")):  # frames of an earlier export not asked for now
        if old.stem not in wanted and "source_key" in json.loads(old.read_text()):
            old.unlink()
            old.with_suffix(".png").unlink(missing_ok=True)
    jobs = [(s, str(out), keys[s["generator"]]) for s in specs]
    t0 = time.monotonic()
    if workers <= 1:
        done = [_write(j) for j in jobs]
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            done = []
            for k, name in enumerate(pool.imap(_write, jobs), 1):
                done.append(name)
                if k % 50 == 0:
                    log.info("frames %d/%d (%.0f s)", k, len(jobs), time.monotonic() - t0)
    index = {
        "generators": {
            g: {"frames": gn, "hairless": gb, "source_key": keys[g]} for g, (gn, gb) in plan.items()
        },
        "seed_base": SEED_BASE,
        "bare_roots": share,  # the share of hair-bearing openings left undrawn
        "held_out": list(HELD_OUT_GENERATORS),
        "count": len(done),
    }
    atomic_write_json(out / INDEX_NAME, index, mode=0o644)
    return index
