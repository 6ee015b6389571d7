"""The training loop: loss, schedule, and checkpoints that resume where a run stopped."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from dermocap.fsutil import sha256_file
from inference.preprocess import normalise
from inference.targets import (
    N_MAPS,
    N_TRAIN_MAPS,
    ROOT_OUT,
    SHAFT_MAP,
    TIP_MAP,
    density_targets,
)
from inference.training.net import freeze_batchnorm, load_onnx_weights, make_net
from inference.training.realdata import random_crop

log = logging.getLogger(__name__)

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]

# The net learns 100x the density (a near-zero map must not look cheap); folded into the head.
TARGET_GAIN = 100.0
SHAFT_GAIN = 10.0  # the shaft map is 0/1 per cell
BLOCK_CELLS = 4  # cells a side of the blocks of the count term of the loss
BORDER_CELLS = 2  # cells at the crop edge: the net lacks context there
COUNT_NORMS = ("square", "abs", "relative")  # TrainSettings.count_norm


@dataclass(frozen=True)
class TrainSettings:
    """One training run; the defaults are the shipped model's."""

    steps: int = 9000
    batch: int = 16
    lr: float = 1e-3
    width: int = 40
    body: str = "plain"
    block_weight: float = 1.0  # the 4x4-cell block-mean term
    aux_weight: float = 0.5  # predicting tips and shafts
    negative_weight: float = 0.0  # extra weight on count mass over tips and shafts (see loss_terms)
    root_weight: float = 0.0  # 0: off; else a root map is predicted too (see root_term)
    count_weight: float = 0.0  # the crop's whole count (see loss_terms)
    count_norm: str = "square"  # how its error is priced: square, abs or relative
    photometric: float = 0.0  # share of crops given a random colour and tone (see photometric)
    sensor_noise: float = 0.0  # share of crops given a camera's noise (see sensor_noise)
    average_from: float = 0.0  # 0: off; else share of the run after which weights are averaged
    mixstyle: float = 0.0  # chance per batch that each stem layer mixes crops' feature statistics
    pair_weight: float = 0.0  # the change between two visits of one crop (see pair_term)
    pair_share: float = 0.25  # share of a batch's crops that come as pairs (with pair_weight)
    pair_set: str = ""  # which pairs were given (recorded: tells checkpoints apart)
    seed: int = 1
    threads: int = 1
    real_share: float = 0.5
    frame_tips: bool = False  # real frames list their cut tips: train the tip map on them too
    frame_tip_pits: float = 0.0  # share of frame crops given a dimple under cut tips (tip_pits)
    crop_px: int = 192
    stride: int = 4
    checkpoint_every: int = 250


def augment(rng: np.random.Generator, img: U8, tgt: F32) -> tuple[U8, F32]:
    """Flips and quarter turns (the physics has no preferred direction), of one sample
    (image (h, w, 3), targets (maps, cells, cells)) or of a pair stacked before and after
    (image (2, h, w, 3), targets (2, maps, cells, cells)), both visits turned alike."""
    k = int(rng.integers(4))
    img, tgt = np.rot90(img, k, axes=(-3, -2)), np.rot90(tgt, k, axes=(-2, -1))
    if rng.random() < 0.5:
        img, tgt = np.flip(img, axis=-2), np.flip(tgt, axis=-1)
    return np.ascontiguousarray(img), np.ascontiguousarray(tgt)


