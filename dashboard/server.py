"""The running dashboard: store, receiver and web server, started and closed as one.

``dermocap dashboard serve`` and ``dermocap demo`` both run a :class:`DashboardServer`.
Shutdown runs in reverse order of start and copes with a start that failed half way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from dashboard.config import DashboardConfig
from dashboard.receiver import Receiver
from dashboard.store import Store
from dashboard.web import create_app
from dermocap.resource import Startable
from sync.credentials import load_credentials
from sync.models import ReplyMessage

log = logging.getLogger(__name__)


class DashboardServer(Startable):
    """Store + receiver (unless ``receive`` is false) + web pages on ``config.bind:port``.

    Raises:
        ConfigError: credentials named in the config are missing.
        StorageError: the database cannot be opened.
        SyncError: the broker cannot be reached at start.
        OSError: the web port is taken.
    """

    def __init__(
        self,
        config: DashboardConfig,
        *,
        environ: Mapping[str, str],
        receive: bool = True,
        on_raw: Callable[[str, bytes], None] | None = None,
        on_stored: Callable[[str, str, object], None] | None = None,
    ) -> None:
        self.config = config
        self._environ = environ
        self._receive = receive
        self._on_raw = on_raw
        self._on_stored = on_stored
        self._stack = ExitStack()
        self.store: Store | None = None
        self.receiver: Receiver | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the pages are (after start)."""
        if self._server is None:
            return ""
        host = self.config.bind if ":" not in self.config.bind else f"[{self.config.bind}]"
        return f"http://{host}:{self._server.server_port}/"

    def start(self) -> None:
        """Open the store, connect to the broker, start serving pages (a thread)."""
        try:
            self.store = self._stack.enter_context(
                Store(
                    self.config.database_path(),
                    self.config.images_dir(),
                    url=self.config.database_url,
                )
            )
            if self._receive:
                creds = load_credentials(self.config.sync_view(), self._environ)
                self.receiver = Receiver(
                    self.config.broker_host,
                    self.config.broker_port,
                    self.store,
                    client_id=self.config.client_id,
                    prefix=self.config.topic_prefix,
                    credentials=creds,
                    session_expiry_s=self.config.session_expiry_s,
                    max_message_bytes=self.config.max_message_kib * 1024,
                    gap_grace_s=self.config.gap_grace_s,
                    on_raw=self._on_raw,
                    on_stored=self._on_stored,
                )
                self.receiver.start(30)
                self._stack.callback(self.receiver.close)
            app = create_app(
                self.store,
                commander=self._command if self.receiver is not None else None,
                session_hours=self.config.session_hours,
            )
            self._server = make_server(self.config.bind, self.config.port, app, threaded=True)
            self._stack.callback(self._server.server_close)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="dashboard-web", daemon=True
            )
            self._thread.start()
            self._stack.callback(self._stop_web)
        except BaseException:
            self._stack.close()
            raise
        log.info("dashboard serving %s", self.url)

    def _command(self, device_id: str, name: str, payload: dict[str, Any]) -> ReplyMessage | None:
        assert self.receiver is not None  # noqa: S101 - only wired when there is one
        return self.receiver.command(device_id, name, payload, timeout_s=8.0)

    def _stop_web(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(10)

    def wait(self) -> None:
        """Block until the web server stops (``close`` from another thread, or a signal)."""
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        """Stop pages, receiver and store, in reverse order; idempotent."""
        self._stack.close()
