"""Pre-processing of the hair model as pure numpy functions: resample, normalise, tile, stitch.

The model sees frames at its native scale (``native_um_per_px``), normalised to
about zero mean, channels first. Large frames are cut into tiles whose *cores*
partition the frame; every tile also carries a margin of context on each side
(at least the network's receptive radius), and only the core of each tile's
output is kept, so a hair on a tile edge lands in exactly one core and is
counted once.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from dermocap.errors import ImageError

F32 = NDArray[np.float32]

# Fixed normalisation (not per image): brightness carries meaning (skin vs hair),
# and a per-tile statistic would make tiles disagree with each other.
NORM_MEAN = 0.45
NORM_STD = 0.25


def native_size(
    width: int, height: int, um_per_px: float, native_um_per_px: float, stride: int
) -> tuple[int, int]:
    """Size (width, height) of the frame at the native scale, rounded to a multiple of ``stride``.

    The rounding changes the scale by less than ``stride / 2`` pixels over the frame
    (under 0.5 % on a full frame), so the resampled image still covers the whole frame.
    """
    if um_per_px <= 0 or native_um_per_px <= 0:
        raise ValueError("um_per_px must be > 0")
    f = um_per_px / native_um_per_px
    w = max(stride, stride * round(width * f / stride))
    h = max(stride, stride * round(height * f / stride))
    return w, h


def resample(img: NDArray[np.generic], width: int, height: int) -> F32:
    """Resize an (h, w, 3) or (h, w) image to (height, width) with an antialiased linear filter.

    Shrinking averages every input pixel (thin vellus shafts fade instead of
    aliasing); enlarging interpolates linearly. Returns float32 in the input's
    value range. Pillow's triangle filter does the work: it is 5-10x faster than
    numpy gathers on a 3-megapixel frame, which matters on a Pi.
    """
    if width < 1 or height < 1:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    if img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8:
        im = Image.fromarray(np.ascontiguousarray(img))
        out8 = np.asarray(im.resize((width, height), Image.Resampling.BILINEAR))
        return out8.astype(np.float32)
    planes = img[..., None] if img.ndim == 2 else img
    if planes.ndim != 3:
        raise ValueError(f"expected an (h, w) or (h, w, c) image, got shape {img.shape}")
    chans = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32)).resize(
                (width, height), Image.Resampling.BILINEAR
            )
        )
        for c in range(planes.shape[2])
    ]
    out: F32 = np.stack(chans, axis=-1).astype(np.float32)
    return out[..., 0] if img.ndim == 2 else out


def _normalise_into(x: F32, src: NDArray[np.generic]) -> None:
    """:func:`normalise` in place: (h, w, 3) RGB into a (3, h, w) float32 view."""
    x[...] = src.transpose(2, 0, 1)
    x *= np.float32(1.0 / 255.0)
    x -= np.float32(NORM_MEAN)
    x *= np.float32(1.0 / NORM_STD)


def normalise(rgb: NDArray[np.generic]) -> F32:
    """(h, w, 3) RGB in 0..255 to the model's (3, h, w) float32 input."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) RGB image, got shape {rgb.shape}")
    x = np.empty((3, rgb.shape[0], rgb.shape[1]), dtype=np.float32)
    _normalise_into(x, rgb)
    return x


def frame_native(
    rgb: NDArray[np.uint8],
    width: int,
    height: int,
    *,
    threads: int = 1,
    pool: Executor | None = None,
) -> NDArray[np.uint8]:
    """A uint8 RGB frame resampled to ``width`` x ``height`` (the model's native scale);
    ``rgb`` itself, not a copy, when it has that size already (read it, do not write to it).

    Kept in 8 bits (a float copy of a rig frame at native scale is 18 MB; this is 4) and
    normalised tile by tile (:func:`native_tile_input`). The output rows are cut into
    ``threads`` bands, each resampled on its own thread (Pillow releases the GIL; its
    ``box`` reads the source rows the filter needs beyond the band too). The calling thread
    does the first band, ``pool`` (made for the call if None) the others. With one thread
    its values are :func:`resample`'s to the bit; with more, the bands' float offsets move a
    few pixels by one grey level (Pillow rounds its filter weights to fixed point).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    if width < 1 or height < 1:
        raise ValueError(f"target size must be positive, got {width}x{height}")
    h, w = rgb.shape[:2]
    if (width, height) == (w, h):
        return rgb
    out = np.empty((height, width, 3), dtype=np.uint8)
    im = Image.fromarray(np.ascontiguousarray(rgb))
    parts = max(1, min(threads, height // 64))
    cuts = [round(i * height / parts) for i in range(parts + 1)]

    def band(i: int) -> None:
        y0, y1 = cuts[i], cuts[i + 1]
        box = (0.0, y0 * h / height, float(w), y1 * h / height)
        out[y0:y1] = np.asarray(im.resize((width, y1 - y0), Image.Resampling.BILINEAR, box=box))

    if parts == 1:
        band(0)
        return out
    ex = pool if pool is not None else ThreadPoolExecutor(parts - 1)
    jobs = [ex.submit(band, i) for i in range(1, parts)]
    band(0)
    for job in jobs:
        job.result()
    if pool is None:
        ex.shutdown()
    return out


@dataclass(frozen=True)
class Tile:
    """One tile's core, in native pixels of the frame: rows y0..y1, columns x0..x1 (exclusive)."""

    y0: int
    y1: int
    x0: int
    x1: int