def photometric(rng: np.random.Generator, img: U8) -> U8:
    """``img`` in a colour and tone the renderer did not draw (domain randomisation).

    White-balance gains per channel, a hue rotation and a saturation change of the chroma
    (now and then none: grey), a gamma and a contrast change, and sensor noise. Positions
    do not move, so the crop's targets stay right. Wider than any camera's errors on
    purpose: the model must find hairs by their shape, not by one palette.
    """
    x = img.astype(np.float32) / 255.0
    x *= np.exp(rng.normal(0.0, 0.12, 3)).astype(np.float32)
    # Chroma: luma plus two opponent axes, rotated and scaled.
    y = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    c1, c2 = x[..., 0] - y, x[..., 2] - y
    a = rng.uniform(-0.7, 0.7)  # radians, about +-40 degrees
    sat = 0.0 if rng.random() < 0.1 else rng.uniform(0.5, 1.5)
    r1 = sat * (np.cos(a) * c1 - np.sin(a) * c2)
    r2 = sat * (np.sin(a) * c1 + np.cos(a) * c2)
    g = y - (0.299 * r1 + 0.114 * r2) / 0.587  # keeps the luma
    x = np.stack([y + r1, g, y + r2], axis=-1)
    x = np.clip(x, 0.0, 1.0) ** np.float32(np.exp(rng.uniform(-0.4, 0.4)))
    m = x.mean()
    x = (x - m) * np.float32(rng.uniform(0.7, 1.3)) + m
    x += rng.normal(0.0, rng.uniform(0.0, 0.02), x.shape).astype(np.float32)
    out: U8 = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return out


def sensor_noise(rng: np.random.Generator, img: U8) -> U8:
    """``img`` as a noisier camera would give it: shot noise (growing with the light) and read
    noise, mostly in luminance, of a grain of 1-3 pixels (a sensor's noise after demosaicing
    and upscaling is not independent from pixel to pixel), half the time sharpened after it
    (cheap cameras sharpen hard, and their noise with it). Positions do not move.

    Wider than most cameras on purpose: a knock-out on blind-9's frames (docs/model_card.md,
    "After 2.11.0: what blind-9's frames read as hair") found sensor noise on lying shafts
    counted as hair. c45, 2.11.0's recipe with this on half the crops, read every judge higher
    and was not shipped ("After the knock-out: a camera's noise in training").
    """
    x = img.astype(np.float32) / 255.0
    h, w = x.shape[:2]
    grain = float(rng.uniform(1.0, 3.0))
    gh, gw = max(2, round(h / grain)), max(2, round(w / grain))
    shot = rng.uniform(0.0, 0.05)  # sigma at full scale, times sqrt of the light
    read = rng.uniform(0.0, 0.03)
    luma = rng.normal(0.0, 1.0, (gh, gw, 1))
    chroma = rng.normal(0.0, 1.0, (gh, gw, 3)) * rng.uniform(0.0, 0.5)
    # bilinear, corners on corners, to exactly (h, w)
    field = ndimage.zoom(
        np.concatenate([luma, chroma], axis=2), (h / gh, w / gw, 1), order=1, mode="nearest"
    )
    n = field[..., :1] + field[..., 1:]
    x = x + (shot * np.sqrt(np.clip(x, 0.0, 1.0)) + read) * n.astype(np.float32)
    if rng.random() < 0.5:
        blur = ndimage.gaussian_filter(x, (1.0, 1.0, 0.0))
        x = x + np.float32(rng.uniform(0.5, 2.0)) * (x - blur)
    out: U8 = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return out


def _lone_tip_peak(stride: int) -> float:
    """The highest cell of one cut tip's Gaussian in the tip map (the tip at a cell's centre)."""
    at = np.array([(5 + 0.5) * stride - 0.5])
    return float(density_targets(at, at, np.zeros(1), 10 * stride, 10 * stride, stride)[1].max())


