"""The twin's optics: sharpness peaks at focus, brightness follows light and exposure."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.config import OpticsConfig, ScalpConfig, SimConfig
from sim.optics import gaussian_blur, linearize
from sim.scalp import generate_scalp
from sim.tools import NEUTRAL_COLOUR_GAINS
from sim.twin import Twin

W, H = 507, 380


def sharpness(img: np.ndarray) -> float:
    g = img.astype(np.float64).mean(axis=2)
    lap = -4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]
    return float(lap.var())


@pytest.fixture(scope="module")
def twin() -> Twin:
    t = Twin(SimConfig(), nominal_um_per_px=5.1667, seed=3)
    t.set_duty(cross=0.6)
    return t


def render(t: Twin, exposure_us: int = 8000, gain: float = 1.0) -> np.ndarray:
    return t.render(
        width=W,
        height=H,
        exposure_us=exposure_us,
        analogue_gain=gain,
        colour_gains=NEUTRAL_COLOUR_GAINS,
    )


def test_sharpness_peaks_at_z_focus(twin: Twin) -> None:
    zf = twin.z_focus_mm
    zs = np.round(np.arange(zf - 1.5, zf + 1.51, 0.25), 3)
    scores = []
    for z in zs:
        twin.z_mm = float(z)
        scores.append(sharpness(render(twin)))
    best = float(zs[int(np.argmax(scores))])
    assert abs(best - zf) < 0.13
    # Monotonic fall-off on both sides of the peak.
    i = int(np.argmax(scores))
    assert all(a >= b for a, b in itertools.pairwise(scores[i:]))
    assert all(a <= b for a, b in itertools.pairwise(scores[: i + 1]))


def test_brightness_follows_led_duty_and_exposure() -> None:
    t = Twin(SimConfig(optics=OpticsConfig(ambient=0.0)), nominal_um_per_px=5.1667, seed=1)
    t.z_mm = t.z_focus_mm
    means = {}
    for duty in (0.2, 0.4):
        for exp in (4000, 8000):
            t.set_duty(cross=duty)
            means[(duty, exp)] = float(linearize(render(t, exp)).mean())
    # Linear in duty and in exposure (within noise): doubling either doubles the signal.
    assert means[(0.4, 4000)] / means[(0.2, 4000)] == pytest.approx(2.0, rel=0.03)
    assert means[(0.2, 8000)] / means[(0.2, 4000)] == pytest.approx(2.0, rel=0.03)
    assert means[(0.4, 4000)] == pytest.approx(means[(0.2, 8000)], rel=0.03)


def test_led_ageing_dims_the_image(twin: Twin) -> None:
    twin.z_mm = twin.z_focus_mm
    before = float(linearize(render(twin)).mean())
    twin.led_efficiency = 0.8
    after = float(linearize(render(twin)).mean())
    twin.led_efficiency = 1.0
    assert after / before == pytest.approx(0.8, rel=0.05)


def test_glare_only_under_the_non_polarised_ring() -> None:
    t = Twin(SimConfig(optics=OpticsConfig(specular=1.5)), nominal_um_per_px=5.1667, seed=2)
    t.z_mm = t.z_focus_mm
    t.set_duty(cross=0.7)
    cross = render(t)
    t.set_duty(parallel=0.7)
    par = render(t)
    assert (par >= 250).mean() > 10 * max((cross >= 250).mean(), 1e-5)


def test_vignetting_darkens_corners(twin: Twin) -> None:
    t = Twin(SimConfig(), nominal_um_per_px=5.1667, seed=2)
    t.show_target()
    t.z_mm = t.z_focus_mm
    t.set_duty(cross=0.6)
    img = linearize(render(t))
    grey = img[:, : W // 2 - 10]  # the grey patch
    centre = grey[H // 2 - 20 : H // 2 + 20, -60:].mean()
    corner = grey[:30, :30].mean()
    assert corner < 0.85 * centre


def test_scalp_ground_truth_matches_config() -> None:
    cfg = ScalpConfig(density_per_cm2=250, vellus_fraction=0.3, extent_mm=20)
    world = generate_scalp(cfg)
    assert len(world.hairs) == round(250 * 4.0)
    vf = float((world.hairs.diameter_um < 30).mean())
    assert abs(vf - 0.3) < 0.05
    assert (world.follicles.hair_count == 0).sum() > 0  # empty follicles exist
    assert set(np.unique(world.follicles.hair_count[world.follicles.hair_count > 0])) <= {
        1,
        2,
        3,
        4,
    }
    # Same config, same world.
    again = generate_scalp(cfg)
    assert np.array_equal(again.hairs.x_mm, world.hairs.x_mm)


def test_truth_counts_only_hairs_in_view() -> None:
    t = Twin(SimConfig(), nominal_um_per_px=5.1667, seed=2)
    full = t.truth()
    t.place(x_mm=100.0)  # off the patch of scalp
    assert t.truth()["hair_count"] == 0
    assert 0.8 * 180 < full["density_per_cm2"] < 1.2 * 180
    assert full["um_per_px"] == pytest.approx(5.1667 * 1.02, rel=1e-6)


def test_gaussian_blur_preserves_mean_and_smooths() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((64, 80, 3)).astype(np.float32)
    for sigma in (1.0, 6.0):
        out = gaussian_blur(img, sigma)
        assert out.shape == img.shape
        assert out.mean() == pytest.approx(img.mean(), rel=1e-3)
        assert out.std() < img.std()
