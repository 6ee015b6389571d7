"""One frame of blind-6: argument checks, the scalp, the visit, the drawing order and the
truth."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sim.blind6.camera import capture, draw_camera
from sim.blind6.hairs import (
    Strand,
    build_pool,
    draw_strand,
    hair_specs,
    hair_tex,
    place_strand,
    shadow_quads,
)
from sim.blind6.raster import Raster
from sim.blind6.rng import BARE, NOISE, SCENE, VISIT, stream
from sim.blind6.scene import Scene, draw_scene, factor_scale
from sim.blind6.skin import SkinLayers, render_skin, stamp
from sim.blind6.view import View

Arr = npt.NDArray[Any]

GENERATOR = "blind-6"


def _is_int(x: object) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool | np.bool_)


def _is_real(x: object) -> bool:
    if not isinstance(x, Real) or isinstance(x, bool | np.bool_):
        return False
    return math.isfinite(float(x))


def check_args(
    seed: object,
    um_per_px: object,
    width: object,
    height: object,
    hairless: object,
    regrown: object,
) -> tuple[int, float, int, int, bool, tuple[float, int] | None]:
    if not _is_int(seed):
        raise ValueError(f"seed must be an int (not a bool), got {seed!r}")
    if not _is_real(um_per_px) or not 2.0 <= float(um_per_px) <= 15.0:  # type: ignore[arg-type]
        raise ValueError(f"um_per_px must be a finite number in [2, 15], got {um_per_px!r}")
    for name, val in (("width", width), ("height", height)):
        if not _is_int(val) or not 32 <= int(val) <= 4096:  # type: ignore[call-overload]
            raise ValueError(f"{name} must be an int in [32, 4096], got {val!r}")
    if not isinstance(hairless, bool | np.bool_):
        raise ValueError(f"hairless must be a bool, got {hairless!r}")
    again: tuple[float, int] | None = None
    if regrown is not None:
        if not isinstance(regrown, tuple | list) or len(regrown) != 2:
            raise ValueError(f"regrown must be None or a (factor, seed2) tuple, got {regrown!r}")
        factor, seed2 = regrown
        if not _is_real(factor) or not 0.3 <= float(factor) <= 3.0:
            raise ValueError(f"regrown factor must be a finite number in [0.3, 3], got {factor!r}")
        if not _is_int(seed2):
            raise ValueError(f"regrown seed2 must be an int (not a bool), got {seed2!r}")
        again = (float(factor), int(seed2))
    return (
        int(seed),  # type: ignore[call-overload]
        float(um_per_px),  # type: ignore[arg-type]
        int(width),  # type: ignore[call-overload]
        int(height),  # type: ignore[call-overload]
        bool(hairless),
        again,
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, Integral):
        return int(obj)
    if isinstance(obj, Real):
        return float(obj)
    return obj


def _extras(seed: int, sc: Scene) -> None:
    g = stream(seed, SCENE, 2)
    sc.extras["cover"] = float(g.uniform(0.15, 0.75))
    sc.extras["dof"] = float(g.uniform(0.02, 0.12))
    sc.extras["h_focus_um"] = float(g.uniform(0.0, 150.0))
    sc.extras["plate_um"] = float(g.uniform(60.0, 220.0)) if sc.light == "immersion" else 0.0
    sc.extras["light_level"] = float(g.uniform(0.92, 1.05))


def _skin_view(layers: SkinLayers, view: View, sc: Scene) -> tuple[Arr, Arr | None]:
    """The skin canvas seen by ``view`` (a crop at baseline, a resampling at a follow-up)."""
    m = layers.margin
    w, h = sc.width, sc.height
    if view.angle == 0.0 and view.tx == 0.0 and view.ty == 0.0:
        rgb = layers.rgb[m : m + h, m : m + w].copy()
        over = None
        if layers.over_alpha is not None:
            over = layers.over_alpha[m : m + h, m : m + w].copy()
        return rgb, over
    gy, gx = np.mgrid[0:h, 0:w]
    x_um, y_um = view.to_um(gx.astype(np.float64), gy.astype(np.float64))
    col = x_um / sc.um_per_px + m + (w - 1) / 2.0
    row = y_um / sc.um_per_px + m + (h - 1) / 2.0
    del gx, gy, x_um, y_um
    coords = np.stack([row, col])
    rgb = np.empty((h, w, 3), dtype=np.float32)
    for c in range(3):
        rgb[..., c] = ndimage.map_coordinates(layers.rgb[..., c], coords, order=3, mode="nearest")
    np.clip(rgb, 0.0, None, out=rgb)
    over = None
    if layers.over_alpha is not None:
        over = np.clip(
            ndimage.map_coordinates(layers.over_alpha, coords, order=1, mode="nearest"), 0, 1
        ).astype(np.float32)
    return rgb, over


def _shadows(img: Arr, strands: list[Strand], look: dict[str, float], sc: Scene) -> None:
    w2, h2 = (sc.width + 1) // 2, (sc.height + 1) // 2
    quads = [shadow_quads(st, look, sc.um_per_px, 0.5) for st in strands]
    quads = [q for q in quads if q.shape[0]]
    if not quads:
        return
    r2 = Raster(w2, h2)
    hits = r2.quads(np.concatenate(quads), want_st=False)
    buf = np.zeros(w2 * h2, dtype=np.float32)
    buf[hits.idx] = hits.cover
    sh = ndimage.gaussian_filter(buf.reshape(h2, w2), max(0.7, 12.0 / sc.um_per_px / 2.0))
    full = ndimage.zoom(sh, 2.0, order=1)[: sc.height, : sc.width]
    if full.shape != img.shape[:2]:
        pad = np.zeros(img.shape[:2], dtype=np.float32)
        pad[: full.shape[0], : full.shape[1]] = full
        full = pad
    img *= (1.0 - sc.shadow * np.clip(full, 0.0, 1.0))[..., None]


def _halos(img: Arr, strands: list[Strand], sc: Scene, bare: Arr | None) -> None:
    s = sc.um_per_px
    if sc.halo_kind == "white":
        mul, add = np.full(3, 0.7), np.array([0.25, 0.24, 0.23])
    else:
        mul, add = np.array([0.78, 0.7, 0.62]), np.zeros(3)
    for st in strands:
        if st.spec.halo <= 0 or (bare is not None and bare[st.spec.unit]):
            continue
        rad = (st.spec.d0 / 2.0 + 25.0 + 30.0 * st.spec.halo) / s
        k = st.spec.halo
        stamp(img, st.ex, st.ey, rad, 1.0 - k * (1.0 - mul), k * add, "gauss", 2.0)


def _bubbles(img: Arr, g: np.random.Generator, sc: Scene) -> dict[str, float]:
    s = sc.um_per_px
    h, w = img.shape[:2]
    area = w * h * s * s * 1e-6
    n = int(g.poisson(area * g.uniform(0.0, 0.5)))
    for _ in range(n):
        r = float(np.exp(g.uniform(math.log(20.0), math.log(400.0)))) / s
        cx, cy = g.uniform(-r, w + r), g.uniform(-r, h + r)
        stamp(img, cx, cy, r, np.full(3, 0.72), np.zeros(3), "ring", 1.5)
        stamp(img, cx, cy, r * 0.8, np.ones(3), np.full(3, 0.12), "ring", 1.5)
        glint = max(r * 0.12, 0.8)
        stamp(img, cx - 0.3 * r, cy - 0.3 * r, glint, np.ones(3), np.full(3, 0.35), "gauss", 2.0)
    haze = float(g.uniform(0.0, 0.08))
    mean = img.reshape(-1, 3).mean(0)
    img *= 1.0 - haze
    img += haze * mean
    return {"bubbles": n, "gel_haze": haze}


def generate(
    seed: int,
    *,
    um_per_px: float,
    width: int,
    height: int,
    hairless: bool = False,
    regrown: tuple[float, int] | None = None,
    bare_roots: float = 0.0,
) -> tuple[Arr, dict[str, Any]]:
    """One synthetic trichoscopy frame (uint8 RGB, height x width x 3) and its truth.

    ``bare_roots`` (0-1): that share of the units holding hairs are drawn without their
    opening and their hairs' halos (roots on plain skin), chosen from a stream of their own;
    the truth is the same."""
    seed, s, w, h, hairless, again = check_args(seed, um_per_px, width, height, hairless, regrown)
    if not _is_real(bare_roots) or not 0.0 <= float(bare_roots) <= 1.0:
        raise ValueError(f"bare_roots must be a number in [0, 1], got {bare_roots!r}")
    sc = draw_scene(seed, s, w, h)
    _extras(seed, sc)
    cam = draw_camera(seed, sc)
    factor = 1.0
    exposure = 1.0
    if again is None:
        view = View(w, h, s)
        noise = stream(seed, NOISE)
        visit_g = stream(seed, VISIT)
    else:
        factor, seed2 = again
        visit_g = stream(seed, VISIT, abs(seed2), 1 if seed2 < 0 else 0)
        ang = math.radians(float(visit_g.uniform(-2.0, 2.0)))
        tx = float(visit_g.uniform(-0.02, 0.02)) * w * s
        ty = float(visit_g.uniform(-0.02, 0.02)) * h * s
        view = View(w, h, s, ang, tx, ty)
        exposure = float(visit_g.uniform(0.95, 1.05))
        noise = stream(seed2, NOISE, 1)
    pool = build_pool(seed, sc)
    bare = None
    if bare_roots > 0 and not hairless:  # hair-bearing units left without their opening
        bare = np.zeros(pool.x.size, bool)
        bare[pool.slot_unit[pool.selected(factor)]] = True
        bare &= stream(seed, BARE).random(pool.x.size) < bare_roots
    layers = render_skin(seed, sc, pool, bare)
    img, over = _skin_view(layers, view, sc)
    del layers.rgb
    look = {
        "light_az": math.radians(sc.light_azimuth_deg),
        "light_zen": math.radians(sc.light_zenith_deg),
        "dof": sc.extras["dof"],
        "h_focus": sc.extras["h_focus_um"],
        "plate": sc.extras["plate_um"],
    }
    strands: list[Strand] = []
    kinds: dict[str, int] = {}
    if not hairless:
        slots = pool.selected(factor)
        for sp in hair_specs(seed, sc, pool, slots):
            # a hair that cannot reach the frame (nor lies within 200 um of it) is left out
            ex, ey = view.to_px(np.array(sp.x), np.array(sp.y))
            away = float(view.outside_distance_um(ex, ey))
            if away > 200.0 and away > sp.length + 2.5 * sp.coil_r + sp.d0 + 100.0:
                continue
            strands.append(place_strand(sp, sc, view, look))
        strands.sort(key=lambda st: (st.z, st.spec.unit, st.spec.slot))
    hairs: list[dict[str, Any]] = []
    draws: list[dict[str, Any]] = []
    tips: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    masked: list[dict[str, Any]] = []
    stop = cam["field_stop"]

    def dark(x: float, y: float) -> bool:
        """Under the field stop's dark ring: nothing there can be seen."""
        return stop is not None and math.hypot(x - stop["cx"], y - stop["cy"]) >= stop["r_px"]

    for st in strands:
        ex, ey = np.array(st.ex), np.array(st.ey)
        if bool(view.inside(ex, ey)) and dark(st.ex, st.ey):
            masked.append({"x_px": round(st.ex, 4), "y_px": round(st.ey, 4)})
        elif bool(view.inside(ex, ey)):
            hairs.append(
                {
                    "x_px": round(st.ex, 4),
                    "y_px": round(st.ey, 4),
                    "diameter_um": round(st.spec.d0, 3),
                }
            )
            kinds[st.spec.kind] = kinds.get(st.spec.kind, 0) + 1
            sp = st.spec
            draws.append(
                {
                    "kind": sp.kind,
                    "unit": sp.unit,
                    "slot": sp.slot,
                    "length_um": round(sp.length, 1),
                    "end": sp.end,
                    "white": sp.white,
                    "elevation_deg": round(math.degrees(sp.elev), 2),
                    "azimuth_deg": round(math.degrees(sp.azimuth) % 360.0, 2),
                    "coil_radius_um": round(sp.coil_r, 1),
                    "absorption_per_um": [round(float(x), 5) for x in sp.sig_a],
                }
            )
        elif float(view.outside_distance_um(ex, ey)) <= 200.0:
            outside.append({"x_px": round(st.ex, 4), "y_px": round(st.ey, 4)})
        if (
            st.tip is not None
            and bool(view.inside(np.array(st.tip[0]), np.array(st.tip[1])))
            and not dark(st.tip[0], st.tip[1])
        ):
            tips.append(
                {
                    "x_px": round(st.tip[0], 4),
                    "y_px": round(st.tip[1], 4),
                    "cut": bool(st.tip_cut),
                    "diameter_um": round(float(st.tip_d), 3),
                }
            )
    light_level = sc.extras["light_level"]
    if strands:
        if sc.shadow > 0:
            _shadows(img, strands, look, sc)
        _halos(img, strands, sc, bare)
        r = Raster(w, h)
        for st in strands:
            draw_strand(img, r, st, hair_tex(seed, st.spec), s, light_level)
    if over is not None and layers.over_rgb is not None:
        a = over[..., None]
        img *= 1.0 - a
        img += a * layers.over_rgb
    visit_extra: dict[str, float] = {}
    if sc.light == "immersion":
        visit_extra = _bubbles(img, visit_g, sc)
    image = capture(img, cam, s, noise, exposure)
    n = len(hairs)
    area_cm2 = w * h * s * s * 1e-8
    diam = [hh["diameter_um"] for hh in hairs]
    truth: dict[str, Any] = {
        "generator": GENERATOR,
        "width": w,
        "height": h,
        "um_per_px": s,
        "hairs": hairs,
        "density_per_cm2": n / area_cm2,
        "mean_diameter_um": float(np.mean(diam)) if diam else 0.0,
        "vellus_fraction": (sum(1 for d in diam if d < 30.0) / n) if n else 0.0,
        "tips": tips,
        "emergence_outside": outside,
        "emergence_masked": masked,
        "field_stop": cam["field_stop"],
        "factors": {
            "hair_length": "hairless" if hairless else sc.hair_length,
            "hair_colour": sc.hair_colour,
            "skin_tone": sc.skin_tone,
            "scale": factor_scale(s),
            "light": sc.light,
            "visit": "baseline" if again is None else "follow-up",
            "pattern": sc.pattern,
            "curl": sc.curl,
            "density": "sparse" if sc.density < 60 else "normal" if sc.density < 220 else "dense",
            "focus": cam["focus"],
            "field_stop": "yes" if cam["field_stop"] is not None else "no",
        },
        "params": {
            "seed": seed,
            "scene": sc.as_params(),
            "skin": layers.params,
            "camera": cam,
            "visit": {
                "factor": factor,
                "seed2": None if again is None else again[1],
                "angle_deg": math.degrees(view.angle),
                "shift_um": [view.tx, view.ty],
                "exposure": exposure,
                **visit_extra,
            },
            "pool": {
                "units": int(pool.x.size),
                "slots": int(pool.slot_rank.size),
                "baseline_hairs_in_region": pool.n_base,
                "region_um": list(pool.region),
                "hairs_drawn": len(strands),
            },
            "hair_kinds_in_frame": kinds,
            "hair_draws": draws,
        },
    }
    return image, _jsonable(truth)
