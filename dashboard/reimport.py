"""``dermocap dashboard reimport``: take the dead letters again with today's rules.

A message the dashboard refused because it was older than the rig (a field it did not know
yet) is kept in ``dead_letters``; once the dashboard is upgraded it validates. Each dead
letter is judged by the receiver's own path (:func:`dashboard.receiver.parse_message`, then
:meth:`Store.add_durable`), in one transaction with its removal, so a crash or a rerun
never stores a message twice or loses one; it is safe beside a running ``serve`` (each dead
letter is one short write transaction, and a message the receiver stores at the same time
is a duplicate here). Outcomes:

- ``imported``: stored now, dead letter removed;
- ``duplicate``: its ``message_id`` is stored already (the rig resent it), removed;
- ``not applied``: a status or telemetry message that validates now; it described the rig
  when it arrived and is not applied afterwards (the rig publishes fresh ones), removed;
- ``still refused``: kept, its reason replaced by today's;
- ``truncated``: kept only in part (the 64 KiB keep-limit), cannot be judged again; kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.client import TopicLayout
from dashboard.receiver import parse_message
from dashboard.store import DeadLetter, Store
from sync.models import DURABLE_CHANNELS, InvalidMessage

OUTCOMES = ("imported", "duplicate", "not applied", "still refused", "truncated")


@dataclass(frozen=True)
class Taken:
    """What reimport did (or, in a dry run, would do) with one dead letter."""

    letter: DeadLetter
    outcome: str  # one of OUTCOMES
    reason: str = ""  # still refused: why now; truncated, not applied: what it means

    @property
    def removed(self) -> bool:
        """Whether the dead letter leaves the table."""
        return self.outcome in ("imported", "duplicate", "not applied")

    def line(self) -> str:
        """One line of the command's output."""
        words = f"{self.outcome}: {self.reason}" if self.reason else self.outcome
        return f"{self.letter.id}\t{self.letter.device_id}\t{self.letter.topic}\t{words}"


def reimport(
    store: Store,
    *,
    prefix: str,
    max_message_bytes: int,
    dry_run: bool = False,
    on_taken: Callable[[Taken], None] | None = None,
) -> list[Taken]:
    """Judge every dead letter again; return (and hand ``on_taken``) what became of each.

    ``prefix`` and ``max_message_bytes`` are the receiver's (``dashboard.topic_prefix``,
    ``dashboard.max_message_kib``). With ``dry_run`` nothing changes.

    Raises:
        StorageError, or the driver's error: the database failed (nothing half-done: each
            dead letter is one transaction).
    """
    topics = TopicLayout(prefix)
    out = []
    for dead_id in store.dead_letter_ids():
        taken = _take(store, topics, dead_id, max_message_bytes, dry_run)
        if taken is None:
            continue  # settled by another process since the list was read
        out.append(taken)
        if on_taken is not None:
            on_taken(taken)
    return out


def _take(
    store: Store, topics: TopicLayout, dead_id: int, max_message_bytes: int, dry_run: bool
) -> Taken | None:
    refused: Taken | None = None
    try:
        with store.redoing(dead_id, dry_run=dry_run) as letter:
            if letter is None:
                return None
            try:
                taken = _judge(store, topics, letter, max_message_bytes)
            except (InvalidMessage, ValueError) as exc:
                refused = Taken(letter, "still refused", str(exc))
                raise  # out of the transaction: whatever the message began is rolled back
            if taken.removed:
                store.drop_dead_letter(dead_id)
            return taken
    except (InvalidMessage, ValueError):
        if refused is None:
            raise
    if not dry_run:
        store.refuse_again(dead_id, refused.reason)
    return refused


def _judge(store: Store, topics: TopicLayout, letter: DeadLetter, max_message_bytes: int) -> Taken:
    """The receiver's rules on one dead letter, storing what passes (in the caller's
    transaction). Raises InvalidMessage or ValueError as the receiver's path does."""
    if letter.truncated:
        return Taken(
            letter,
            "truncated",
            f"only {len(letter.payload)} of its {letter.size_bytes} bytes were kept, "
            "so it cannot be taken again",
        )
    split = topics.split(letter.topic)
    if split is None:
        raise ValueError(f"topic outside the prefix {topics.prefix!r}")
    device_id, channel = split
    m, text = parse_message(channel, letter.payload, max_message_bytes)
    if channel not in DURABLE_CHANNELS:
        return Taken(
            letter, "not applied", f"a {channel} message describes the rig only when it arrives"
        )
    outcome = store.add_durable(device_id, channel, m, raw=text)  # type: ignore[arg-type]
    return Taken(letter, "imported" if outcome.stored else "duplicate")


def summary(taken: list[Taken], *, dry_run: bool) -> str:
    """The command's last line: how many of each outcome."""
    counts = Counter(t.outcome for t in taken)
    parts = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o])
    removed = sum(t.removed for t in taken)
    head = "dry run, nothing changed: " if dry_run else ""
    verb = "would leave" if dry_run else "left"
    return (
        f"{head}{len(taken)} dead letters: {parts or 'none'}; {removed} {verb} dead_letters, "
        f"{len(taken) - removed} stay"
    )
