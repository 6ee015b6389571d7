"""Image transfer: manifest and chunks by offset, cut part way and resumed, checked by SHA-256."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from mqtt_fixtures import (
    Broker,
    broker_fixture,  # noqa: F401 - registers the "broker" fixture
    sample_record,
    sample_result,
    watching,
)

from dermocap.ids import uuid7
from sync import (
    ImageAssembler,
    ImageChunkMessage,
    ImageManifestMessage,
    MqttLink,
    Outbox,
    SyncConfig,
)


def pieces(data: bytes, chunk: int) -> tuple[ImageManifestMessage, list[ImageChunkMessage]]:
    image_id = str(uuid7())
    manifest = ImageManifestMessage(
        message_id=str(uuid7()), seq=1, image_id=image_id, capture_id=str(uuid7()),
        name="kept.png", content_type="image/png", size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(), chunk_bytes=chunk, chunks=-(-len(data) // chunk),
    )  # fmt: skip
    chunks = [
        ImageChunkMessage(
            message_id=str(uuid7()),
            seq=2 + i,
            image_id=image_id,
            offset=off,
            length=len(data[off : off + chunk]),
            sha256=hashlib.sha256(data[off : off + chunk]).hexdigest(),
            data_b64=base64.b64encode(data[off : off + chunk]).decode(),
        )
        for i, off in enumerate(range(0, len(data), chunk))
    ]
    return manifest, chunks


@given(
    data=st.binary(min_size=1, max_size=3000),
    chunk=st.integers(1, 700),
    order=st.randoms(use_true_random=False),
    dup=st.integers(0, 5),
)
def test_reassembly_is_idempotent_in_any_order(data: bytes, chunk: int, order, dup: int) -> None:  # type: ignore[no-untyped-def]
    manifest, chunks = pieces(data, chunk)
    parts: list[object] = [manifest, *chunks, *chunks[:dup]]
    order.shuffle(parts)
    asm = ImageAssembler()
    done = []
    for p in parts:
        add = asm.add_manifest if isinstance(p, ImageManifestMessage) else asm.add_chunk
        img = add(p)  # type: ignore[arg-type]
        if img is not None:
            done.append(img)
    assert len(done) == 1 and done[0].ok and done[0].data == data
    assert not asm.missing()


def test_corrupt_chunk_is_refused() -> None:
    manifest, chunks = pieces(b"abcdefgh", 4)
    asm = ImageAssembler()
    asm.add_manifest(manifest)
    bad = chunks[0].model_copy(update={"data_b64": base64.b64encode(b"abcX").decode()})
    assert asm.add_chunk(bad) is None and asm.bad_chunks == 1
    assert asm.missing() == {manifest.image_id: 2}


def test_image_transfer_cut_and_resumed(broker: Broker, tmp_path: Path) -> None:
    image = tmp_path / "kept.png"
    image.write_bytes(os.urandom(120_000))
    cfg = SyncConfig(
        host=broker.host, port=broker.port, images=True, image_chunk_kib=2, inflight_window=2,
        reconnect_min_s=0.05, reconnect_max_s=0.3,
    )  # fmt: skip
    out = tmp_path / "received"
    with watching(broker, images_dir=out) as (w, _), Outbox(tmp_path / "o.db") as ob:
        capture = str(uuid7())
        ob.add_capture(capture, sample_record(), sample_result(), image=(image, 2048))
        total = ob.depth()
        assert total == 1 + 1 + 59
        link = MqttLink(cfg, "rig-01", ob)
        with link:
            assert w.wait_for(lambda: len(w.device("rig-01").seqs) >= 15, 10)
        # the rig went away part way: the rest waits in the outbox
        left = ob.depth()
        assert 0 < left < total - 10
        broker.restart(kill=False)  # and the broker restarted meanwhile (sessions kept)
        with MqttLink(cfg, "rig-01", ob) as link2:
            assert w.wait_for(lambda: len(w.image_results) == 1, 20)
            assert link2.stats.sent <= left, "it resumed where it stopped, not from the start"
        (img,) = w.image_results
        assert img.ok and img.data == image.read_bytes()
        assert (out / f"{capture}-kept.png").read_bytes() == image.read_bytes()


def test_missing_image_file_is_dead_lettered_not_blocking(broker: Broker, tmp_path: Path) -> None:
    image = tmp_path / "gone.png"
    image.write_bytes(b"x" * 5000)
    cfg = SyncConfig(host=broker.host, port=broker.port, reconnect_min_s=0.05)
    with watching(broker) as (w, _), Outbox(tmp_path / "o.db") as ob:
        ob.add_capture(str(uuid7()), sample_record(), sample_result(), image=(image, 2048))
        image.unlink()
        later = str(uuid7())
        ob.add_capture(later, sample_record(1), sample_result(1))
        with MqttLink(cfg, "rig-01", ob):
            assert w.wait_for(lambda: later in w.device("rig-01").results, 10)
        assert ob.dead_letter_count() == 3 and ob.depth() == 0
