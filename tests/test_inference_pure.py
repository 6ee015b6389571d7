"""Pure pre- and post-processing of the hair model: resampling, tiling, stitching, peaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.model import HairModel, ModelSpec
from inference.postprocess import (
    Peaks,
    find_peaks,
    integrate,
    unit_masses,
    unit_shares,
    unit_sizes,
    window_sum,
)
from inference.preprocess import (
    frame_native,
    native_size,
    native_tile_input,
    normalise,
    pad_frame,
    plan_tiles,
    resample,
    stitch,
    tile_input,
)
from inference.runtime import FunctionRuntime
from inference.targets import density_targets


def test_native_size_is_a_stride_multiple_close_to_the_scale() -> None:
    w, h = native_size(2028, 1520, 5.1667, 8.0, 4)
    assert (w % 4, h % 4) == (0, 0)
    assert abs(w - 2028 * 5.1667 / 8) <= 2 and abs(h - 1520 * 5.1667 / 8) <= 2
    with pytest.raises(ValueError):
        native_size(10, 10, 0.0, 8.0, 4)


def test_resample_keeps_brightness_and_mass() -> None:
    flat = np.full((90, 120, 3), 77, dtype=np.uint8)
    assert np.allclose(resample(flat, 61, 47), 77, atol=0.5)
    impulse = np.zeros((64, 64), dtype=np.float32)
    impulse[30, 30] = 1.0
    small = resample(impulse, 32, 32)
    assert small.shape == (32, 32)
    assert small.sum() * 4 == pytest.approx(1.0, rel=0.02)  # area-preserving when shrinking
    big = resample(impulse, 128, 128)
    assert big.max() < 1.0 and big.sum() / 4 == pytest.approx(1.0, rel=0.05)


def test_normalise_is_channels_first_and_centred() -> None:
    x = normalise(np.full((4, 5, 3), 115, dtype=np.uint8))
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    assert abs(float(x.mean())) < 0.05
    with pytest.raises(ValueError):
        normalise(np.zeros((4, 5), dtype=np.uint8))


@pytest.mark.parametrize(("width", "height"), [(122, 92), (200, 150), (331, 250), (160, 120)])
def test_frame_native_is_resample_in_8_bits(width: int, height: int) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    rgb[40:60] = 30  # edges, where the filter's weights matter
    want = pad_frame(normalise(resample(rgb, width, height)), 8)
    assert np.array_equal(pad_frame(normalise(frame_native(rgb, width, height)), 8), want)
    banded = pad_frame(normalise(frame_native(rgb, width, height, threads=2)), 8)
    assert banded.shape == want.shape
    assert np.abs(banded - want).max() <= 1.01 / 255 / 0.25  # at most one grey level
    with pytest.raises(ValueError):
        frame_native(rgb.astype(np.float32), width, height)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("width", "height", "threads"), [(160, 120, 1), (200, 152, 1), (248, 184, 2)]
)
def test_tile_inputs_from_the_8_bit_frame_equal_the_padded_float_frame(
    width: int, height: int, threads: int
) -> None:
    """The runtime normalises one tile at a time from the resampled 8-bit frame: the same
    bits as cutting tiles from the padded float frame, edges and a frame already at the
    native size included, with a fraction of the memory."""
    rgb = np.random.default_rng(5).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    native = frame_native(rgb, width, height, threads=threads)
    padded = pad_frame(normalise(native), 8)
    assert native.dtype == np.uint8 and native.shape == (height, width, 3)
    if (width, height) == (160, 120):
        assert native is rgb  # nothing to resample, nothing copied
    tiles = plan_tiles(height, width, 48, 4)
    assert len(tiles) > 4
    for t in tiles:
        want = np.ascontiguousarray(tile_input(padded, t, 8)[None])
        got = native_tile_input(native, t, 8)
        assert got.flags.c_contiguous and got.dtype == np.float32
        assert np.array_equal(got, want)


@pytest.mark.parametrize(("h", "w", "core"), [(96, 160, 64), (100, 52, 1024), (36, 36, 8)])
def test_tile_cores_partition_the_frame(h: int, w: int, core: int) -> None:
    tiles = plan_tiles(h, w, core, 4)
    cover = np.zeros((h, w), dtype=np.int64)
    for t in tiles:
        assert t.y0 % 4 == 0 and t.x1 % 4 == 0
        assert t.y1 - t.y0 <= core + 4 and t.x1 - t.x0 <= core + 4
        cover[t.y0 : t.y1, t.x0 : t.x1] += 1
    assert (cover == 1).all()
    with pytest.raises(ValueError):
        plan_tiles(h + 1, w, core, 4)


def _pool4(batch: np.ndarray) -> np.ndarray:
    """A fake network: 4x4 sums of 'dark' pixels (channel 0 below -1.2) in all three maps."""
    n, _, h, w = batch.shape
    dark = (batch[:, 0] < -1.2).astype(np.float32)
    cells = dark.reshape(n, h // 4, 4, w // 4, 4).sum(axis=(2, 4))
    return np.repeat(cells[:, None], 3, axis=1) * np.array([1, 0, 0.6], np.float32)[:, None, None]


def test_stitched_tiles_equal_one_pass() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (3, 96, 128)).astype(np.float32)
    padded = pad_frame(x, 8)
    whole = _pool4(padded[None])[0][:, 2:-2, 2:-2]
    tiles = plan_tiles(96, 128, 40, 4)
    outs = [_pool4(tile_input(padded, t, 8)[None])[0] for t in tiles]
    assert len(tiles) > 4
    assert np.array_equal(stitch(outs, tiles, 96, 128, 8, 4), whole)


def _fake_model(tile_px: int) -> HairModel:
    info = ModelSpec("fake", "0", "0" * 64, Path("fake.onnx"), 8.0, 4, 8, 100.0, 30.0)
    return HairModel(FunctionRuntime(_pool4), info, tile_px=tile_px)


@pytest.mark.parametrize("tile_px", [32, 48, 4096])
def test_hair_on_a_tile_edge_is_counted_once(tile_px: int) -> None:
    rgb = np.full((96, 128, 3), 200, dtype=np.uint8)
    rgb[40, 63:65] = 0  # straddles the core edge at x=64 of 32-px tiles
    rgb[31:33, 95] = 0  # straddles a row edge and sits next to a column edge
    m = _fake_model(tile_px).analyze(rgb, um_per_px=8.0)
    assert m.hair_count == 4  # four dark pixels, each in exactly one core
    assert m.mean_diameter_um == pytest.approx(60.0)


def test_peaks_find_units_and_their_hair_counts() -> None:
    x = np.array([20.0, 20.3, 60.0, 100.0, 100.2, 99.8])
    y = np.array([20.0, 19.8, 50.0, 30.0, 30.1, 29.9])
    d = np.array([60.0, 80.0, 20.0, 70.0, 70.0, 70.0])
    maps = density_targets(x, y, d, 80, 128, 4)
    tot = integrate(maps, 100.0)
    assert tot.hairs == pytest.approx(6.0, abs=0.02)
    assert tot.vellus == pytest.approx(1.0, abs=0.01)
    assert tot.diameter_um_sum == pytest.approx(d.sum(), rel=0.01)
    peaks = find_peaks(maps[0] + maps[1], maps[2])
    order = np.argsort(peaks.col)
    sizes = unit_sizes(peaks.mass[order])
    assert sizes.tolist() == [2, 1, 3]
    assert unit_sizes(unit_masses(maps[0] + maps[1], peaks)[order]).tolist() == [2, 1, 3]
    assert np.allclose(peaks.diameter_um[order], [70, 20, 70], atol=1.5)
    # Cell centres sit at (i + 0.5) * stride - 0.5 native pixels.
    assert np.allclose((peaks.col[order] + 0.5) * 4 - 0.5, [20.15, 60, 100], atol=0.5)
    assert unit_shares(sizes) == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0])
    assert unit_shares(np.zeros(0, dtype=np.int64)) == [0.0, 0.0, 0.0, 0.0]


def test_a_units_hairs_are_the_count_nearest_it_within_its_radius() -> None:
    """A unit of three hairs whose count the net spread along their shafts (one hair's worth
    at the opening, the rest 3-4 cells out, beyond a 5 x 5 window): the unit's cells hold all
    three. A second unit's cells are its own even where they lie within the first's radius;
    count beyond every unit's radius belongs to none."""
    m = np.zeros((30, 40), dtype=np.float32)
    m[10, 10] = 1.0  # the opening
    m[10, 13] = m[10, 14] = 0.5  # along one shaft, 3-4 cells out
    m[14, 10] = 1.0  # along another
    m[10, 20] = 0.6  # a lone hair's unit 10 cells away
    m[10, 17] = 0.3  # nearer the lone hair (3 cells) than the opening (7)
    m[25, 35] = 0.4  # 15+ cells from both: no unit's
    pts = Peaks(
        row=np.array([10.2, 9.8]),  # centroids: to the nearest cell
        col=np.array([10.0, 20.3]),
        mass=np.array([1.0, 0.6]),
        diameter_um=np.array([60.0, 60.0]),
    )
    assert unit_masses(m, pts) == pytest.approx([3.0, 0.9])
    assert unit_masses(m, pts, radius_cells=2.0) == pytest.approx([1.0, 0.6])
    assert unit_sizes(unit_masses(m, pts)).tolist() == [3, 1]
    assert unit_masses(m, find_peaks(np.zeros_like(m), np.zeros_like(m))).shape == (0,)


