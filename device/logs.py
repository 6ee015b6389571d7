"""Log set-up of the command line: plain lines on a terminal, journal lines under systemd.

Under systemd (``$JOURNAL_STREAM`` names the very stream we write to) each line starts with
its syslog priority, ``<3>`` for an error to ``<7>`` for debug, so ``journalctl -p warning``
shows warnings and worse; the journal stamps the time itself, so we add none; and the
default level is INFO, so the journal shows what the service does. Elsewhere: WARNING by
default, with a timestamp, as before.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TextIO

# logging level -> syslog priority (sd-daemon(3): <N> at the start of a line)
PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level: 2 (crit) .. 7 (debug)."""
    for level, priority in PRIORITIES:
        if levelno >= level:
            return priority
    return 7


class JournalFormatter(logging.Formatter):
    """``<N>name: message``, with the prefix on every line (a traceback's too)."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def writes_to_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    """True when ``$JOURNAL_STREAM`` ("device:inode") is ``stream``'s file, as systemd says
    to check: a child of the service whose output goes elsewhere must not use the format."""
    value = environ.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (pytest's capture)
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def setup_logging(verbosity: int, environ: Mapping[str, str], stream: TextIO) -> None:
    """Configure the root logger once: ``-v`` steps down one level each."""
    journal = writes_to_journal(environ, stream)
    base = logging.INFO if journal else logging.WARNING
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter() if journal else logging.Formatter(PLAIN_FORMAT))
    logging.basicConfig(level=max(logging.DEBUG, base - 10 * verbosity), handlers=[handler])
