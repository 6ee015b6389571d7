"""MQTT credentials and TLS settings, read from files or the systemd credentials directory.

Nothing secret is ever read from the TOML config: it may only name files. With systemd's
``LoadCredential=`` the service finds them in ``$CREDENTIALS_DIRECTORY`` under the names
``mqtt-username``, ``mqtt-password``, ``mqtt-ca.crt``, ``mqtt-client.crt`` and
``mqtt-client.key``.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dermocap.errors import ConfigError
from sync.config import SyncConfig


@dataclass(frozen=True)
class Credentials:
    """What the link needs to log in: all optional (anonymous, plain TCP)."""

    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls: bool = False

    def __repr__(self) -> str:  # never print a password into a log
        return (
            f"Credentials(username={self.username!r}, password={'***' if self.password else None}"
            f", tls={self.tls}, ca_file={self.ca_file}, cert_file={self.cert_file})"
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context (server certificate and host name checked), or None.

        Raises:
            ConfigError: a certificate or key file is missing or unreadable.
        """
        if not self.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.cert_file:
                ctx.load_cert_chain(
                    str(self.cert_file), str(self.key_file) if self.key_file else None
                )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"TLS files for the MQTT broker are unusable: {exc}; check sync.tls_* and the "
                "credentials directory",
                [("sync.tls_ca_file", str(exc))],
            ) from exc
        return ctx


def _find(named: str, credential: str, creds_dir: Path | None, key: str) -> Path | None:
    if named:
        p = Path(named).expanduser()
        if not p.is_file():
            raise ConfigError(f"sync.{key}: file {p} not found", [(f"sync.{key}", "not found")])
        return p
    if creds_dir is not None and (creds_dir / credential).is_file():
        return creds_dir / credential
    return None


def _read_secret(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", [(str(path), str(exc))]) from exc


def load_credentials(config: SyncConfig, environ: Mapping[str, str]) -> Credentials:
    """Resolve every credential from the files the config names or ``$CREDENTIALS_DIRECTORY``.

    ``environ`` is passed in (usually ``os.environ``) so nothing is read at import time.

    Raises:
        ConfigError: a named file is missing, or a password has no username.
    """
    raw_dir = environ.get("CREDENTIALS_DIRECTORY")
    creds_dir = Path(raw_dir) if raw_dir else None
    username = _read_secret(
        _find(config.username_file, "mqtt-username", creds_dir, "username_file")
    )
    password = _read_secret(
        _find(config.password_file, "mqtt-password", creds_dir, "password_file")
    )
    if password and not username:
        raise ConfigError(
            "an MQTT password was found but no username: set sync.username_file or add the "
            "mqtt-username credential",
            [("sync.username_file", "missing")],
        )
    return Credentials(
        username=username,
        password=password,
        ca_file=_find(config.tls_ca_file, "mqtt-ca.crt", creds_dir, "tls_ca_file"),
        cert_file=_find(config.tls_cert_file, "mqtt-client.crt", creds_dir, "tls_cert_file"),
        key_file=_find(config.tls_key_file, "mqtt-client.key", creds_dir, "tls_key_file"),
        tls=config.tls,
    )