def tip_pits(rng: np.random.Generator, img: U8, tgt: F32, stride: int) -> U8:
    """``img`` with a dimple under a share (30-100 %) of the cut tips its tip map marks, each
    darkened as a follicle opening darkens the skin (the twin's opening tint at a visibility
    of 0.3-1, opacity 0.8, radius 5-11 px: 40-90 um at 8 um/px, as the twin's openings).
    Shafts - pixels more than 12 % darker or lighter than the skin around the tip (the median
    of the 33 px square about it) - keep their colour: the shaft's end lies over the pit.
    Positions do not move and the targets stay right: a pit is skin, a tip no hair.

    The training generators, like the twin, draw openings only where hairs leave the skin;
    2.11.0's recipe learnt "a shaft's end in a dark opening is a root" and reads the roots of
    renderers that draw none there as cut tips (docs/model_card.md, "After c57"). The twin's
    synth-v21 looks lay cut ends over openings in its own crops (c59); this does it in the
    frames, three quarters of a batch in 2.11.0's recipe. c61 (c59 with half the frame crops
    so treated) did not ship: cut tips read as hairs more often, blind-21's roots as before
    (docs/model_card.md, "After c59").
    """
    tips = tgt[TIP_MAP]
    top = ndimage.maximum_filter(tips, size=3, mode="constant")
    rows, cols = np.nonzero((tips == top) & (tips >= 0.5 * _lone_tip_peak(stride)))
    if not len(rows):
        return img
    keep = rng.random(len(rows)) < rng.uniform(0.3, 1.0)
    x = img.astype(np.float32) / np.float32(255.0)
    lum = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    tint = 1.0 - rng.uniform(0.3, 1.0) * (1.0 - np.array([0.55, 0.45, 0.35], dtype=np.float32))
    h, w = lum.shape
    hc, wc = tips.shape
    for i, j in zip(rows[keep], cols[keep], strict=True):
        # the tip's position: the centroid of its Gaussian over the 3 x 3 cells around it
        r0, r1, c0, c1 = max(i - 1, 0), min(i + 2, hc), max(j - 1, 0), min(j + 2, wc)
        win = tips[r0:r1, c0:c1]
        cy = float((win.sum(axis=1) @ np.arange(r0, r1)) / win.sum())
        cx = float((win.sum(axis=0) @ np.arange(c0, c1)) / win.sum())
        cy, cx = (cy + 0.5) * stride - 0.5, (cx + 0.5) * stride - 0.5
        radius = rng.uniform(5.0, 11.0)
        # the pit's square (12 px about the tip); the skin's median over 33 px about it
        y0, y1 = max(round(cy) - 12, 0), min(round(cy) + 13, h)
        x0, x1 = max(round(cx) - 12, 0), min(round(cx) + 13, w)
        if y0 >= y1 or x0 >= x1:
            continue
        near = lum[max(round(cy) - 16, 0) : round(cy) + 17, max(round(cx) - 16, 0) : round(cx) + 17]
        around = float(np.median(near))
        patch = lum[y0:y1, x0:x1]
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        disc = np.clip(radius + 0.5 - np.hypot(yy - cy, xx - cx), 0.0, 1.0)
        cover = 0.8 * disc * (np.abs(patch - around) <= 0.12 * around)
        x[y0:y1, x0:x1] *= 1.0 - cover[..., None] * (1.0 - tint)
    out: U8 = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return out


