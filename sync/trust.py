"""Who speaks as the rig and where it answers: the installation id, the signs of a second
rig with the same device_id, and the one namespace replies may go to.

Two rigs configured with one ``device_id`` share the MQTT client id: each connect takes the
other's session over, and both reconnect forever. Mosquitto 2.0 closes the older connection
without a reason; newer brokers send DISCONNECT 0x8E (Session taken over). So every status
message carries the rig's *installation id* (random when made, kept in its state folder): a retained
or live ``online``/``error`` status of another installation on the rig's own status topic
means a second rig, and the link stops instead of fighting. A restart of the same rig (same
folder) keeps its id, so its own earlier ``online`` is no conflict. A copy of the folder on
another computer (a cloned SD card) takes an id of its own (:func:`installation_id`); copies
made of a card from before that rule, whose file names no computer, keep one shared id until
each is given its own (remove ``installation-id`` on one of them).
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


IDENTITY_KINDS = ("serial", "machine-id")  # strongest first: the first both sides know decides
_KIND = re.compile(r"^(serial|machine-id)=([0-9a-f]{16})$")


def _serial(root: Path) -> str:
    """The board's serial number as systemd/install.sh reads it: device tree, else
    /proc/cpuinfo; "" when absent or all zeros (a VM, a board without one)."""
    raw = ""
    try:
        raw = (root / "sys/firmware/devicetree/base/serial-number").read_bytes().decode("ascii")
    except (OSError, UnicodeDecodeError):
        pass
    if not raw.strip("\0 \n"):
        try:
            cpuinfo = (root / "proc/cpuinfo").read_text(encoding="ascii", errors="replace")
        except OSError:
            cpuinfo = ""
        found = re.search(r"^Serial\s*:\s*(\S+)", cpuinfo, re.MULTILINE)
        raw = found.group(1) if found else ""
    serial = "".join(c for c in raw.lower() if c in "0123456789abcdef")
    return serial if serial.strip("0") else ""


def machine_identities(root: Path = Path("/")) -> dict[str, str]:
    """Digests of what identifies this computer, by kind (``IDENTITY_KINDS``): the board's
    serial (a Raspberry Pi's SoC serial; not copied with an SD card) and /etc/machine-id
    (copied with a disk image, so second best). Unreadable ones are left out."""
    values = {"serial": _serial(root)}
    try:
        values["machine-id"] = (root / "etc/machine-id").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        pass
    return {
        kind: hashlib.sha256(f"dermocap installation\0{kind}\0{v}".encode()).hexdigest()[:16]
        for kind, v in values.items()
        if v
    }


def _parse(path: Path, text: str) -> tuple[str, dict[str, str]]:
    ident, *tokens = text.split()
    made_on: dict[str, str] = {}
    for token in tokens:
        m = _KIND.fullmatch(token)
        if m is None:
            break
        made_on[m.group(1)] = m.group(2)
    else:
        if _ID.fullmatch(ident):
            return ident, made_on
    raise StorageError(f"{path} is not an installation id: remove it to make a new one")


def _format(ident: str, made_on: dict[str, str]) -> bytes:
    kinds = [f"{k}={made_on[k]}" for k in IDENTITY_KINDS if k in made_on]
    return (" ".join([ident, *kinds]) + "\n").encode("ascii")


def installation_id(folder: Path, machine: dict[str, str] | None = None) -> str:
    """The installation id kept in ``folder`` (16 hex digits), made on first use.

    The file also keeps digests of the computer it was made on (:func:`machine_identities`,
    or ``machine``). A state folder copied to another computer - an SD card cloned to set up
    a second rig - would otherwise give both rigs one id, and neither would see the other.
    The strongest identity both the file and this computer know decides: where it differs
    the folder is a copy, and this computer's id is derived from the copied one and its own
    identity (the same in every process, on every start, whether or not the file can be
    rewritten), with a warning. An identity unreadable here (a container without /sys) is
    no evidence either way. A file of an older version (the id alone) is kept and given this
    computer's digests, as is a file missing one this computer now has; those writes are
    best effort.

    Raises:
        StorageError: the file cannot be read, is not an installation id, or cannot be
            created.
    """
    path = Path(folder) / INSTALLATION_FILE
    here = machine_identities() if machine is None else machine
    for _ in range(2):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            data = _format(secrets.token_hex(8), here)
            try:
                atomic_write_bytes(path, data, never_overwrite=True)
            except FileExistsError:
                pass  # made by a concurrent first use: read that one
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise StorageError(f"cannot read the installation id {path}: {exc}") from exc
        ident, made_on = _parse(path, text) if text else ("", {})
        if not ident:
            raise StorageError(f"{path} is empty: remove it to make a new one")
        known = [k for k in IDENTITY_KINDS if k in made_on and k in here]
        if known and made_on[known[0]] != here[known[0]]:
            log.warning(
                "%s was made on another computer (a copied SD card or state folder): this rig "
                "takes an installation id of its own",
                path,
            )
            seed = "\0".join([ident, *(f"{k}={here[k]}" for k in IDENTITY_KINDS if k in here)])
            ident, made_on = hashlib.sha256(seed.encode()).hexdigest()[:16], {}
        merged = {**made_on, **here}
        if merged != made_on:
            try:
                atomic_write_bytes(path, _format(ident, merged))
            except StorageError as exc:
                log.warning(
                    "could not record this computer in %s (%s); it keeps id %s", path, exc, ident
                )
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
