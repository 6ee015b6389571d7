"""Who speaks as the rig and where it answers: the installation id, the signs of a second
rig with the same device_id, and the one namespace replies may go to.

Two rigs configured with one ``device_id`` share the MQTT client id: each connect takes the
other's session over, and both reconnect forever. Mosquitto 2.0 closes the older connection
without a reason; newer brokers send DISCONNECT 0x8E (Session taken over). So every status
message carries the rig's *installation id* (random, kept in its state folder): a retained
or live ``online``/``error`` status of another installation on the rig's own status topic
means a second rig, and the link stops instead of fighting. A restart of the same rig (same
folder) keeps its id, so its own earlier ``online`` is no conflict. A copy of the folder on another
computer (a cloned SD card) gets an id of its own (:func:`installation_id`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from datetime import datetime
from pathlib import Path

from dermocap import __version__
from dermocap.errors import StorageError
from dermocap.fsutil import atomic_write_bytes
from dermocap.ids import uuid7
from sync.models import StatusMessage, StatusState, validate_message

log = logging.getLogger(__name__)

INSTALLATION_FILE = "installation-id"
RC_SESSION_TAKEN_OVER = 0x8E
_ID = re.compile(r"^[0-9a-f]{16}$")


MACHINE_SOURCES = (
    Path("/sys/firmware/devicetree/base/serial-number"),  # a Raspberry Pi's SoC serial
    Path("/etc/machine-id"),  # elsewhere (copied with a disk image, so second best)
)


def machine_identity(sources: tuple[Path, ...] = MACHINE_SOURCES) -> str:
    """A short digest of what identifies this computer (its first readable source), or ""."""
    for path in sources:
        try:
            raw = path.read_bytes().strip(b"\0\n\t ")
        except OSError:
            continue
        if raw:
            return hashlib.sha256(b"dermocap installation\0" + raw).hexdigest()[:16]
    return ""


def _write_id(path: Path, machine: str, *, never_overwrite: bool) -> None:
    text = f"{secrets.token_hex(8)} {machine}".strip() + "\n"
    atomic_write_bytes(path, text.encode("ascii"), never_overwrite=never_overwrite)


def installation_id(folder: Path, machine: str | None = None) -> str:
    """The installation id kept in ``folder`` (16 hex digits), made on first use.

    The file also holds a digest of the computer it was made on (:func:`machine_identity`,
    or ``machine``). A state folder copied to another computer - an SD card cloned to set up
    a second rig - would otherwise give both rigs one id, and neither would see the other;
    there the id is made anew, with a warning. A file of an older version (the id alone) is
    kept and given this computer's digest.

    Raises:
        StorageError: the file cannot be read or written.
    """
    path = Path(folder) / INSTALLATION_FILE
    here = machine_identity() if machine is None else machine
    for _ in range(3):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            try:
                _write_id(path, here, never_overwrite=True)
            except FileExistsError:
                pass  # made by a concurrent first use: read that one
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise StorageError(f"cannot read the installation id {path}: {exc}") from exc
        ident, _, made_on = text.partition(" ")
        if not _ID.fullmatch(ident) or not (made_on == "" or _ID.fullmatch(made_on)):
            raise StorageError(f"{path} is not an installation id: remove it to make a new one")
        if made_on == here:
            return ident
        if made_on and here:
            log.warning(
                "%s was made on another computer (a copied SD card or state folder): this rig "
                "gets an installation id of its own",
                path,
            )
            _write_id(path, here, never_overwrite=False)
            continue
        if here:  # an older file, or a computer that had no identity to read
            atomic_write_bytes(path, f"{ident} {here}\n".encode("ascii"))
        return ident
    raise StorageError(f"cannot create the installation id {path}")


def status_message(
    state: StatusState,
    since: datetime | None,
    model: str | None,
    installation: str,
    detail: str | None = None,
) -> StatusMessage:
    """The rig's presence as published on ``{prefix}/status`` (and in its will)."""
    return StatusMessage(
        message_id=str(uuid7()),
        state=state,
        since=since,
        software=__version__,
        model=model,
        installation=installation,
        detail=detail,
    )


def status_conflict(payload: bytes, own_installation: str) -> str | None:
    """Why a message on the rig's own status topic shows a second rig; else None."""
    try:
        status = validate_message(StatusMessage, json.loads(payload))
    except ValueError as exc:  # InvalidMessage and bad JSON alike
        log.warning("unreadable message on the rig's own status topic: %s", exc)
        return None
    other = status.installation
    if other is None or other == own_installation or status.state not in ("online", "error"):
        return None
    return (
        f"another rig (installation {other}, {status.state}) uses this rig's device_id; "
        "give each rig its own rig.device_id and restart both"
    )


def session_taken_over(device_id: str) -> str:
    """The fault of a link whose broker said its session was taken over (0x8E)."""
    return (
        f"another client connected as dermocap-{device_id} and took this rig's session over: "
        "two rigs with one rig.device_id? Give each its own and restart"
    )


def reply_topic_ok(prefix: str, topic: str) -> bool:
    """A command's reply may go to ``{prefix}/replies`` or below it, nowhere else: not the
    rig's results or status, not another rig's commands, no wildcard or empty level."""
    base = f"{prefix}/replies"
    rest = topic[len(base) :]
    if not topic.startswith(base) or (rest and not rest.startswith("/")):
        return False
    return not any(c in topic for c in "+#\0") and "//" not in rest