def loss_terms(pred: Any, y: Any, aux_mask: Any, s: TrainSettings) -> Any:
    """The training loss on gained targets ``y`` (torch tensors, border already cut).

    * MSE per cell of the count maps plus MSE of their 4x4-cell block means: both have the
      mean as optimum, so integrals stay unbiased, and the block term weighs a missed or
      extra hair more than a misplaced one;
    * the tip and shaft maps predicted as well (where the sample has them: ``aux_mask``, one
      weight per sample, or per sample and map as (n, 2): tip, shaft; with ``frame_tips`` a
      generator frame has its tip map, and so takes the hard negatives below too);
    * hard negatives (``negative_weight``, default 0): extra weight on count mass in cells a
      cut tip or a shaft covers with no emergence point near. The MSE above already asks for
      nothing there; weighting those cells more biases the counts down wherever the net is
      unsure where along a shaft the hair emerges: at weight 4 the count maps collapsed to
      nothing within 500 steps, at weight 1 they read 0.28x the truth after 1,750 steps.
      The tip and shaft maps themselves are what teaches the body to tell them apart.
    * the crop's count (``count_weight``, default 0): the error of the crop's summed count
      maps, in hairs, priced by ``count_norm`` (``COUNT_NORMS``). The cell and block terms
      are blind to a small even excess: 0.0002 hairs in every cell of bare skin costs
      (0.0002 x TARGET_GAIN)^2 = 4e-4 a cell, yet sums to ~20 hairs/cm^2 and ~0.4 hairs
      over a bare training crop. ``square`` keeps the mean as the optimum (unbiased) but its
      pull on that 0.4 is small beside the hair crops' errors; ``abs`` pulls as hard on any
      error (optimum: the median); ``relative`` divides by the true count plus one, so a
      bare crop's excess weighs like a whole crop's miss (optimum below the mean: it reads
      low). What each did to 2.1.0 in a fine-tune: model card, "A count term".
    * the root map (``root_weight``, default 0: the net then has no such output):
      :func:`root_term` on the net's extra map :data:`~inference.targets.ROOT_OUT`, a study of
      whether a map made to commit finds the roots the count maps' peaks miss (it did not:
      model card, "After c67: a root map of its own (h70)").
    """
    import torch

    pool = torch.nn.functional.avg_pool2d
    p, t = pred[:, :N_MAPS], y[:, :N_MAPS]
    loss = torch.mean((p - t) ** 2) + s.block_weight * torch.mean(
        (pool(p, BLOCK_CELLS) - pool(t, BLOCK_CELLS)) ** 2
    )
    maps = aux_mask[:, None].expand(-1, 2) if aux_mask.dim() == 1 else aux_mask
    m = maps.amax(dim=1)[:, None, None]  # the sample has either map
    aux = pred[:, [TIP_MAP, SHAFT_MAP]] - y[:, [TIP_MAP, SHAFT_MAP]]
    loss = loss + s.aux_weight * torch.mean((aux**2) * maps[:, :, None, None])
    if s.count_weight:
        true = (t[:, 0] + t[:, 1]).sum(dim=(1, 2)) / TARGET_GAIN
        miss = (p[:, 0] + p[:, 1]).sum(dim=(1, 2)) / TARGET_GAIN - true
        if s.count_norm == "square":
            price = miss**2
        elif s.count_norm == "abs":
            price = miss.abs()
        elif s.count_norm == "relative":
            price = miss.abs() / (true + 1.0)
        else:
            raise ValueError(f"count_norm {s.count_norm!r} is not one of {COUNT_NORMS}")
        loss = loss + s.count_weight * torch.mean(price)
    if s.root_weight:
        loss = loss + s.root_weight * root_term(pred[:, ROOT_OUT], t[:, 0] + t[:, 1])
    if s.negative_weight == 0:  # the default: no masks to build on every step
        return loss
    counts = t[:, 0] + t[:, 1]
    cover = (y[:, TIP_MAP] > 0.02 * TARGET_GAIN) | (y[:, SHAFT_MAP] > 0.5 * SHAFT_GAIN)
    negative = (cover & (counts < 0.01 * TARGET_GAIN)).float() * m
    excess = torch.relu(p[:, 0]) + torch.relu(p[:, 1])
    return loss + s.negative_weight * torch.mean(negative * excess**2)


# A root cell: a local maximum of the count target over 3 x 3 cells holding at least this many
# hairs (one hair's Gaussian of one cell's sigma puts 0.12-0.16 in its peak cell).
ROOT_PEAK_HAIRS = 0.06
ROOT_PRIOR = 0.1  # the root map's starting chance per cell (its head bias)


def root_targets(counts: Any) -> tuple[Any, Any]:
    """The root map's training target from the count target (torch, hairs per cell, (n, h,
    w)): ``(peaks, heat)``, where ``peaks`` marks the cells that are a local maximum over 3 x 3
    cells with at least :data:`ROOT_PEAK_HAIRS` hairs (a follicular unit's opening: hairs
    sharing one are one peak) and ``heat`` is the count scaled so one hair's peak reads
    about 1 (2 pi sigma^2 with sigma one cell), clipped to 1, and 1 at the peaks."""
    import torch

    top = torch.nn.functional.max_pool2d(counts[:, None], 3, stride=1, padding=1)[:, 0]
    peaks = (counts >= top) & (counts >= ROOT_PEAK_HAIRS)
    heat = torch.where(peaks, torch.ones_like(counts), (counts * 2 * np.pi).clamp(0.0, 1.0))
    return peaks, heat


