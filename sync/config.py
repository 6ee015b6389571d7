"""Config section owned by sync/: the MQTT broker, the outbox and image transfer.

Secrets never live here: the username, password and TLS key are read from files named
below or from the systemd credentials directory (``$CREDENTIALS_DIRECTORY``).
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from dermocap.configbase import Section


def topic_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot start the rig's topics, or None when it can.

    A broker refuses a topic with NUL, and '+' or '#' make it a filter; an empty level
    (leading '/', '//') or a leading '$' (the broker's own $SYS tree) puts the rig's messages
    where neither the dashboard's subscription nor a broker ACL expects them.
    """
    body = prefix.replace("{device_id}", "x")
    if "{" in body or "}" in body:
        return "only the placeholder {device_id} may be written in braces"
    bad = sorted({c for c in body if c in "+#" or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F})
    if bad:
        return f"characters {', '.join(repr(c) for c in bad)} are not allowed in a topic"
    if body.startswith("$"):
        return "a topic starting with '$' is reserved for the broker"
    if any(level == "" for level in body.rstrip("/").split("/")):
        return "no empty topic level: no leading '/' and no '//'"
    return None


class SyncConfig(Section):
    """MQTT v5 connection to the clinic broker."""

    enabled: bool = Field(True, description="Publish results to the broker")
    host: str = Field("127.0.0.1", min_length=1, description="Broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 for TLS)")
    topic_prefix: str = Field(
        "dermocap/v1/{device_id}",
        min_length=1,
        max_length=200,
        description="Topic prefix; {device_id} is replaced by rig.device_id. Levels of "
        "printable characters without '+', '#', NUL or '$' at the start; no empty level",
    )
    keepalive_s: int = Field(
        30, ge=5, le=600, description="MQTT keep-alive; a dead link is noticed after 1.5x this"
    )
    connect_timeout_s: float = Field(
        5.0, ge=0.5, le=60.0, description="Give up a TCP/TLS connect attempt after this long"
    )
    reconnect_min_s: float = Field(
        0.5, ge=0.05, le=60.0, description="First wait before reconnecting after a drop"
    )
    reconnect_max_s: float = Field(
        30.0, ge=0.1, le=600.0, description="Cap of the doubling wait between reconnects"
    )
    session_expiry_s: int = Field(
        3600,
        ge=0,
        le=7 * 86400,
        description="MQTT v5 session expiry: commands sent while the rig is offline wait "
        "this long at the broker; must be at least will_delay_s",
    )
    will_delay_s: int = Field(
        15,
        ge=0,
        le=3600,
        description="Will Delay Interval: the broker announces 'offline' only after a drop "
        "lasts this long, so short Wi-Fi drops do not flap the dashboard",
    )
    inflight_window: int = Field(
        64, ge=1, le=1000, description="Most QoS 1 messages sent but not yet acknowledged"
    )
    telemetry_interval_s: float = Field(
        60.0, ge=1.0, le=3600.0, description="Period of telemetry messages"
    )
    telemetry_expiry_s: int = Field(
        300,
        ge=1,
        le=86400,
        description="Message Expiry Interval of telemetry: stale figures are dropped",
    )
    outbox_budget_mb: float = Field(
        512.0,
        ge=1.0,
        le=100_000.0,
        description="Outbox database size at which new captures are refused; unsent results "
        "are never deleted to make room",
    )
    acked_retention_days: float = Field(
        30.0,
        ge=0.0,
        le=3650.0,
        description="Keep acknowledged messages this long so the dashboard can ask to resend",
    )
    images: bool = Field(False, description="Also send each capture's kept image in chunks")
    image_chunk_kib: int = Field(
        64, ge=1, le=1024, description="Raw bytes per image chunk, in KiB (base64 adds 1/3)"
    )
    tls: bool = Field(False, description="Connect with TLS (then port is usually 8883)")
    tls_ca_file: str = Field(
        "",
        description="CA certificate (PEM) of the broker; empty: $CREDENTIALS_DIRECTORY/"
        "mqtt-ca.crt if present, else the system trust store",
    )
    tls_cert_file: str = Field(
        "",
        description="Client certificate (PEM); empty: $CREDENTIALS_DIRECTORY/mqtt-client.crt "
        "if present, else none",
    )
    tls_key_file: str = Field(
        "",
        description="Client key (PEM) file; empty: $CREDENTIALS_DIRECTORY/mqtt-client.key",
    )
    username_file: str = Field(
        "",
        description="File holding the MQTT username; empty: $CREDENTIALS_DIRECTORY/"
        "mqtt-username if present, else anonymous",
    )
    password_file: str = Field(
        "",
        description="File holding the MQTT password; empty: $CREDENTIALS_DIRECTORY/"
        "mqtt-password if present",
    )

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_a_topic(cls, v: str) -> str:
        problem = topic_prefix_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SyncConfig:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s must not exceed reconnect_max_s")
        if self.will_delay_s > self.session_expiry_s:
            raise ValueError(
                "will_delay_s must not exceed session_expiry_s (the will fires when the "
                "session ends)"
            )
        return self

    def prefix_for(self, device_id: str) -> str:
        """The topic prefix with ``{device_id}`` filled in, without a trailing slash."""
        return self.topic_prefix.replace("{device_id}", device_id).rstrip("/")
