"""MQTT credentials and TLS settings, read from files or the systemd credentials directory.

Nothing secret is ever read from the TOML config: it may only name files. With systemd's
``LoadCredential=`` the service finds them in ``$CREDENTIALS_DIRECTORY`` under the names of
:data:`CREDENTIAL_NAMES`; systemd/dermocap.service, systemd/install.sh (which keeps them in
``/etc/dermocap/credentials/`` under the same names) and the README use exactly these names.
An empty credential counts as not given: install.sh creates every file empty, so each
``LoadCredential=`` source exists and the unit starts whichever of them the clinic fills in.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from dermocap.errors import ConfigError
from sync.config import SyncConfig

CREDENTIAL_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "username_file": "mqtt-username",
        "password_file": "mqtt-password",
        "tls_ca_file": "mqtt-ca.crt",
        "tls_cert_file": "mqtt-client.crt",
        "tls_key_file": "mqtt-client.key",
    }
)
"""Config key (``sync.<key>``) -> credential name in ``$CREDENTIALS_DIRECTORY``."""


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
            ConfigError: a certificate or key file is missing or unreadable, or a client
                key has no certificate (it would silently go unused).
        """
        if not self.tls:
            return None
        if self.key_file is not None and self.cert_file is None:
            raise ConfigError(
                f"a TLS client key ({self.key_file}) but no client certificate: set "
                "sync.tls_cert_file or fill in the mqtt-client.crt credential",
                [("sync.tls_cert_file", "missing")],
            )
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


def _find(config: SyncConfig, key: str, creds_dir: Path | None) -> Path | None:
    named: str = getattr(config, key)
    if named:
        p = Path(named).expanduser()
        if not p.is_file():
            raise ConfigError(f"sync.{key}: file {p} not found", [(f"sync.{key}", "not found")])
        return p
    if creds_dir is not None:
        p = creds_dir / CREDENTIAL_NAMES[key]
        # an empty file is the placeholder install.sh leaves: not given
        if p.is_file() and p.stat().st_size > 0:
            return p
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
    username = _read_secret(_find(config, "username_file", creds_dir))
    password = _read_secret(_find(config, "password_file", creds_dir))
    if password and not username:
        raise ConfigError(
            "an MQTT password was found but no username: set sync.username_file or add the "
            "mqtt-username credential",
            [("sync.username_file", "missing")],
        )
    return Credentials(
        username=username,
        password=password,
        ca_file=_find(config, "tls_ca_file", creds_dir),
        cert_file=_find(config, "tls_cert_file", creds_dir),
        key_file=_find(config, "tls_key_file", creds_dir),
        tls=config.tls,
    )


def check_credentials(config: SyncConfig, environ: Mapping[str, str]) -> Credentials:
    """Everything ``serve`` does with the credentials before it connects, as one check.

    :func:`load_credentials` plus, with TLS, the client context the link builds (so a key
    that does not match its certificate fails here too). ``dermocap config check`` (the
    unit's ExecStartPre) and ``dermocap doctor`` run it, so they fail where ``serve`` would.

    Raises:
        ConfigError: what :func:`load_credentials` or :meth:`Credentials.ssl_context` raise.
    """
    creds = load_credentials(config, environ)
    creds.ssl_context()
    return creds
