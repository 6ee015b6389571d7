"""A near-lossless predictive codec in the manner of JPEG-LS (LOCO-I), as DICOM archives
store dermoscopy: each sample is predicted by the median edge detector from its left, upper
and upper-left neighbours *as the decoder will see them*, and the residual is quantised so
that no sample moves by more than ``near`` levels. What comes back is the decoder's image.

The dependence on the left neighbour makes a row sequential, so the image is swept by
anti-diagonals (every sample on one needs only the diagonal before it)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def near_lossless(img: NDArray[np.uint8], near: int) -> NDArray[np.uint8]:
    """``img`` (H, W, C) after encoding and decoding with error bound ``near`` (0: as is)."""
    if near <= 0:
        return img
    h, w, c = img.shape
    src = img.astype(np.int32)
    rec = np.zeros((h + 1, w + 1, c), np.int32)  # a row and a column of zeros before
    step = 2 * near + 1
    for d in range(h + w - 1):
        i = np.arange(max(0, d - w + 1), min(h - 1, d) + 1)
        j = d - i
        if d < h:
            rec[d + 1, 0] = rec[d, 1]  # the first column's left neighbour: the one above
        a = rec[i + 1, j]
        b = rec[i, j + 1]
        cc = rec[i, j]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        pred = np.where(cc >= hi, lo, np.where(cc <= lo, hi, a + b - cc))
        err = src[i, j] - pred
        q = np.sign(err) * ((np.abs(err) + near) // step)
        rec[i + 1, j + 1] = np.clip(pred + q * step, 0, 255)
    out: NDArray[np.uint8] = rec[1:, 1:].astype(np.uint8)
    return out
