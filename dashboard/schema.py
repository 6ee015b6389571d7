"""The dashboard database's schema, one script per version (``PRAGMA user_version``).

:class:`dashboard.store.Store` runs every script above the file's version in order, each in
a transaction of its own, so a database of any older version is upgraded in place. Add a
version by appending a script; never edit a released one.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

_SCHEMA_V1 = """
CREATE TABLE messages (
    message_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    channel TEXT NOT NULL,
    received_at REAL NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE TABLE results (
    capture_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    subject TEXT NOT NULL,
    site TEXT NOT NULL,
    visit TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    received_at REAL NOT NULL,
    density_per_cm2 REAL NOT NULL,
    review INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL
);
CREATE INDEX results_subject ON results (subject, site, captured_at);
CREATE TABLE events (
    message_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    capture_id TEXT,
    subject TEXT,
    site TEXT,
    detail TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_device ON events (device_id, seq);
CREATE TABLE rigs (
    device_id TEXT PRIMARY KEY,
    state TEXT,
    since TEXT,
    software TEXT,
    model TEXT,
    last_seen REAL NOT NULL,
    telemetry TEXT,
    last_error TEXT,
    last_error_at TEXT
);
CREATE TABLE lost_seqs (
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE image_manifests (
    image_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE image_chunks (
    image_id TEXT NOT NULL,
    "offset" INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (image_id, "offset")
);
CREATE TABLE images (
    image_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    capture_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    file TEXT
);
CREATE INDEX images_capture ON images (capture_id);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    device_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    username TEXT NOT NULL,
    sent_at REAL NOT NULL,
    ok INTEGER,
    reply TEXT
);
"""
# v2: emergence points that staff click on a stored photograph (the annotation page).
_SCHEMA_V2 = """
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id TEXT NOT NULL,
    x_px REAL NOT NULL,
    y_px REAL NOT NULL,
    diameter_um REAL NOT NULL,
    username TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX annotations_image ON annotations (image_id, id);
"""
# v3: a refused message is kept once. ``resend since_seq`` brings every durable message from a
# seq on again, a refused one too: the same rig, topic and bytes (a resend is byte-identical)
# are one dead letter, seen ``arrivals`` times, the latest at ``last_at``; another message
# under the same seq (a second rig with the same device_id, a forger) differs in its bytes
# and keeps a row of its own. ``payload_sha256`` is of the payload as received (of the kept
# 64 KiB for a row older than v3); the copies older dashboards kept fold into their oldest
# row. ``sha256()`` is PostgreSQL's own; the store gives SQLite the same function.
_SCHEMA_V3 = """
ALTER TABLE dead_letters ADD COLUMN payload_sha256 BLOB;
ALTER TABLE dead_letters ADD COLUMN arrivals INTEGER NOT NULL DEFAULT 1;
ALTER TABLE dead_letters ADD COLUMN last_at REAL;
UPDATE dead_letters SET payload_sha256 = sha256(payload);
UPDATE dead_letters SET
    arrivals = (SELECT COUNT(*) FROM dead_letters d WHERE d.device_id = dead_letters.device_id
        AND d.topic = dead_letters.topic AND d.payload_sha256 = dead_letters.payload_sha256),
    last_at = (SELECT MAX(d.received_at) FROM dead_letters d
        WHERE d.device_id = dead_letters.device_id AND d.topic = dead_letters.topic
        AND d.payload_sha256 = dead_letters.payload_sha256);
DELETE FROM dead_letters WHERE id > (SELECT MIN(d.id) FROM dead_letters d
    WHERE d.device_id = dead_letters.device_id AND d.topic = dead_letters.topic
    AND d.payload_sha256 = dead_letters.payload_sha256);
CREATE UNIQUE INDEX dead_letters_message ON dead_letters (device_id, topic, payload_sha256);
"""
MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}  # version -> the script that reaches it