def root_term(logit: Any, counts: Any) -> Any:
    """The root map's loss: the penalty-reduced focal loss of CornerNet and CenterNet (Law and
    Deng, ECCV 2018; Zhou et al., 2019) on ``logit`` (torch, (n, h, w)) against
    :func:`root_targets` of the gained count target ``counts``, summed and divided by the
    number of roots. The count maps price a root's hairs by their squared error, so a net
    unsure where along a shaft the root lies spreads its count along it (the mean is their
    optimum), and the runtime's peaks find under half the roots (model card, "After c67:
    where the count sits"); a focal loss pays for a confident peak at the root and little for
    a near miss (``(1 - heat)^4``), so the map commits to places."""
    import torch

    peaks, heat = root_targets(counts / TARGET_GAIN)
    p = torch.sigmoid(logit).clamp(1e-4, 1.0 - 1e-4)
    pos = -torch.log(p) * (1.0 - p) ** 2 * peaks
    neg = -torch.log(1.0 - p) * p**2 * (1.0 - heat) ** 4 * ~peaks
    return (pos.sum() + neg.sum()) / peaks.sum().clamp(min=1)


def pair_term(pred: Any, y: Any) -> Any:
    """The change between visits, priced: ``pred`` and ``y`` (torch, gained, border cut)
    hold before-and-after pairs of crops in turn (0 and 1, 2 and 3, ...). The squared error
    of log((read after + 1) / (read before + 1)) against the same of the true counts, in
    hairs: the ratio the clinic reads as a treatment's effect, with one hair added to each
    side so that a crop of a few hairs is not priced as if it were a frame. The cell and
    count terms price each crop alone; an error shared by both crops of a pair costs nothing
    here, one that grows with the regrowth (new hairs under old shafts read short) does.
    """
    import torch

    read = (pred[:, 0] + pred[:, 1]).sum(dim=(1, 2)).clamp(min=0.0) / TARGET_GAIN
    true = (y[:, 0] + y[:, 1]).sum(dim=(1, 2)) / TARGET_GAIN
    change = torch.log1p(read[1::2]) - torch.log1p(read[0::2])
    return torch.mean((change - (torch.log1p(true[1::2]) - torch.log1p(true[0::2]))) ** 2)


# Settings that change how a run goes, not what it learns: the thread count reorders float sums
# (as the device does, which is no setting), ``checkpoint_every`` only when the state is saved.
# A checkpoint resumes under other values of them.
RUN_ONLY_SETTINGS = frozenset({"threads", "checkpoint_every"})


class CheckpointMismatch(ValueError):
    """A checkpoint was made by another run; resuming it would mix two runs, overwriting it
    would lose it."""


def _other_settings(saved: dict[str, Any], s: TrainSettings) -> list[str]:
    """The settings in which a checkpoint's run differs from ``s`` (a setting newer than the
    file: at its default; :data:`RUN_ONLY_SETTINGS` left out), as ``name saved -> now``."""
    old = {**asdict(TrainSettings()), **saved}
    return [
        f"{k} {old.get(k)!r} -> {v!r}"
        for k, v in asdict(s).items()
        if k not in RUN_ONLY_SETTINGS and old.get(k) != v
    ]