def test_targets_keep_the_share_of_an_edge_hair_and_window_sums_are_exact() -> None:
    maps = density_targets(np.array([-0.5]), np.array([40.0]), np.array([50.0]), 80, 80, 4)
    assert 0.3 < float(maps[0].sum()) < 0.7
    a = np.random.default_rng(1).random((7, 9)).astype(np.float32)
    ws = window_sum(a, 1)
    assert ws.shape == a.shape
    assert ws[3, 4] == pytest.approx(a[2:5, 3:6].sum(), rel=1e-6)
    assert ws[0, 0] == pytest.approx(a[:2, :2].sum(), rel=1e-6)


def test_the_count_is_the_signed_sum_of_both_maps_clamped_once() -> None:
    """Bare skin where the terminal map sums to +8 hairs and the vellus map to -8: no hairs,
    as training and the self-check count them, not the 8 two separate clamps gave."""
    maps = np.zeros((3, 10, 10), dtype=np.float32)
    maps[0] = 8.0 / 100
    maps[1] = -8.0 / 100
    bare = integrate(maps, 100.0)
    assert bare.hairs == pytest.approx(0.0, abs=1e-6)
    assert (bare.terminal, bare.vellus) == (0.0, 0.0)
    maps[1] = -2.0 / 100  # 8 terminal less 2 vellus: 6 hairs, all terminal
    some = integrate(maps, 100.0)
    assert some.hairs == pytest.approx(6.0) and some.vellus == 0.0
    assert some.terminal == pytest.approx(6.0)
    maps[0], maps[1] = 3.0 / 100, 1.0 / 100  # both positive: as before
    both = integrate(maps, 100.0)
    assert (both.terminal, both.vellus) == (pytest.approx(3.0), pytest.approx(1.0))
    maps[0], maps[1] = -3.0 / 100, 1.0 / 100  # a negative total reads as no hairs
    assert integrate(maps, 100.0).hairs == 0.0
