"""The hair model: load and verify an ONNX file, run it over a frame, measure the hairs."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dermocap.errors import ImageError, ModelError
from dermocap.fsutil import sha256_file
from dermocap.images import decode_rgb
from dermocap.resource import Closeable
from inference.config import DEFAULT_TILE_PX, MAX_VELLUS_THRESHOLD_UM, InferenceConfig
from inference.manifest import MANIFEST_NAME, Golden, Manifest, read_manifest
from inference.metrics import EmergencePoint, HairMetrics, SecondOpinionSummary
from inference.postprocess import (
    cell_to_pixel,
    find_peaks,
    integrate,
    unit_masses,
    unit_shares,
    unit_sizes,
)
from inference.preprocess import (
    F32,
    check_input,
    frame_native,
    native_size,
    native_tile_input,
    normalise,
    plan_tiles,
    stitch,
)
from inference.runtime import MapRuntime, OnnxMapRuntime
from inference.second_opinion import (
    REVIEW_FACTOR,
    ReviewReason,
    SecondOpinion,
    reason_fields,
    review_reasons,
    second_opinion,
)

log = logging.getLogger(__name__)

VARIANTS = ("int8", "fp32")


def packaged_models_dir() -> Path:
    """Folder of the models shipped as package data."""
    return Path(str(resources.files("inference") / "models"))


@dataclass(frozen=True)
class ModelSpec:
    """Identity and input contract of a loaded model."""

    name: str
    version: str
    sha256: str
    path: Path
    native_um_per_px: float
    stride: int
    margin_px: int
    diameter_scale_um: float
    vellus_split_um: float
    output_gain: float = 1.0  # the file's gain on its three output maps (manifest)


def _info_from_manifest(m: Manifest, path: Path, sha: str) -> ModelSpec:
    gains = [e.output_gain for e in m.models.values() if e.file == path.name]
    return ModelSpec(
        name=m.name,
        version=m.version,
        sha256=sha,
        path=path,
        native_um_per_px=m.native_um_per_px,
        stride=m.stride,
        margin_px=m.margin_px,
        diameter_scale_um=m.diameter_scale_um,
        vellus_split_um=m.vellus_split_um,
        output_gain=gains[0] if gains else 1.0,
    )


def _verified(path: Path, expected: str) -> str:
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; reinstall dermocap")
    sha = sha256_file(path)
    if sha != expected:
        raise ModelError(
            f"model file {path} has SHA-256 {sha[:12]}..., its manifest expects "
            f"{expected[:12]}...: the file is corrupt or was replaced; reinstall dermocap"
        )
    return sha


def resolve_model(spec: str, models_dir: Path | None = None) -> tuple[Path, Manifest, str]:
    """Find the model file for ``spec`` and check its SHA-256 against its manifest.

    ``spec`` is ``int8``, ``fp32`` (the packaged models) or a path to an .onnx file listed
    in a ``manifest.json`` beside it (as scripts/train_model.py writes them). A file nobody
    can vouch for is refused: one flipped byte changes the counts without any error.

    Raises:
        ModelError: missing file or manifest, a file the manifest does not list, or a
            checksum mismatch.
    """
    if spec in VARIANTS:
        folder = models_dir or packaged_models_dir()
        manifest = read_manifest(folder / MANIFEST_NAME)
        entry = manifest.models.get(spec)
        if entry is None:
            raise ModelError(f"model manifest {folder / MANIFEST_NAME} has no {spec!r} model")
        path = folder / entry.file
        return path, manifest, _verified(path, entry.sha256)
    path = Path(spec)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; use int8, fp32 or a path to an .onnx file")
    beside = path.parent / MANIFEST_NAME
    if not beside.is_file():
        raise ModelError(
            f"model file {path} has no {MANIFEST_NAME} beside it, so its SHA-256 cannot be "
            "checked: keep the model in the folder scripts/train_model.py wrote (with its "
            "manifest), or use int8 or fp32"
        )
    manifest = read_manifest(beside)
    for entry in manifest.models.values():
        if entry.file == path.name:
            return path, manifest, _verified(path, entry.sha256)
    raise ModelError(
        f"model file {path} is not listed in {beside}, so its SHA-256 cannot be checked: "
        "use a model file the manifest lists, or int8 or fp32"
    )


class HairModel(Closeable):
    """A loaded hair density model; use :meth:`load`, then :meth:`analyze` per frame.

    Args:
        runtime: runs the network (an :class:`OnnxMapRuntime` on the rig).
        info: the model's identity and input contract.
        tile_px: largest tile side in native pixels.
        min_unit_mass: hairs a density peak must hold to count as a unit.
        threads: threads that resample the frame (the runtime has its own); with more than
            one, the classical second opinion runs on a thread of its own beside the network
            (so up to ``threads`` + 1 are busy). Second opinions of concurrent
            :meth:`analyze` calls run one at a time.
    """

    def __init__(
        self,
        runtime: MapRuntime,
        info: ModelSpec,
        *,
        tile_px: int = DEFAULT_TILE_PX,
        min_unit_mass: float = 0.5,
        threads: int = 1,
    ) -> None:
        if tile_px < info.stride or info.margin_px % info.stride:
            raise ModelError(f"tile_px {tile_px} / margin {info.margin_px} do not fit the stride")
        self.runtime = runtime
        self.info = info
        self.tile_px = tile_px - tile_px % info.stride
        self.min_unit_mass = min_unit_mass
        self.threads = max(1, threads)
        # Threads for the bands of frame_native, kept: starting them per frame costs ms.
        self._pool = ThreadPoolExecutor(self.threads - 1) if self.threads > 1 else None
        # The classical second opinion runs here while the network runs (onnxruntime and
        # most of numpy/scipy release the GIL); with one thread it runs after the network.
        self._opinion = (
            ThreadPoolExecutor(1, thread_name_prefix="second-opinion") if self.threads > 1 else None
        )

    @classmethod
    def load(
        cls,
        spec: str = "int8",
        *,
        threads: int = 2,
        tile_px: int = DEFAULT_TILE_PX,
        min_unit_mass: float = 0.5,
        models_dir: Path | None = None,
    ) -> HairModel:
        """Load, verify (SHA-256) and warm up a model: ``int8``, ``fp32`` or an .onnx path.

        Raises:
            ModelError: the model or its manifest is missing, corrupt or does not match.
        """
        path, manifest, sha = resolve_model(spec, models_dir)
        runtime = OnnxMapRuntime(path, threads=threads)
        info = _info_from_manifest(manifest, path, sha)
        model = cls(runtime, info, tile_px=tile_px, min_unit_mass=min_unit_mass, threads=threads)
        try:
            model.warm_up()
            if manifest.golden is not None:
                model.self_check(path.parent / manifest.golden.file, manifest.golden)
        except BaseException:
            model.close()
            raise
        log.info("loaded hair model %s %s from %s", info.name, info.version, path)
        return model

    @classmethod
    def from_config(cls, cfg: InferenceConfig, *, models_dir: Path | None = None) -> HairModel:
        """Load the model the config names, with its thread count and tiling."""
        return cls.load(
            cfg.model,
            threads=cfg.threads,
            tile_px=cfg.tile_px,
            min_unit_mass=cfg.min_unit_mass,
            models_dir=models_dir,
        )

    def warm_up(self) -> None:
        """Run once on a blank tile (first runs allocate) and check the output's shape.

        Raises:
            ModelError: the network does not produce (1, 3, h/stride, w/stride) maps.
        """
        s, m = self.info.stride, self.info.margin_px
        side = 16 * s + 2 * m
        out = self.runtime.run(np.zeros((1, 3, side, side), dtype=np.float32))
        want = (1, 3, side // s, side // s)
        if out.shape != want:
            raise ModelError(
                f"model file {self.info.path} gives maps of shape {out.shape}, expected {want}"
            )

    def self_check(self, image: Path, golden: Golden) -> None:
        """Run the network on the manifest's check image and compare with FP32's answer.

        INT8 kernels differ between CPUs (see docs/model_card.md, *Why 7-bit weights*): a
        file that is right on one machine can miscount on another. This catches it at load.

        Raises:
            ModelError: the check image is missing or altered, or the hair count on it differs
                from FP32's by more than ``golden.tolerance``.
        """
        try:
            if sha256_file(image) != golden.sha256:
                raise ModelError(f"model check image {image} is altered: reinstall dermocap")
            rgb = decode_rgb(image)
        except (OSError, ImageError) as exc:
            raise ModelError(f"model check image {image} unreadable ({exc}): reinstall") from None
        maps = self.runtime.run(normalise(rgb)[None])[0]
        got = float(maps[0].sum() + maps[1].sum())
        if not golden.accepts(got):
            raise ModelError(
                f"model file {self.info.path} counts {got:.1f} hairs on its check image where "
                f"the reference (FP32) counts {golden.hairs:.1f}: its INT8 kernels are wrong on "
                'this CPU. Set inference.model = "fp32" in the config and report the CPU'
            )
        log.debug("model self-check: %.2f hairs, reference %.2f", got, golden.hairs)

    def close(self) -> None:
        """Release the runtime and the threads; idempotent."""
        self.runtime.close()
        for pool in (self._pool, self._opinion):
            if pool is not None:
                pool.shutdown()

    # -- running -----------------------------------------------------------------------
    def predict_maps(self, rgb: NDArray[np.uint8], um_per_px: float) -> tuple[F32, float]:
        """The stitched (3, h/stride, w/stride) maps of a frame at native scale, and ms in the net.

        The file's output gain (manifest, :attr:`ModelSpec.output_gain`) is applied to the
        three maps here; the load-time self-check compares the raw maps.

        Raises:
            ImageError: not an (h, w, 3) uint8 image, or a scale outside 0.5-50 um/px.
        """
        check_input(rgb, um_per_px)
        info = self.info
        h, w = rgb.shape[:2]
        nw, nh = native_size(w, h, um_per_px, info.native_um_per_px, info.stride)
        native = frame_native(rgb, nw, nh, threads=self.threads, pool=self._pool)
        tiles = plan_tiles(nh, nw, self.tile_px, info.stride)
        outs: list[F32] = []
        net_s = 0.0
        for t in tiles:
            x = native_tile_input(native, t, info.margin_px)
            t0 = time.perf_counter()
            outs.append(self.runtime.run(x)[0])
            net_s += time.perf_counter() - t0
        maps = stitch(outs, tiles, nh, nw, info.margin_px, info.stride)
        if info.output_gain != 1.0:
            maps *= np.float32(info.output_gain)
        return maps, net_s * 1000.0

    def analyze(
        self,
        rgb: NDArray[np.uint8],
        um_per_px: float,
        vellus_threshold_um: float = 30.0,
        *,
        review_factor: float | None = REVIEW_FACTOR,
        maps: tuple[F32, float] | None = None,
    ) -> HairMetrics:
        """Measure hair density and thickness in an RGB frame of known scale.

        Args:
            rgb: (h, w, 3) uint8 frame as the camera delivers it.
            um_per_px: calibrated scale of the frame, 0.5-50 um per pixel.
            vellus_threshold_um: shafts thinner than this count as vellus. At the
                model's own split (30 um) the vellus map is used; otherwise
                the detected units are classified by their read-out diameter.
            review_factor: run the classical second opinion and flag the result for review
                when their ratio lies more than this factor either way from the expected
                one (``REVIEW_CENTRE``; None: no second opinion). It never changes the
                network's numbers.
            maps: this frame's :meth:`predict_maps` (maps and ms in the net), where the
                caller has already run the network on it and reads the maps too (a bench):
                they are measured as they are, and the network is not run again.

        Raises:
            ImageError: unusable image, scale or vellus threshold (0-200 um).
            ModelError: the network failed.
            ValueError: ``maps`` not shaped as this model's maps of this frame.
        """
        t_start = time.perf_counter()
        _check_vellus(vellus_threshold_um)
        check_input(rgb, um_per_px)
        if maps is not None:
            self._check_maps(maps[0], rgb, um_per_px)
        pending: Future[SecondOpinion] | None = None
        if review_factor is not None and self._opinion is not None:
            pending = self._opinion.submit(second_opinion, rgb, um_per_px)
        try:
            return self._measure(
                rgb, um_per_px, vellus_threshold_um, review_factor, pending, t_start, maps
            )
        finally:
            # Whatever went wrong, no second opinion is left running into the next frame.
            if pending is not None and not pending.cancel():
                pending.exception()

    def _measure(
        self,
        rgb: NDArray[np.uint8],
        um_per_px: float,
        vellus_threshold_um: float,
        review_factor: float | None,
        pending: Future[SecondOpinion] | None,
        t_start: float,
        given: tuple[F32, float] | None,
    ) -> HairMetrics:
        """:meth:`analyze` once the second opinion (``pending``, if any) has been started."""
        maps, net_ms = self.predict_maps(rgb, um_per_px) if given is None else given
        info = self.info
        h, w = rgb.shape[:2]
        area_cm2 = w * h * (um_per_px * 1e-4) ** 2
        tot = integrate(maps, info.diameter_scale_um)
        count = maps[0] + maps[1]
        peaks = find_peaks(
            count,
            maps[2],
            min_mass=self.min_unit_mass,
            diameter_scale_um=info.diameter_scale_um,
        )
        sizes = unit_sizes(unit_masses(count, peaks))
        hairs = tot.hairs
        if abs(vellus_threshold_um - info.vellus_split_um) < 1e-6 or len(peaks) == 0:
            vellus_share = tot.vellus / hairs if hairs > 0 else 0.0
        else:
            is_vellus = peaks.diameter_um < vellus_threshold_um
            vellus_share = float(sizes[is_vellus].sum() / max(1, int(sizes.sum())))
        # Cell coordinates back to pixels of the frame the caller gave us.
        nw, nh = native_size(w, h, um_per_px, info.native_um_per_px, info.stride)
        xs = cell_to_pixel(peaks.col, info.stride, w / nw)
        ys = cell_to_pixel(peaks.row, info.stride, h / nh)
        points = [
            EmergencePoint(
                x_px=round(float(x), 1),
                y_px=round(float(y), 1),
                hairs=int(n),
                diameter_um=round(float(d), 1),
            )
            for x, y, n, d in zip(xs, ys, sizes, peaks.diameter_um, strict=True)
        ]
        density = hairs / area_cm2
        second: SecondOpinionSummary | None = None
        reasons: list[ReviewReason] = []
        mean_diameter = tot.diameter_um_sum / hairs if hairs > 0 else 0.0
        if review_factor is not None:
            opinion = pending.result() if pending is not None else second_opinion(rgb, um_per_px)
            second = SecondOpinionSummary(
                applicable=opinion.applicable,
                reason=opinion.reason,
                density_per_cm2=round(opinion.density_per_cm2, 2),
            )
            reasons = review_reasons(
                density, opinion, review_factor, net_mean_diameter_um=mean_diameter
            )
        return HairMetrics(
            hair_count=round(hairs),
            density_per_cm2=density,
            terminal_density_per_cm2=hairs * (1 - vellus_share) / area_cm2,
            vellus_density_per_cm2=hairs * vellus_share / area_cm2,
            vellus_fraction=min(1.0, max(0.0, vellus_share)),
            vellus_threshold_um=vellus_threshold_um,
            mean_diameter_um=mean_diameter,
            cumulative_thickness_mm_per_cm2=tot.diameter_um_sum / 1000.0 / area_cm2,
            area_cm2=area_cm2,
            follicular_units_per_cm2=len(peaks) / area_cm2,
            unit_shares_1_2_3_4plus=unit_shares(sizes),
            um_per_px=um_per_px,
            model_name=info.name,
            model_version=info.version,
            model_sha256=info.sha256,
            model_output_gain=info.output_gain,
            inference_ms=round(net_ms, 2),
            total_ms=round((time.perf_counter() - t_start) * 1000.0, 2),
            runtime_version=self.runtime.version,
            numpy_version=np.__version__,
            second_opinion=second,
            review=bool(reasons),
            **reason_fields(reasons),
            emergence_points=points,
        )

    def _check_maps(self, maps: F32, rgb: NDArray[np.uint8], um_per_px: float) -> None:
        info = self.info
        h, w = rgb.shape[:2]
        nw, nh = native_size(w, h, um_per_px, info.native_um_per_px, info.stride)
        want = (3, nh // info.stride, nw // info.stride)
        if maps.shape != want:
            raise ValueError(
                f"maps of shape {maps.shape} are not this model's maps of a {w}x{h} frame "
                f"at {um_per_px} um/px {want}: pass what predict_maps returned for it"
            )


def _check_vellus(vellus_threshold_um: float) -> None:
    if not 0 < vellus_threshold_um <= MAX_VELLUS_THRESHOLD_UM:  # False for NaN as well
        raise ImageError(
            f"vellus threshold {vellus_threshold_um} um is not above 0 and at most "
            f"{MAX_VELLUS_THRESHOLD_UM:g} um"
        )
