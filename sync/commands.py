"""Dashboard commands: validation, the handler registry, and the reply each one gets.

A command arrives on ``{prefix}/cmd/{name}`` with a JSON object. It is acted on only if it
is not retained, its name is known, its payload matches the model and a handler is
registered; anything else gets an error reply and changes nothing. Handlers return a
dict of reply data (or None) and raise :class:`~dermocap.errors.CommandError` to refuse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from dermocap.errors import CommandError
from dermocap.ids import uuid7
from sync.models import COMMANDS, InvalidMessage, ReplyMessage, validate_message

log = logging.getLogger(__name__)

Handler = Callable[[Any], dict[str, Any] | None]
"""Takes the validated command model (e.g. WorklistCommand); returns reply data."""

MAX_COMMAND_BYTES = 64 * 1024
MAX_INCOMING_PACKET_BYTES = 2 * MAX_COMMAND_BYTES
"""Maximum Packet Size the rig sets in CONNECT: a command, its topic and its properties."""


@dataclass(frozen=True)
class Dispatch:
    """What came of one command: the reply to send, or None for a retained one."""

    reply: ReplyMessage | None
    acted: bool


class CommandRouter:
    """Validates commands and calls the handler registered for each name."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        """Route command ``name`` to ``handler`` (replacing any before).

        Raises:
            CommandError: ``name`` is not a command of the contract.
        """
        if name not in COMMANDS:
            raise CommandError(f"unknown command {name!r}; known: {sorted(COMMANDS)}")
        self._handlers[name] = handler

    def dispatch(self, name: str, payload: bytes, *, retained: bool) -> Dispatch:
        """Validate and run one command; never raises for a bad command."""
        if retained:
            # A retained command would run again on every reconnect: never act on one.
            log.warning("ignored retained command %r: commands must not be retained", name)
            return Dispatch(None, acted=False)
        try:
            command = parse_command(name, payload)
            handler = self._handlers.get(name)
            if handler is None:
                raise CommandError(f"command {name!r} is not handled by this rig yet")
            data = handler(command) or {}
        except CommandError as exc:
            log.info("refused command %r: %s", name, exc)
            return Dispatch(_reply(name, ok=False, error=str(exc)), acted=False)
        except Exception as exc:
            log.exception("command %r failed", name)
            return Dispatch(_reply(name, ok=False, error=f"internal error: {exc}"), acted=False)
        return Dispatch(_reply(name, ok=True, data=data), acted=True)


def parse_command(name: str, payload: bytes) -> BaseModel:
    """Decode and validate a command payload (empty means ``{}``).

    Raises:
        CommandError: unknown name, not JSON, not an object, or not matching the model.
    """
    model = COMMANDS.get(name)
    if model is None:
        raise CommandError(f"unknown command {name!r}; known: {sorted(COMMANDS)}")
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"command payload over {MAX_COMMAND_BYTES} bytes")
    try:
        data = json.loads(payload.decode("utf-8")) if payload.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise CommandError(f"command {name!r} is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CommandError(f"command {name!r} must be a JSON object")
    try:
        return validate_message(model, data)
    except InvalidMessage as exc:
        raise CommandError(str(exc)) from None


def refusal(name: str, reason: str) -> ReplyMessage:
    """The reply to a command refused before its handler ran (e.g. a foreign ResponseTopic)."""
    return _reply(name, ok=False, error=reason)


def _reply(name: str, *, ok: bool, error: str | None = None, data: Any = None) -> ReplyMessage:
    return ReplyMessage(
        message_id=str(uuid7()),
        command=name[:48],
        ok=ok,
        error=None if error is None else error[:500],
        data=data or {},
    )
