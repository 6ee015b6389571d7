"""Staff accounts and logins: scrypt password hashes, session tokens, CSRF tokens.

Only a token's SHA-256 is stored, so a copy of the database does not log anyone in. Each
session has its own CSRF token, which every form of the pages carries and every POST checks.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import time

from dashboard.store import Session, Store
from dermocap.errors import ConfigError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD_CHARS = 10


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash from :func:`hash_password` (constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def add_user(store: Store, username: str, password: str) -> None:
    """Add a staff account (or set its password, ending its sessions).

    Raises:
        ConfigError: the username is not lower-case letters/digits, or the password is short.
    """
    if not USERNAME_PATTERN.match(username):
        raise ConfigError(
            f"username {username!r}: 2-32 lower-case letters, digits, '.', '_' or '-'",
            [("username", "invalid")],
        )
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(
            f"the password needs at least {MIN_PASSWORD_CHARS} characters",
            [("password", "too short")],
        )
    store.put_user(username, hash_password(password))


def token_key(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so timing does not tell."""
    return hash_password(secrets.token_hex(8))


def log_in(store: Store, username: str, password: str, hours: float) -> str | None:
    """A new session token when the password is right, else None."""
    stored = store.password_hash(username)
    ok = verify_password(password, stored or _dummy_hash())
    if stored is None or not ok:
        return None
    token = secrets.token_urlsafe(32)
    store.add_session(
        token_key(token), username, secrets.token_urlsafe(32), time.time() + hours * 3600
    )
    return token


def session_of(store: Store, token: str | None) -> Session | None:
    """The live session of a cookie's token, or None."""
    return store.session(token_key(token)) if token else None


def csrf_ok(expected: str, given: str | None) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
