"""Image transfer: chunks read from disk at send time, and an idempotent reassembler.

The device queues a manifest (size, SHA-256, chunk size) and one outbox row per chunk.
A chunk is keyed by ``(image_id, offset)``: receiving it twice, or out of order, or after
a drop and a resume, yields the same bytes. The receiver checks the whole file's SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from dermocap.errors import StorageError
from dermocap.fsutil import atomic_write_bytes
from sync.models import ImageChunkMessage, ImageManifestMessage
from sync.outbox import OutboxEntry


def chunk_payload(entry: OutboxEntry) -> bytes:
    """The JSON payload of an image-chunk row, with its bytes read from ``entry.ref`` now.

    Raises:
        StorageError: the image file is gone or shorter than the manifest said.
    """
    body = json.loads(entry.payload)
    offset, length = int(body["offset"]), int(body["length"])
    try:
        with open(str(entry.ref), "rb") as f:
            f.seek(offset)
            data = f.read(length)
    except OSError as exc:
        raise StorageError(f"image {entry.ref} unreadable: {exc.strerror or exc}") from exc
    if len(data) != length:
        raise StorageError(f"image {entry.ref} is shorter than when it was queued")
    msg = ImageChunkMessage(
        message_id=entry.message_id,
        seq=entry.seq,
        image_id=body["image_id"],
        offset=offset,
        length=length,
        sha256=hashlib.sha256(data).hexdigest(),
        data_b64=base64.b64encode(data).decode("ascii"),
    )
    return msg.model_dump_json().encode("utf-8")


@dataclass
class _Partial:
    manifest: ImageManifestMessage | None = None
    chunks: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class AssembledImage:
    """A complete image whose SHA-256 matched (``ok``) or did not."""

    image_id: str
    capture_id: str
    name: str
    data: bytes
    ok: bool


class ImageAssembler:
    """Rebuilds images from manifests and chunks in any order, duplicates included.

    With ``out_dir`` each verified image is written there atomically as
    ``{capture_id}-{name}``. ``max_pending`` bounds images held in memory at once.
    """

    def __init__(self, out_dir: Path | None = None, max_pending: int = 64) -> None:
        self.out_dir = out_dir
        self.max_pending = max_pending
        self._partial: dict[str, _Partial] = {}
        self.done: dict[str, AssembledImage] = {}
        self.bad_chunks = 0

    def add_manifest(self, m: ImageManifestMessage) -> AssembledImage | None:
        """Record a manifest; returns the image if its chunks were all here already."""
        if m.image_id in self.done:
            return None
        self._slot(m.image_id).manifest = m
        return self._try_finish(m.image_id)

    def add_chunk(self, c: ImageChunkMessage) -> AssembledImage | None:
        """Record a chunk (ignored if corrupt or already complete); may finish an image."""
        if c.image_id in self.done:
            return None
        data = base64.b64decode(c.data_b64)
        if len(data) != c.length or hashlib.sha256(data).hexdigest() != c.sha256:
            self.bad_chunks += 1
            return None
        self._slot(c.image_id).chunks[c.offset] = data
        return self._try_finish(c.image_id)

    def missing(self) -> dict[str, int]:
        """Images still incomplete, with how many chunks each lacks (-1: no manifest yet)."""
        out: dict[str, int] = {}
        for image_id, p in self._partial.items():
            out[image_id] = -1 if p.manifest is None else p.manifest.chunks - len(p.chunks)
        return out

    def _slot(self, image_id: str) -> _Partial:
        if image_id not in self._partial and len(self._partial) >= self.max_pending:
            oldest = next(iter(self._partial))
            del self._partial[oldest]
        return self._partial.setdefault(image_id, _Partial())

    def _try_finish(self, image_id: str) -> AssembledImage | None:
        p = self._partial[image_id]
        m = p.manifest
        if m is None:
            return None
        expected = range(0, m.size_bytes, m.chunk_bytes)
        if any(off not in p.chunks for off in expected):
            return None
        data = b"".join(p.chunks[off] for off in expected)
        ok = len(data) == m.size_bytes and hashlib.sha256(data).hexdigest() == m.sha256
        img = AssembledImage(image_id, m.capture_id, m.name, data, ok)
        del self._partial[image_id]
        self.done[image_id] = img
        if ok and self.out_dir is not None:
            try:
                atomic_write_bytes(self.out_dir / f"{m.capture_id}-{m.name}", data)
            except FileExistsError as exc:  # pragma: no cover - atomic_write replaces
                raise StorageError(str(exc)) from exc
        return img
