"""Image decoding, written once: any file Pillow reads, as (h, w, 3) uint8 RGB, or a clear error.

Pillow's own ``convert("RGB")`` is wrong for two kinds of files a clinic meets: 16-bit
grayscale (values above 255 are clipped, so the image turns white) and transparency (the
colour behind transparent pixels is arbitrary). :func:`decode_rgb` scales 16- and 32-bit
samples to 8 bits, refuses transparent pixels, converts palette, CMYK and the other modes
through Pillow, and refuses a header that declares more pixels than ``max_pixels`` before
decoding anything (a decompression bomb). The hair model measures colour: callers that feed
it pass ``colour=True``, and a grayscale image (by mode, or with three equal channels) is
refused, since no conversion gives back the colour the model reads (on a twin render its
density is ~25 % off).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from dermocap.errors import ImageError

MAX_PIXELS = 40_000_000
"""The largest image decoded by default: 3x the HQ camera's full 12.3 MP frame."""

_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def decode_rgb(
    source: Path | bytes | BinaryIO,
    *,
    name: str | None = None,
    colour: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> NDArray[np.uint8]:
    """Decode an image file (a path, its bytes or a binary file) as (h, w, 3) uint8 RGB.

    Args:
        source: the image.
        name: how to call the image in errors (default: the path, or "image").
        colour: refuse grayscale images (the hair model needs colour).
        max_pixels: refuse images whose header declares more pixels than this.

    Raises:
        ImageError: missing, not an image, larger than ``max_pixels``, with transparent
            pixels, or grayscale where ``colour`` is asked; the message names the image and
            says what to do.
    """
    label = name or (str(source) if isinstance(source, Path) else "image")
    stream: Path | BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its own limit and twice it: make that an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageError(_too_big(label, w, h, max_pixels))
                im.load()
                return _to_rgb(im, label, colour=colour)
    except FileNotFoundError:
        raise ImageError(f"image {label} not found: check the path") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(
            f"image {label} declares more pixels than Pillow will decode ({exc}): it is not a "
            "dermoscope capture; resize it or leave it out"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(
            f"image {label} is not a readable image ({exc}): check that the file is a "
            "complete PNG, JPEG or TIFF"
        ) from None


def _too_big(label: str, w: int, h: int, max_pixels: int) -> str:
    return (
        f"image {label} declares {w}x{h} pixels ({w * h / 1e6:.0f} MP), more than the "
        f"{max_pixels / 1e6:.0f} MP decoded: it is not a dermoscope capture (or is a "
        "decompression bomb); resize it or leave it out"
    )


def _to_rgb(im: Image.Image, label: str, *, colour: bool) -> NDArray[np.uint8]:
    mode = im.mode
    if colour and mode in _GREY_MODES:
        raise ImageError(_grey(label, f"a grayscale image (mode {mode})"))
    if mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode == "P":
        im = im.convert("RGB")
    if im.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        alpha = np.asarray(im.getchannel("A"))
        if int(alpha.min()) < 255:
            raise ImageError(
                f"image {label} has transparent pixels ({int((alpha < 255).sum())}): the "
                "colour behind them is unknown; export it without transparency"
            )
        im = im.convert("RGB") if im.mode != "LA" else im.convert("L")
    rgb = _grey_to_rgb(im) if im.mode in _GREY_MODES else np.asarray(im.convert("RGB"))
    if colour and rgb.shape[2] == 3 and _channels_equal(rgb):
        raise ImageError(_grey(label, "grey (its three channels are equal)"))
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def _grey_to_rgb(im: Image.Image) -> NDArray[np.uint8]:
    """Grayscale of any depth to 8-bit RGB (three equal channels)."""
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        top = 1.0 if float(np.nanmax(a, initial=0.0)) <= 1.0 else 255.0
        grey = np.clip(np.nan_to_num(a) / top * 255.0 + 0.5, 0, 255)
    elif im.mode.startswith("I"):
        a = np.asarray(im).astype(np.int64)
        # 16-bit samples (and 32-bit ones holding 16-bit data, as Pillow gives 16-bit PNGs)
        # scale by 65535/255 = 257; data that fits in 8 bits is taken as it is.
        wide = im.mode.startswith("I;16") or int(a.max(initial=0)) > 255
        grey = np.clip(a, 0, 65535) / 257.0 + 0.5 if wide else np.clip(a, 0, 255)
    else:
        grey = np.asarray(im.convert("L"))
    g8 = np.asarray(grey).astype(np.uint8)
    return np.repeat(g8[:, :, None], 3, axis=2)


def _channels_equal(rgb: NDArray[np.uint8]) -> bool:
    return bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    )


def _grey(label: str, what: str) -> str:
    return (
        f"image {label} is {what}: the hair model measures colour images and a grey one "
        "reads a wrong density; analyse the rig's colour capture (or an RGB export of it)"
    )
