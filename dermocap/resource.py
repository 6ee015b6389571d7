"""``Closeable``: the context-manager half of every resource, written once.

A subclass provides an idempotent ``close()``; ``with`` then closes it on the way out,
whether the block finished or raised.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closeable:
    """Mixin: ``__enter__`` returns self, ``__exit__`` calls ``close()``."""

    def close(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Startable(Closeable):
    """Mixin for resources that run something: ``with`` calls ``start()``, then ``close()``."""

    def start(self) -> None:  # pragma: no cover - always overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self