def start_id(
    images: U8,
    targets: F32,
    real: list[tuple[U8, F32]] | None,
    pairs: tuple[U8, F32] | None,
    init_onnx: Path | None,
) -> str:
    """What a run starts from, as a short digest: the start file's bytes and the shape and
    total of every sample set (the images' sum, not their hash: cheap, and no two renders
    or frame sets differ in both). A checkpoint made from other data or another start file
    is not resumed, even with the same settings."""
    h = hashlib.sha256()
    if init_onnx is not None:
        h.update(sha256_file(Path(init_onnx)).encode())
    sets = [(images, targets), *(real or []), *([pairs] if pairs is not None else [])]
    for img, tgt in sets:
        h.update(repr((img.shape, int(img.sum(dtype=np.int64)), tgt.shape)).encode())
        h.update(np.float64(tgt.sum(dtype=np.float64)).tobytes())
    return h.hexdigest()[:16]


def train_outputs(s: TrainSettings) -> int:
    """The maps a run's net predicts: the training maps, and the root map if priced."""
    return N_TRAIN_MAPS + 1 if s.root_weight else N_TRAIN_MAPS


def _gains() -> NDArray[np.float32]:
    g = np.full(N_MAPS + 2, TARGET_GAIN, dtype=np.float32)
    g[SHAFT_MAP] = SHAFT_GAIN
    return g