def plan_tiles(height: int, width: int, core_px: int, stride: int) -> list[Tile]:
    """Cut a frame into tiles whose cores partition it, each core at most ``core_px`` a side.

    Core edges fall on multiples of ``stride`` so that output cells line up; the
    frame size must itself be a multiple of ``stride`` (see :func:`native_size`).
    """
    if height % stride or width % stride:
        raise ValueError(f"frame {width}x{height} is not a multiple of the stride {stride}")
    if core_px < stride:
        raise ValueError(f"core_px {core_px} is smaller than the stride {stride}")

    def cuts(n: int) -> list[int]:
        parts = math.ceil(n / core_px)
        cells = n // stride
        return [stride * round(i * cells / parts) for i in range(parts + 1)]

    ys, xs = cuts(height), cuts(width)
    return [
        Tile(ys[i], ys[i + 1], xs[j], xs[j + 1])
        for i in range(len(ys) - 1)
        for j in range(len(xs) - 1)
    ]


def pad_frame(x: F32, margin_px: int) -> F32:
    """Pad a (c, h, w) model input by ``margin_px`` on every side with zeros (mid-grey)."""
    out: F32 = np.pad(x, ((0, 0), (margin_px, margin_px), (margin_px, margin_px)))
    return out


def tile_input(padded: F32, tile: Tile, margin_px: int) -> F32:
    """The model input of one tile: its core plus ``margin_px`` of context each side.

    ``padded`` is the frame after :func:`pad_frame` with the same margin.
    """
    return padded[:, tile.y0 : tile.y1 + 2 * margin_px, tile.x0 : tile.x1 + 2 * margin_px]


def native_tile_input(native: NDArray[np.uint8], tile: Tile, margin_px: int) -> F32:
    """The (1, 3, h, w) model input of one tile of a :func:`frame_native` frame: its core plus
    ``margin_px`` of context each side, zeros (mid-grey) beyond the frame's edges.

    Equal to the bit to ``tile_input(pad_frame(normalise(native), margin_px), tile,
    margin_px)[None]``, but only the tile is ever in float.
    """
    m = margin_px
    fh, fw = native.shape[:2]
    y0, y1, x0, x1 = tile.y0 - m, tile.y1 + m, tile.x0 - m, tile.x1 + m
    out = np.zeros((1, 3, y1 - y0, x1 - x0), dtype=np.float32)
    sy0, sy1, sx0, sx1 = max(0, y0), min(fh, y1), max(0, x0), min(fw, x1)
    _normalise_into(out[0, :, sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0], native[sy0:sy1, sx0:sx1])
    return out


def stitch(
    outputs: list[F32], tiles: list[Tile], height: int, width: int, margin_px: int, stride: int
) -> F32:
    """Assemble per-tile outputs (c, h/stride, w/stride) into one frame map, cores only.

    Each output cell of the frame is written by exactly one tile, so integrals
    and peaks over the result never count a hair twice.
    """
    if len(outputs) != len(tiles) or not outputs:
        raise ValueError("need one output per tile")
    if margin_px % stride:
        raise ValueError(f"margin {margin_px} is not a multiple of the stride {stride}")
    c = outputs[0].shape[0]
    m = margin_px // stride
    full = np.zeros((c, height // stride, width // stride), dtype=np.float32)
    for out, t in zip(outputs, tiles, strict=True):
        h = (t.y1 - t.y0) // stride
        w = (t.x1 - t.x0) // stride
        core = out[:, m : m + h, m : m + w]
        if core.shape[1:] != (h, w):
            raise ValueError(f"tile output {out.shape} too small for core {h}x{w} cells")
        full[:, t.y0 // stride : t.y1 // stride, t.x0 // stride : t.x1 // stride] = core
    return full


MIN_UM_PER_PX = 0.5
MAX_UM_PER_PX = 50.0


def check_input(rgb: object, um_per_px: float) -> None:
    """Refuse what no analysis can use.

    Raises:
        ImageError: not an (h, w, 3) uint8 array of at least 16x16, or a scale outside
            0.5-50 um/px.
    """
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise ImageError("expected a uint8 RGB image array")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 16:
        raise ImageError(f"expected an (h, w, 3) RGB image of at least 16x16, got {rgb.shape}")
    if not MIN_UM_PER_PX <= um_per_px <= MAX_UM_PER_PX:
        raise ImageError(
            f"um_per_px {um_per_px} is outside {MIN_UM_PER_PX}-{MAX_UM_PER_PX}; "
            "calibrate the rig's scale first"
        )
