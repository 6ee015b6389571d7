"""``SyncService``: the outbox and the MQTT link built from the config, as device/ wires them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dermocap.resource import Startable
from sync.commands import Handler
from sync.config import SyncConfig
from sync.credentials import load_credentials
from sync.link import MqttLink
from sync.outbox import Outbox, OutboxEntry

log = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite3"


class SyncService(Startable):
    """Owns the outbox at ``state_dir/outbox.sqlite3`` and, when enabled, the MQTT link.

    ``environ`` supplies ``$CREDENTIALS_DIRECTORY`` (pass ``os.environ``). With
    ``config.enabled`` false results still go to the outbox and wait there.

    Raises:
        ConfigError: credentials or TLS files are missing or unusable.
        SyncError, StorageError: the outbox cannot be opened.
    """

    def __init__(
        self,
        config: SyncConfig,
        device_id: str,
        state_dir: Path,
        *,
        environ: Mapping[str, str],
        model: str | None = None,
        telemetry: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.outbox = Outbox(Path(state_dir) / OUTBOX_FILE)
        self.link: MqttLink | None = None
        try:
            if config.enabled:
                self.link = MqttLink(
                    config,
                    device_id,
                    self.outbox,
                    credentials=load_credentials(config, environ),
                    model=model,
                    telemetry=telemetry,
                )
        except BaseException:
            self.outbox.close()
            raise

    def start(self) -> None:
        """Prune old acknowledged messages and start the link."""
        self.outbox.prune_acked(self.config.acked_retention_days * 86400)
        if self.link is not None:
            self.link.start()

    def close(self) -> None:
        """Stop the link (publishing ``stopped``), then close the outbox; idempotent."""
        try:
            if self.link is not None:
                self.link.close()
        finally:
            self.outbox.close()

    @property
    def fault(self) -> str | None:
        """Why the link stopped for good (another rig uses this device_id); None if not."""
        return None if self.link is None else self.link.fault

    def on_command(self, name: str, handler: Handler) -> None:
        """Route a dashboard command (worklist, config) to the service; see MqttLink."""
        if self.link is not None:
            self.link.on_command(name, handler)

    def submit_capture(
        self,
        capture_id: str,
        record: dict[str, Any],
        result: dict[str, Any],
        image_path: Path | None = None,
        related: Iterable[tuple[str, dict[str, Any]]] = (),
    ) -> OutboxEntry:
        """Store the capture record and its result (and, if ``config.images``, the image).

        ``related`` are ``(capture_id, record)`` of the site's other captures, stored in
        the same transaction (see :meth:`Outbox.add_capture`).

        Raises:
            DiskFullError: the outbox budget is reached; tell the technician, capture later.
            InvalidMessage: the result does not match ResultMessage.
        """
        image = None
        if self.config.images and image_path is not None:
            image = (image_path, self.config.image_chunk_kib * 1024)
        entry = self.outbox.add_capture(
            capture_id,
            record,
            result,
            budget_bytes=int(self.config.outbox_budget_mb * 1e6),
            image=image,
            related=related,
        )
        self._notify()
        return entry

    def send_image(self, capture_id: str, path: Path) -> OutboxEntry | None:
        """Queue another image of a capture (its overlay) when ``config.images``; else None.

        Raises:
            DiskFullError: the outbox budget is reached (the result is already queued).
            StorageError: the file cannot be read.
        """
        if not self.config.images:
            return None
        self.outbox.ensure_room(int(self.config.outbox_budget_mb * 1e6))
        entry = self.outbox.add_image(capture_id, path, self.config.image_chunk_kib * 1024)
        self._notify()
        return entry

    def settle(
        self, records: Iterable[tuple[str, dict[str, Any]]], type_: str, **fields: Any
    ) -> OutboxEntry | None:
        """Store records of captures that get no result, with event ``type_`` (one transaction)."""
        entry = self.outbox.settle(records, self._event_payload(type_, fields))
        self._notify()
        return entry

    def event(self, type_: str, **fields: Any) -> OutboxEntry:
        """Queue an event (``capture_started``, ``qc_failed``, ``retake``, ...)."""
        entry = self.outbox.enqueue("events", self._event_payload(type_, fields))
        self._notify()
        return entry

    @staticmethod
    def _event_payload(type_: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {"at": datetime.now(UTC).isoformat(), "type": type_, **fields}

    def _notify(self) -> None:
        if self.link is not None:
            self.link.notify()