def train(
    images: U8,
    targets: F32,
    settings: TrainSettings,
    *,
    real: list[tuple[U8, F32]] | None = None,
    pairs: tuple[U8, F32] | None = None,
    init_onnx: Path | None = None,
    checkpoint: Path | None = None,
    progress: Callable[[int, float], Any] | None = None,
    device: str = "cpu",
) -> Any:
    """Train the net on samples (native crops, training target maps); returns it in eval mode,
    on the CPU.

    With ``checkpoint`` the run saves its whole state (weights, optimiser, schedule, data
    order) there every ``checkpoint_every`` steps, atomically, and resumes from it when the
    file exists and was made with the same settings (:data:`RUN_ONLY_SETTINGS` aside) from the
    same data; one made otherwise is refused (:class:`CheckpointMismatch`), not overwritten.
    ``init_onnx`` starts from an exported FP32 model (BatchNorm then stays frozen). ``pairs``
    (before-and-after pairs, :func:`sim.dataset.pair_samples`) with ``settings.pair_weight``
    fill ``pair_share`` of each batch and add :func:`pair_term`. ``progress(step,
    smoothed_loss)`` is called after every step.

    With ``settings.average_from`` (0 < f < 1) the weights after every step from that share
    of the run on are averaged, and the average is what the run returns (stochastic weight
    averaging: Izmailov et al., UAI 2018; dense averaging for unseen domains, SWAD: Cha et
    al., NeurIPS 2021). It needs ``init_onnx``: BatchNorm then stays frozen, so the average
    needs no new statistics.

    ``device`` is where the steps run (``"cuda"``: a GPU). The data, its order and the
    checkpoints are the same on either (a checkpoint written on one resumes on the other); the
    float sums are not, so a GPU run's weights differ a little from the CPU's, as a run with
    more threads does.
    """
    import torch

    s = settings
    # Reproducible to the byte: fixed seeds, one data order, deterministic kernels. (With
    # more than one thread the float sums of a conv may be reordered; use threads=1.)
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    torch.use_deterministic_algorithms(True, warn_only=device != "cpu")
    rng = np.random.default_rng(s.seed)
    net = make_net(s.width, s.body, mixstyle=s.mixstyle, outputs=train_outputs(s))
    frozen_bn = init_onnx is not None
    if not 0.0 <= s.average_from < 1.0:
        raise ValueError(f"average_from {s.average_from} must be in [0, 1)")
    if s.average_from and not frozen_bn:
        raise ValueError(
            "weight averaging (average_from) needs a start file (init_onnx): a net trained "
            "from scratch trains its BatchNorm statistics, which an average of weights breaks"
        )
    average_start = int(s.steps * s.average_from) if s.average_from else s.steps
    average: dict[str, Any] | None = None
    averaged = 0
    if init_onnx is not None:
        load_onnx_weights(net, init_onnx, head_gain=TARGET_GAIN)
    if s.root_weight:
        with torch.no_grad():  # a start of ROOT_PRIOR everywhere: few cells are roots
            net.head.bias[ROOT_OUT] = float(np.log(ROOT_PRIOR / (1.0 - ROOT_PRIOR)))
    net.to(device)  # before the optimiser and a checkpoint's state: both follow the weights
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, s.steps))
    start, avg = 0, 0.0
    origin = start_id(images, targets, real, pairs, init_onnx) if checkpoint is not None else ""
    if checkpoint is not None and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=True, map_location="cpu")
        other = _other_settings(state["settings"], s)
        if other or state.get("start") != origin:
            why = (
                f"was made with other settings ({', '.join(other)})"
                if other
                else "started from other data or another start file"
            )
            raise CheckpointMismatch(
                f"{checkpoint} {why}, at step {int(state['step'])}: give the settings it was "
                "made with to resume it, or another --checkpoint (or delete it) to start afresh"
            )
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start, avg = int(state["step"]), float(state["avg"])
        average, averaged = state.get("average"), int(state.get("averaged", 0))
        log.info("resuming %s at step %d of %d", checkpoint, start, s.steps)
    gains = torch.from_numpy(_gains())[None, :, None, None].to(device)
    b = slice(BORDER_CELLS, -BORDER_CELLS)
    n_pairs = round(s.batch * s.pair_share / 2) if s.pair_weight > 0 else 0
    if n_pairs * 2 > s.batch:
        raise ValueError(f"pair_share {s.pair_share} is over a whole batch of {s.batch} crops")
    if s.pair_weight > 0 and n_pairs == 0:
        raise ValueError(
            f"pair_share {s.pair_share} of a batch of {s.batch} crops makes no pair: raise "
            "the share or the batch, or set pair_weight 0"
        )
    if n_pairs and (pairs is None or not len(pairs[0])):
        raise ValueError("pair_weight is set but no pairs were given (sim.dataset.pair_samples)")
    pair_images, pair_targets = pairs if pairs is not None else (images[:0], targets[:0])
    net.train()
    if frozen_bn:
        freeze_batchnorm(net)
    for step in range(start, s.steps):
        xs, ys, ms = [], [], []
        for _ in range(s.batch - 2 * n_pairs):
            if real and rng.random() < s.real_share:
                r_img, r_tgt = real[int(rng.integers(len(real)))]
                img, tgt = random_crop(rng, r_img, r_tgt, s.crop_px, s.stride)
                ms.append((1.0 if s.frame_tips else 0.0, 0.0))  # frames list no shafts
                # (no draw at share 0: the data order of runs without it stays as it was)
                if s.frame_tip_pits > 0 and rng.random() < s.frame_tip_pits:
                    img = tip_pits(rng, img, tgt, s.stride)
            else:
                i = int(rng.integers(len(images)))
                img, tgt = images[i], targets[i]
                ms.append((1.0, 1.0))
            img, tgt = augment(rng, img, tgt)
            # (no draw at share 0: the data order of runs without it stays as it was)
            if s.photometric > 0 and rng.random() < s.photometric:
                img = photometric(rng, img)
            if s.sensor_noise > 0 and rng.random() < s.sensor_noise:
                img = sensor_noise(rng, img)
            xs.append(normalise(img))
            ys.append(tgt)
        for _ in range(n_pairs):  # last in the batch, before and after in turn
            i = int(rng.integers(len(pair_images)))
            p_img, p_tgt = augment(rng, pair_images[i], pair_targets[i])
            if s.photometric > 0 and rng.random() < s.photometric:
                look = int(rng.integers(2**63))  # one colour and tone for both visits
                p_img = np.stack([photometric(np.random.default_rng(look), im) for im in p_img])
            xs.extend(normalise(im) for im in p_img)
            ys.extend(p_tgt)
            ms.extend(((1.0, 1.0), (1.0, 1.0)))
        x = torch.from_numpy(np.stack(xs)).to(device)
        y = torch.from_numpy(np.stack(ys)).to(device) * gains
        pred = net(x)
        loss = loss_terms(pred[:, :, b, b], y[:, :, b, b], torch.tensor(ms, device=device), s)
        if n_pairs:
            tail = slice(s.batch - 2 * n_pairs, s.batch)
            loss = loss + s.pair_weight * pair_term(pred[tail, :, b, b], y[tail, :, b, b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step >= average_start:
            average, averaged = _average_in(average, averaged, net)
        value = float(loss.detach())
        avg = 0.98 * avg + 0.02 * value if step else value
        if progress is not None:
            progress(step + 1, avg)
        done = step + 1
        if checkpoint is not None and (done % s.checkpoint_every == 0 or done == s.steps):
            _save(checkpoint, net, opt, sched, rng, done, avg, s, origin, (average, averaged))
    if average is not None:
        log.info("the run's weights: the average of its last %d steps", averaged)
        net.load_state_dict(average)
    net.eval()
    return net.cpu()


def _average_in(average: dict[str, Any] | None, n: int, net: Any) -> tuple[dict[str, Any], int]:
    """The running mean of ``net``'s weights with one more step's (on the CPU, in float64:
    thousands of small updates)."""
    import torch

    now = net.state_dict()
    if average is None:
        return {
            k: v.detach().to("cpu", torch.float64 if v.is_floating_point() else v.dtype)
            for k, v in now.items()
        }, 1
    n += 1
    with torch.no_grad():
        for k, v in now.items():
            if v.is_floating_point():
                average[k] += (v.detach().cpu().double() - average[k]) / n
            else:
                average[k] = v.detach().cpu().clone()
    return average, n


def _save(
    path: Path,
    net: Any,
    opt: Any,
    sched: Any,
    rng: np.random.Generator,
    step: int,
    avg: float,
    s: TrainSettings,
    origin: str,
    average: tuple[dict[str, Any] | None, int] = (None, 0),
) -> None:
    """The run's whole state (with its weight average so far, if any) and what it started
    from (:func:`start_id`), written atomically (temp, fsync, rename)."""
    import os

    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    state = {
        "net": net.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "rng": rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "step": step,
        "avg": avg,
        "settings": asdict(s),
        "start": origin,
    }
    if average[0] is not None:
        state["average"], state["averaged"] = average
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def count_ratio(net: Any, images: U8, targets: F32, margin_cells: int, batch: int = 50) -> float:
    """What ``net`` (eval mode, gained head) reads over what is true, summed over the count
    maps of training crops (native images and their training targets), in each crop's
    interior only: ``margin_cells`` cells from the edge on, where the net has the whole
    context a tile of the runtime gives it (nearer the edge it reads less: 2.1.0 reads 0.90x
    with the loss's 2-cell border, 0.97x on interiors 11 cells in)."""
    import torch

    if margin_cells * 2 >= targets.shape[-1]:
        raise ValueError(f"a margin of {margin_cells} cells leaves nothing of the crops")
    m = slice(margin_cells, -margin_cells)
    read = true = 0.0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.stack([normalise(im) for im in images[i : i + batch]]))
            read += float(net(x)[:, :2, m, m].sum()) / TARGET_GAIN
            true += float(targets[i : i + batch, :2, m, m].sum(dtype=np.float64))
    if true <= 0:
        raise ValueError("the crops hold no hairs: a count ratio needs some")
    return read / true


def scale_diameters(net: Any, factor: float) -> None:
    """Multiply ``net``'s summed-diameter map by ``factor``, in place: every mean diameter
    it reads moves by ``factor``, its counts not at all."""
    import torch

    with torch.no_grad():
        net.head.weight[2] *= factor
        net.head.bias[2] *= factor


def scale_counts(net: Any, factor: float) -> None:
    """Multiply ``net``'s two count maps (terminal, vellus) by ``factor``, in place; the
    summed-diameter map is left as it is, so mean diameters move by 1 / ``factor``."""
    import torch

    with torch.no_grad():
        net.head.weight[:2] *= factor
        net.head.bias[:2] *= factor
