"""Roots on plain skin: ``bare_roots`` of the five training generators (blind-1, -2, -3, -6, -7).

Every training generator draws a hair's root in a visible opening; ``bare_roots`` (0-1) leaves
that share of the hair-bearing openings undrawn (no pit, dimple, halo or dark ring), the hairs
and the truth being the same, so that training need not reward the opening as the mark of a
root (sim/generality/train_frames.py, ``--bare-roots``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage

from sim import blind, blind2, blind3, blind6, blind7

Generate = Callable[..., tuple[NDArray[np.uint8], dict[str, Any]]]
LUMA = np.array([0.2126, 0.7152, 0.0722])
W, H = 256, 192
ROOT_UM = 40.0  # the skin around a root: within this of its emergence point
FAR_UM = 300.0  # pixels this far from every emergence point (and the border) are "far"

# (generator, seed, um/px, far pixels exactly the same): frames of training seeds with a few
# hair-bearing openings in a small frame. blind-2 meters its exposure on the image and blind-7
# on the skin's median, so lighter roots shift every pixel a little; blind-6's Poisson noise
# takes a varying count of draws per pixel, so one changed pixel redraws the noise after it
# (the same noise in law, another realisation).
CASES = {
    "blind": (blind.generate, 3_080_001, 7.7, True),
    "blind2": (blind2.generate, 3_110_006, 7.2, False),
    "blind3": (blind3.generate, 3_140_014, 7.9, True),
    "blind6": (blind6.generate, 3_230_000, 10.75, False),
    "blind7": (blind7.generate, 3_260_005, 4.05, False),
}


def _frame(name: str, share: float, hairless: bool = False) -> tuple[NDArray[Any], dict[str, Any]]:
    generate, seed, upp, _ = CASES[name]
    return generate(seed, um_per_px=upp, width=W, height=H, hairless=hairless, bare_roots=share)


def _text(truth: dict[str, Any]) -> str:
    def plain(o: Any) -> Any:
        return o.tolist() if isinstance(o, np.ndarray | np.generic) else repr(o)

    return json.dumps(truth, sort_keys=True, default=plain)


@pytest.mark.parametrize("name", CASES)
def test_bare_roots_leave_the_truth_and_far_skin_and_lighten_the_skin_at_the_roots(
    name: str,
) -> None:
    img0, truth0 = _frame(name, 0.0)
    img1, truth1 = _frame(name, 1.0)
    assert _text(truth1) == _text(truth0)
    assert not np.array_equal(img1, img0)
    upp, exact = CASES[name][2], CASES[name][3]
    l0, l1 = img0.astype(np.float64) @ LUMA, img1.astype(np.float64) @ LUMA
    roots = [(h["x_px"], h["y_px"]) for h in truth0["hairs"]]
    assert len(roots) >= 4
    yy, xx = np.mgrid[0:H, 0:W]
    lighter = []
    for x, y in roots:
        near = (xx - x) ** 2 + (yy - y) ** 2 <= (ROOT_UM / upp) ** 2
        lighter.append(float(l1[near].mean() - l0[near].mean()))
    # grey levels of 255; a root whose opening was drawn invisible anyway does not change
    assert np.mean(lighter) > 2.0 and np.mean(np.array(lighter) > 0.5) >= 0.5
    # far from every emergence point the skin is what it was
    seeds = np.zeros((H, W), bool)
    for h in truth0["hairs"] + truth0.get("emergence_outside", []):
        i, j = round(h["y_px"]), round(h["x_px"])
        if 0 <= i < H and 0 <= j < W:
            seeds[i, j] = True
    edge = int(np.ceil(200.0 / upp))
    far = ndimage.distance_transform_edt(~seeds) * upp > FAR_UM
    far[:edge], far[-edge:], far[:, :edge], far[:, -edge:] = False, False, False, False
    assert far.sum() > 1000
    diff = (l1 - l0)[far]
    if exact:
        assert not diff.any()
    else:
        assert abs(float(diff.mean())) < min(0.6, np.mean(lighter) / 5)


@pytest.mark.parametrize("name", CASES)
def test_empty_openings_stay_drawn(name: str) -> None:
    """A hairless frame holds only empty openings: every share draws it the same."""
    img0, truth0 = _frame(name, 0.0, hairless=True)
    img1, truth1 = _frame(name, 1.0, hairless=True)
    assert np.array_equal(img1, img0) and _text(truth1) == _text(truth0)


@pytest.mark.parametrize("name", CASES)
def test_a_share_of_zero_draws_what_no_share_draws_and_one_outside_is_refused(name: str) -> None:
    generate, seed, upp, _ = CASES[name]
    img, truth = generate(seed, um_per_px=upp, width=64, height=48)
    img0, truth0 = generate(seed, um_per_px=upp, width=64, height=48, bare_roots=0.0)
    assert np.array_equal(img0, img) and _text(truth0) == _text(truth)
    for bad in (-0.1, 1.5, float("nan"), "half"):
        with pytest.raises(ValueError, match="bare_roots"):
            generate(seed, um_per_px=upp, width=64, height=48, bare_roots=bad)


def test_a_share_leaves_about_that_share_of_the_openings_undrawn() -> None:
    """Half the hair-bearing units of blind-1 lose their opening: the skin changes at some
    roots and not at others (each unit's draw is its own)."""
    img0, truth = _frame("blind", 0.0)
    img_half, _ = _frame("blind", 0.5)
    img1, _ = _frame("blind", 1.0)
    upp = CASES["blind"][2]
    yy, xx = np.mgrid[0:H, 0:W]
    moved_half, moved_all = [], []
    for h in truth["hairs"]:
        near = (xx - h["x_px"]) ** 2 + (yy - h["y_px"]) ** 2 <= (ROOT_UM / upp) ** 2
        moved_half.append(not np.array_equal(img_half[near], img0[near]))
        moved_all.append(not np.array_equal(img1[near], img0[near]))
    assert any(moved_half) and sum(moved_half) < sum(moved_all)
