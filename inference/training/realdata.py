"""A clinic's annotated images as training samples (the fine-tuning format)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dermocap.images import decode_rgb
from inference.preprocess import native_size, resample
from inference.targets import N_TRAIN_MAPS, TIP_MAP, density_targets

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]


def load_real_dir(
    folder: Path, native_um_per_px: float, stride: int, *, tips: bool = False
) -> list[tuple[U8, F32]]:
    """Native-scale images and target maps from a folder of annotated real images.

    Format: ``NAME.png`` (or ``.jpg``) + ``NAME.json``
    ``{"um_per_px": 5.2, "hairs": [{"x_px": .., "y_px": .., "diameter_um": ..}]}`` listing
    every emergence point (pixel coordinates, origin at the top-left pixel's centre).
    Shafts are not annotated: that map stays 0 and carries no weight. With ``tips``, every
    file must also list its cut tips (``"tips": [{"x_px": .., "y_px": ..}]``, as
    ``scripts/export_generator_frames.py`` writes them; none is an empty list), and they
    fill the tip map (``TrainSettings.frame_tips`` then trains it); without, it stays 0.
    Raises ValueError naming the file when one is incomplete.
    """
    out: list[tuple[U8, F32]] = []
    for js in sorted(folder.glob("*.json")):
        img_path = next(
            (p for p in (js.with_suffix(s) for s in (".png", ".jpg", ".jpeg")) if p.exists()), None
        )
        if img_path is None:
            raise ValueError(f"{js}: no image NAME.png / NAME.jpg beside it")
        ann = json.loads(js.read_text())
        rgb = decode_rgb(img_path, colour=True)
        h, w = rgb.shape[:2]
        nw, nh = native_size(w, h, float(ann["um_per_px"]), native_um_per_px, stride)
        nat = np.clip(resample(rgb, nw, nh) + 0.5, 0, 255).astype(np.uint8)
        hs = ann["hairs"]
        x, y = native_positions(hs, nw, w, nh, h)
        d = np.array([p["diameter_um"] for p in hs], dtype=np.float64)
        tgt = np.zeros((N_TRAIN_MAPS, nh // stride, nw // stride), dtype=np.float32)
        tgt[:3] = density_targets(x, y, d, nh, nw, stride)
        if tips:
            if not isinstance(ann.get("tips"), list):
                raise ValueError(
                    f'{js}: no "tips" list (cut tips), which --frame-tips needs: export '
                    "generator frames again with scripts/export_generator_frames.py; give a "
                    "clinic's own annotated file its cut tips (an empty list if it has none, "
                    "which marks every cell tip-free), or train without --frame-tips"
                )
            tx, ty = native_positions(ann["tips"], nw, w, nh, h)
            zero = np.zeros(len(tx))  # diameter 0: each tip's Gaussian in map 1
            tgt[TIP_MAP] = density_targets(tx, ty, zero, nh, nw, stride)[1]
        out.append((nat, tgt))
    if not out:
        raise ValueError(f"{folder}: no annotated images (NAME.json + NAME.png) found")
    return out


def native_positions(
    points: list[dict[str, float]], nw: int, w: int, nh: int, h: int
) -> tuple[F64, F64]:
    """Pixel positions in a ``w`` x ``h`` frame scaled into the ``nw`` x ``nh`` native image
    (pixel centres at integers in both). Computed as ``(x + 0.5) * nw / w - 0.5``, in that
    order: the targets, and so a checkpoint's start digest and the shipped files, depend on
    the last bit."""
    x = (np.array([p["x_px"] for p in points], dtype=np.float64) + 0.5) * nw / w - 0.5
    y = (np.array([p["y_px"] for p in points], dtype=np.float64) + 0.5) * nh / h - 0.5
    return x, y


def random_crop(
    rng: np.random.Generator, img: U8, tgt: F32, crop_px: int, stride: int
) -> tuple[U8, F32]:
    """A ``crop_px`` square of a larger native image, aligned to the output cells."""
    h, w = img.shape[:2]
    if h < crop_px or w < crop_px:
        img = np.pad(img, ((0, max(0, crop_px - h)), (0, max(0, crop_px - w)), (0, 0)), "edge")
        tgt = np.pad(
            tgt, ((0, 0), (0, max(0, crop_px - h) // stride), (0, max(0, crop_px - w) // stride))
        )
        h, w = img.shape[:2]
    cy = int(rng.integers(0, (h - crop_px) // stride + 1))
    cx = int(rng.integers(0, (w - crop_px) // stride + 1))
    n = crop_px // stride
    return (
        img[cy * stride : cy * stride + crop_px, cx * stride : cx * stride + crop_px],
        tgt[:, cy : cy + n, cx : cx + n],
    )
