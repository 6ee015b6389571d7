"""The science of one site for the service: the capture protocol, then the hair model.

:class:`RigPipeline` is what ``dermocap serve`` plugs into :class:`~device.service.Service`:

* ``capture`` runs :meth:`CaptureSession.capture_site` (focus, relocation against the
  site's baseline, every lighting mode, QC, atomic storage) and hands the capture of the
  analysis lighting mode (the first configured, cross-polarised by default) to analysis;
* ``analyze`` runs the hair model on those pixels and maps the metrics, the QC report and
  the stored images onto a :class:`~sync.models.ResultMessage` payload;
* ``pending_recoveries`` finds, after a crash, the stored captures the outbox never heard
  of, so each gets its result exactly once.

A capture is *known* once the outbox holds its record: analysed (with its result), or
settled without one (QC failed, or the other lighting modes of an analysed site).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capture import CaptureSession, Guidance
from capture.record import CaptureRecord, StoredSite, outbox_entries, scan_unknown
from dermocap.errors import (
    CaptureError,
    DermocapError,
    ImageError,
    QualityCheckFailed,
    StorageError,
)
from dermocap.images import decode_rgb
from device.service import CaptureOutcome, State
from device.worklist import WorkItem
from inference.config import InferenceConfig
from inference.metrics import HairMetrics
from inference.model import HairModel
from inference.overlay import save_overlay
from inference.second_opinion import crowded_share, mats_the_frame
from sync.models import content_type

log = logging.getLogger(__name__)

_PHASES = {"focusing": State.FOCUSING, "relocating": State.FOCUSING, "capturing": State.CAPTURING}


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def image_ref(record: CaptureRecord) -> dict[str, Any]:
    """The :class:`~sync.models.ImageRef` of a stored capture's image.

    Raises:
        StorageError: the record was never stored.
    """
    img = record.image
    if img is None:
        raise StorageError(f"capture {record.capture_id} has no stored image")
    return {
        "name": img.file,
        "sha256": img.sha256,
        "size_bytes": img.size_bytes,
        "content_type": content_type(img.file),
    }


def result_payload(
    record: CaptureRecord, metrics: HairMetrics, related: Iterable[CaptureRecord] = ()
) -> dict[str, Any]:
    """The result message (without message_id, seq, capture_id) of one analysed capture.

    ``record`` is the capture's record; ``related`` the records of the site's other
    lighting modes, whose images are listed too.
    """
    return {
        "subject": record.subject,
        "site": record.site,
        "visit": record.visit,
        "captured_at": record.captured_at,
        "lighting": record.lighting_mode,
        "metrics": {k: _round(v) for k, v in metrics.result_metrics().items()},
        "qc": {
            "passed": record.qc.passed,
            "scores": record.qc.scores(),
            "reasons": [str(r) for r in record.qc.failed],
        },
        "um_per_px": record.um_per_px,
        "calibration_id": record.calibration_id,
        "model": {
            "name": metrics.model_name,
            "version": metrics.model_version,
            "sha256": metrics.model_sha256,
            "output_gain": metrics.model_output_gain,
            "runtime": metrics.runtime_version,
            "numpy": metrics.numpy_version,
        },
        "images": [image_ref(r) for r in (record, *related)],
        "review": metrics.review,
        "review_reasons": list(metrics.review_reasons),
        "review_kinds": list(metrics.review_kinds),
        "second_opinion": (
            metrics.second_opinion.model_dump() if metrics.second_opinion is not None else None
        ),
    }


def read_image(path: Path) -> NDArray[np.uint8]:
    """Decode a stored capture.

    Raises:
        ImageError: missing or undecodable (named).
    """
    return decode_rgb(path, name=f"stored {path}")


class RigPipeline:
    """Capture protocol + hair model, for :class:`~device.service.Service`.

    Args:
        session: the capture protocol on this rig.
        model: the loaded, warmed-up hair model.
        inference_cfg: vellus threshold and whether to write overlays.
        known_captures: capture ids the outbox holds records of.
        settle: store records that get no result, with an event type and fields
            (:meth:`sync.SyncService.settle`).
        follow: what to do with relocation guidance (the twin's hand, or telling the
            technician and waiting).
        overlay_dir: where overlay images go (``<state>/overlays``).
        send_overlay: queue a written overlay for the dashboard, ``(capture_id, path)``
            (:meth:`sync.SyncService.send_image`); None: keep it on the rig only.
    """

    def __init__(
        self,
        *,
        session: CaptureSession,
        model: HairModel,
        inference_cfg: InferenceConfig,
        known_captures: Callable[[], set[str]],
        settle: Callable[..., Any],
        follow: Callable[[Guidance], None],
        overlay_dir: Path,
        send_overlay: Callable[[str, Path], object] | None = None,
    ) -> None:
        self.session = session
        self.model = model
        self.cfg = inference_cfg
        self.known_captures = known_captures
        self.settle = settle
        self.follow = follow
        self.overlay_dir = overlay_dir
        self.send_overlay = send_overlay
        self.analysis_mode = session.cfg.lighting_modes[0]
        self._metrics: dict[str, HairMetrics] = {}
        self._lock = threading.Lock()
        # The model starts on the analysis mode's image while the other modes are captured
        # (see capture); one run at a time, whichever thread asks.
        self._early = ThreadPoolExecutor(1, thread_name_prefix="early-analysis")
        self._model_lock = threading.Lock()

    def close(self) -> None:
        """Wait for a model run in progress and stop its thread; idempotent."""
        self._early.shutdown(wait=True, cancel_futures=True)

    def _run_model(self, frame: NDArray[np.uint8], um_per_px: float) -> HairMetrics:
        with self._model_lock:
            return self.model.analyze(
                frame,
                um_per_px,
                vellus_threshold_um=self.cfg.vellus_threshold_um,
                review_factor=self.cfg.review_factor if self.cfg.second_opinion else None,
            )

    # -- capture -------------------------------------------------------------------------
    def capture(self, item: WorkItem, on_phase: Callable[[State], None]) -> CaptureOutcome:
        t0 = time.monotonic()
        baseline = self.session.baseline_for(item.subject, item.site)
        early: list[Future[HairMetrics]] = []

        def on_image(mode: str, image: NDArray[np.uint8], um_per_px: float) -> None:
            # Exactly the pixels that are stored; the result is used only if the site passes
            # QC, so a failed site costs a wasted model run, never a wrong result.
            if mode == self.analysis_mode and not early:
                early.append(self._early.submit(self._run_model, image, um_per_px))

        try:
            res = self.session.capture_site(
                item.subject,
                item.site,
                item.visit,
                baseline=baseline,
                follow=self.follow if baseline is not None else None,
                progress=lambda phase: on_phase(_PHASES.get(phase, State.CAPTURING)),
                on_image=on_image,
            )
        except ValueError as exc:  # an id the capture config refuses
            raise CaptureError(str(exc)) from exc
        if not res.passed:
            raise QualityCheckFailed(res.retake_advice, outbox_entries(res.records))
        main = next(
            (c for c in res.captures if c.record.lighting_mode == self.analysis_mode),
            res.captures[0],
        )
        hair_mat = self._hair_mat(main.frame, main.record.um_per_px)
        t1 = time.monotonic()
        return CaptureOutcome(
            capture_id=main.capture_id,
            item=item,
            record=main.record,
            image_path=main.image_path,
            um_per_px=main.record.um_per_px,
            started_s=t0,
            timings_ms={"capture_ms": (t1 - t0) * 1e3},
            related=[c.record for c in res.captures if c is not main],
            frame=main.frame,
            analysis=early[0] if early else None,
            hair_mat=hair_mat,
        )

    def _hair_mat(self, frame: NDArray[np.uint8] | None, um_per_px: float) -> float | None:
        """The crowded share of the analysed frame when long hair mats it, else None: told
        to the technician now, while the cone is still on the site, not after analysis
        (where the result's review reason says the same to the clinic if the network reads
        hair there: skin texture can crowd a bare site too)."""
        if not self.cfg.second_opinion or frame is None:
            return None
        try:
            crowded = crowded_share(frame, um_per_px)
        except ImageError as exc:  # the site is stored: its analysis will say the same
            log.warning("hair mat not checked: %s", exc)
            return None
        return crowded if mats_the_frame(crowded) else None

    # -- analysis ------------------------------------------------------------------------
    def analyze(self, outcome: CaptureOutcome) -> dict[str, Any]:
        if outcome.analysis is not None:  # started while the other modes were captured
            metrics: HairMetrics = outcome.analysis.result()
        else:
            if outcome.frame is None:  # recovered after a restart: decode the stored image
                outcome.frame = read_image(outcome.image_path)
            metrics = self._run_model(outcome.frame, outcome.um_per_px)
        with self._lock:
            self._metrics[outcome.capture_id] = metrics
        outcome.timings_ms.update(
            inference_ms=metrics.inference_ms, model_total_ms=metrics.total_ms
        )
        return result_payload(outcome.record, metrics, outcome.related)

    def finish(self, outcome: CaptureOutcome) -> None:
        with self._lock:
            metrics = self._metrics.pop(outcome.capture_id, None)
        if not self.cfg.overlay or metrics is None or outcome.frame is None:
            return
        path = self.overlay_path(outcome.capture_id)
        try:
            save_overlay(path, outcome.frame, metrics)
        except OSError as exc:
            raise StorageError(f"overlay {path} not written: {exc}") from exc
        if self.send_overlay is not None:
            self.send_overlay(outcome.capture_id, path)

    def overlay_path(self, capture_id: str) -> Path:
        # "-overlay" in the name: the dashboard tells it from the capture's photograph by it.
        return self.overlay_dir / f"{capture_id}-overlay.jpg"

    # -- cancel and recovery -------------------------------------------------------------
    def discard(self, outcome: CaptureOutcome) -> None:
        """Remove every capture of a cancelled site: sidecar first, so no record dangles."""
        root = self.session.store.captures_dir
        for rec in (outcome.record, *outcome.related):
            rec.discard(root)
        with self._lock:
            self._metrics.pop(outcome.capture_id, None)

    def pending_recoveries(self) -> list[CaptureOutcome]:
        """Stored captures the outbox never heard of (a crash or power loss in between).

        A site with all its lighting modes stored, all passed QC, becomes an outcome (its
        analysis-mode capture) to analyse again; a site with a failed capture, or with a mode
        missing (killed between two modes), is settled without a result and with an event;
        an image without its sidecar (killed between the two renames) is removed: it was
        never a capture (see :func:`capture.record.scan_unknown`).
        """
        sites = scan_unknown(self.session.store.captures_dir, self.known_captures())
        out: list[CaptureOutcome] = []
        for site in sites:
            out.extend(self._recover_site(site))
        return out

    def _recover_site(self, site: StoredSite) -> list[CaptureOutcome]:
        root = self.session.store.captures_dir
        # As a live capture: a site is analysed only when all its modes are stored (a kill
        # between two modes leaves a half site) and every one passed QC. Records from before
        # `site_modes` existed name no modes and count as whole.
        missing = site.missing_modes
        if missing:
            modes = " and ".join(missing)
            detail = (
                f"site incomplete: no readable capture of the {modes} lighting "
                f"mode{'s' if len(missing) > 1 else ''} (the service stopped before storing "
                "it, or its record is unreadable); retake the site"
            )
            log.error("capture %s not recovered: %s", site.records[0].capture_id, detail)
            self._settle_site(site, "capture_incomplete", detail)
            return []
        main = site.record_of(self.analysis_mode) if site.passed else None
        if main is None:
            self._settle_site(site, "qc_failed", "recorded after a restart; retake the site")
            return []
        if not main.image_intact(root):
            problem = f"image {main.image_path(root)} does not match the SHA-256 in its record"
            log.error("capture %s not recovered: %s", main.capture_id, problem)
            self._settle_site(site, "capture_unrecoverable", problem)
            return []
        return [
            CaptureOutcome(
                capture_id=main.capture_id,
                item=WorkItem(main.subject, main.visit, main.site),
                record=main,
                image_path=main.image_path(root),
                um_per_px=main.um_per_px,
                started_s=time.monotonic(),
                timings_ms={"recovered": 1.0},
                related=[r for r in site.records if r is not main],
            )
        ]

    def _settle_site(self, site: StoredSite, type_: str, detail: str) -> None:
        """Settle a recovered site's captures without a result, with one event (kept files)."""
        first = site.records[0]
        try:
            self.settle(
                outbox_entries(site.records),
                type_,
                capture_id=first.capture_id,
                subject=first.subject,
                site=first.site,
                detail=detail[:400],
            )
        except DermocapError as exc:
            log.warning("captures of site %s not settled: %s", first.site, exc)
