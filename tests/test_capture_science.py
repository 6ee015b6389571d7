"""The capture protocol's science as pure numpy functions, on synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from capture import metrics as m
from capture.qc import mean_brightness
from capture.registration import align, field_overlap, phase_correlation, rotate
from capture.relocation import describe


def _texture(h: int = 190, w: int = 254, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.random((h // 4 + 2, w // 4 + 2)).astype(np.float32)
    up = np.kron(base, np.ones((4, 4), dtype=np.float32))[:h, :w]
    return m.box_blur(up, 1) + 0.3 * rng.random((h, w)).astype(np.float32)


def test_sharpness_and_focus_ratio_fall_with_blur() -> None:
    img = _texture()
    blurred = m.box_blur(img, 3)
    assert m.sharpness(img) > 3 * m.sharpness(blurred)
    assert m.focus_ratio(img) > m.focus_ratio(blurred) + 0.2


def test_focus_ratio_subtracts_noise_measured_from_a_second_frame() -> None:
    rng = np.random.default_rng(1)
    soft = m.box_blur(_texture(), 4)
    a = soft + 0.02 * rng.standard_normal(soft.shape).astype(np.float32)
    b = soft + 0.02 * rng.standard_normal(soft.shape).astype(np.float32)
    # Noise looks like fine detail on its own; the burst's second frame removes it.
    assert m.focus_ratio(a) > m.focus_ratio(a, b) + 0.2


def test_linear_round_trip_and_grey_stats() -> None:
    img = np.full((10, 10, 3), 128, dtype=np.uint8)
    assert np.array_equal(m.to_uint8(m.linear(img)), img)
    st = m.grey_stats(m.linear(img))
    assert st.uniformity == pytest.approx(0.0, abs=1e-6)
    assert st.mean == pytest.approx((128 / 255) ** 2.2, rel=1e-4)


def test_white_balance_gains_neutralise_a_tinted_patch() -> None:
    gains = m.white_balance_gains((0.2, 0.4, 0.3), (1.0, 1.0))
    assert gains == pytest.approx((2.0, 4 / 3))
    with pytest.raises(ValueError, match="dark"):
        m.white_balance_gains((0.0, 0.4, 0.3), (1.0, 1.0))


def test_clipping_and_glare_fractions() -> None:
    img = np.full((10, 10, 3), 120, dtype=np.uint8)
    img[0, :] = 255  # white, colourless: clipped and glare
    img[1, :] = (255, 40, 40)  # clipped red, not glare
    img[2, :] = 0
    hi, lo = m.clipped_fractions(img)
    assert (hi, lo) == (pytest.approx(0.2), pytest.approx(0.1))
    assert m.glare_fraction(img) == pytest.approx(0.1)


def test_flat_field_fit_recovers_vignetting() -> None:
    h, w = 120, 160
    r2 = m.radial_coordinates(h, w)
    field = (0.5 * (1 - 0.2 * r2 - 0.1 * r2 * r2)).astype(np.float32)
    mask = np.zeros((h, w), dtype=bool)
    mask[:, : w // 2] = True  # only half the frame is the grey patch
    a, b = m.fit_flat_field(field, mask)
    assert (a, b) == (pytest.approx(-0.2, abs=1e-3), pytest.approx(-0.1, abs=1e-3))
    img = m.to_uint8(np.repeat(field[..., None], 3, axis=2))
    flat = m.linear(m.apply_flat_field(img, (a, b)))[..., 1]
    assert flat.std() / flat.mean() < 0.01


@pytest.mark.parametrize("band_rows", [1, 5, 64])
def test_banded_sharpness_equals_the_whole_frame_variance(band_rows: int) -> None:
    g = np.random.default_rng(5).uniform(0, 255, size=(203, 150)).astype(np.float32)
    lap = m.laplacian(g).astype(np.float64)
    assert m.sharpness(g, band_rows=band_rows) == pytest.approx(float(lap.var()), rel=1e-5)


def _focus_ratio_whole_frame(img: np.ndarray, other: np.ndarray) -> float:
    # The definition, on whole frames (what focus_ratio computed before it went banded).
    def energy(a: np.ndarray) -> float:
        a = a.astype(np.float64)
        return float((np.diff(a, axis=1) ** 2).mean() + (np.diff(a, axis=0) ** 2).mean())

    g, o = m.grey(img), m.grey(other)
    d = g - o
    e = energy(g) - energy(d) / 2
    eb = energy(m.box_blur(g, 1)) - energy(m.box_blur(d, 1)) / 2
    return min(1.0, max(0.0, 1.0 - eb / e))


@pytest.mark.parametrize("band_rows", [1, 7, 128, 1000])
def test_banded_focus_ratio_equals_the_whole_frame_one(band_rows: int) -> None:
    rng = np.random.default_rng(3)
    texture = rng.uniform(0, 200, size=(301, 240)).astype(np.float32)
    for scene in (texture, m.box_blur(texture, 2)):  # a sharp and a soft view
        img, other = (
            (scene + rng.normal(0, 2, scene.shape)).clip(0, 255).astype(np.float32)
            for _ in range(2)
        )
        want = _focus_ratio_whole_frame(img, other)
        assert 0.01 < want < 0.99
        assert m.focus_ratio(img, other, band_rows=band_rows) == pytest.approx(want, abs=1e-5)


def test_flat_field_in_display_space_equals_the_linear_round_trip() -> None:
    # apply_flat_field multiplies display values by f ** (-1/gamma); the reference divides
    # linear light by f and goes back to display gamma. They must agree to one grey level.
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8)
    coef = (-0.35, 0.05)
    ff = m.flat_field_map(90, 120, coef)
    reference = m.to_uint8(m.linear(img) / ff[..., None])
    out = m.apply_flat_field(img, coef)
    diff = np.abs(out.astype(np.int16) - reference.astype(np.int16))
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert diff.max() <= 1
    assert np.count_nonzero(diff) < 0.02 * diff.size
    # the corners (darkest in the field) are brightened, the centre nearly untouched
    assert out[0, 0].astype(int).sum() >= img[0, 0].astype(int).sum()


def _flat_field_whole_map(img: np.ndarray, coef: tuple[float, float]) -> np.ndarray:
    # The definition, with a gain for every pixel of the frame (what apply_flat_field cached
    # before it kept a quarter of the map): the same float32 operations, the whole frame.
    h, w = img.shape[:2]
    a, b = np.float32(coef[0]), np.float32(coef[1])
    x = ((np.arange(w) - (w - 1) / 2) / ((w - 1) / 2 or 1)).astype(np.float32) ** 2
    y = ((np.arange(h) - (h - 1) / 2) / ((h - 1) / 2 or 1)).astype(np.float32) ** 2
    r2 = (x[None, :] + y[:, None]) * np.float32(0.5)
    f = np.clip(r2 * a + r2 * r2 * b + np.float32(1.0), 0.05, 2.0).astype(np.float32)
    gain = np.power(f, np.float32(-1.0 / m.DISPLAY_GAMMA))
    v = img.astype(np.float32) * gain[..., None] + np.float32(0.5)
    return np.clip(v, 0.0, 255.0).astype(np.uint8)


@pytest.mark.parametrize("shape", [(90, 120), (91, 121), (1, 7), (6, 1), (33, 2)])
@pytest.mark.parametrize("band_rows", [None, 1, 4, 45, 1000])
def test_flat_field_from_a_quarter_map_equals_the_whole_map(
    shape: tuple[int, int], band_rows: int | None
) -> None:
    # Every pixel, in every band (those across the centre row too), gets its own gain, to
    # the bit: mirrored rows and columns, odd sizes with their centre line.
    rng = np.random.default_rng(11)
    img = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    for coef in ((-0.35, 0.05), (-0.9, 0.3), (0.4, -0.2)):
        want = _flat_field_whole_map(img, coef)
        assert np.array_equal(m.apply_flat_field(img, coef, band_rows=band_rows), want)


@pytest.mark.parametrize("shape", [(203, 150), (260, 37), (9, 5)])
@pytest.mark.parametrize("band_rows", [1, 6, 64, 256])
def test_banded_channel_sum_measures_equal_the_whole_sum_ones(
    shape: tuple[int, int], band_rows: int
) -> None:
    # The burst's measures make the channel sum a band at a time: the same numbers.
    rng = np.random.default_rng(13)
    img = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    whole = m.channel_sum(img)
    assert m.channel_sum_sharpness(img, band_rows=band_rows) == m.sharpness(
        whole, band_rows=band_rows
    )
    for factor in (1, 3, 4):
        banded = m.bin_channel_sum(img, factor, band_rows=band_rows)
        assert np.array_equal(banded, m.bin_image(whole, factor))


def test_mean_brightness_counts_every_value_of_a_large_frame() -> None:
    # An even number of values (counted in pairs), more than two of mean_brightness's
    # chunks, and a partial last chunk.
    img = np.random.default_rng(17).integers(0, 256, size=(614, 701, 3), dtype=np.uint8)
    counts = np.bincount(img.reshape(-1), minlength=256)
    assert mean_brightness(img) == float(counts @ m.LINEAR_LUT) / img.size


@pytest.mark.parametrize("pitch_px", [47.4, 97.3, 189.7])
def test_grid_period_to_a_fraction_of_a_percent(pitch_px: float) -> None:
    n = 900
    x = np.arange(n, dtype=np.float64)
    d = np.abs((x / pitch_px + 0.3) % 1.0 - 0.5) * pitch_px
    profile = 0.8 - 0.7 * np.clip(3.0 - d, 0.0, 1.0)
    assert m.grid_period_px(profile) == pytest.approx(pitch_px, rel=0.002)
    with pytest.raises(ValueError):
        m.grid_period_px(np.random.default_rng(0).random(n) * 0.01 + 0.5)


def test_phase_correlation_finds_a_shift_and_its_sign() -> None:
    a = _texture()
    b = np.roll(a, (3, -5), axis=(0, 1))
    du, dv, peak = phase_correlation(a, b)
    assert (du, dv) == (pytest.approx(-5, abs=0.1), pytest.approx(3, abs=0.1))
    assert peak > 0.3


def test_log_polar_rotation_and_alignment() -> None:
    a = _texture(240, 240, seed=3)
    b = rotate(a, 6.0)
    al = align(a, b)
    assert al.rotation_deg == pytest.approx(6.0, abs=0.4)
    assert abs(al.du_px) < 1.0 and abs(al.dv_px) < 1.0


def test_field_overlap_is_an_area_share() -> None:
    assert field_overlap((100, 200), 0, 0, 0) == pytest.approx(1.0)
    assert field_overlap((100, 200), 50, 0, 0) == pytest.approx(0.75, abs=0.02)
    assert field_overlap((100, 200), 0, 0, 10) < 0.95


def test_guidance_text() -> None:
    text = describe(-0.02, 0.8, -4.2)
    assert text == "move 0.8 mm toward the forehead, rotate 4 deg clockwise"
    assert "left ear" in describe(-0.5, 0.0, 0.0)
    assert describe(0.0, 0.0, 0.1).startswith("hold still")


def test_frame_measures_from_the_channel_sum_equal_those_of_the_grey() -> None:
    from capture import qc

    rng = np.random.default_rng(11)
    frame = m.box_blur(rng.uniform(0, 255, (300, 400)).astype(np.float32), 1)
    rgb = np.stack([frame, frame * 0.8, frame * 0.6], axis=2).clip(0, 255).astype(np.uint8)
    other = np.roll(rgb, 1, axis=1)
    (sharp, noise), g = qc.measure_sharpness(rgb, partner=other), m.grey(rgb)
    brightness, _ = qc.measure_light(rgb)
    assert np.array_equal(m.channel_sum(rgb).astype(np.float32) / 3, g)  # exact, in half the bytes
    assert sharp == pytest.approx(m.sharpness(g), rel=1e-5)
    assert brightness == pytest.approx(float(m.linear(rgb).mean()), rel=1e-6)
    # The burst's noise, measured with the second frame: QC's focus from it and the kept
    # frame's own energies is the two-frame focus ratio of the greys.
    assert noise is not None and qc.measure_sharpness(rgb)[1] is None
    focus = m.focus_from_energies(m.gradient_energies(rgb), noise)
    assert focus == pytest.approx(m.focus_ratio(g, m.grey(other)), abs=1e-6)
    assert m.focus_ratio(rgb, other) == pytest.approx(focus, abs=1e-9)


def test_jpeg_huffman_optimisation_changes_the_file_size_not_the_pixels() -> None:
    import io

    from PIL import Image

    from capture.storage import encode_image

    rng = np.random.default_rng(5)
    img = (m.box_blur(rng.uniform(0, 255, (240, 320)).astype(np.float32), 1)).astype(np.uint8)
    rgb = np.stack([img, img // 2, 255 - img], axis=2)
    plain = encode_image(rgb, "jpeg", jpeg_quality=95)
    optimised = encode_image(rgb, "jpeg", jpeg_quality=95, jpeg_optimize=True)
    assert len(optimised) < len(plain)
    with Image.open(io.BytesIO(plain)) as a, Image.open(io.BytesIO(optimised)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
