"""A one-off broker login with the rig's credentials, for ``dermocap doctor``.

It connects with its own client id (``dermocap-<device_id>-doctor``), a clean start and no
session, so a running service's session is never taken over, and disconnects at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dermocap.errors import SyncError
from sync.config import SyncConfig
from sync.credentials import Credentials


def broker_login(
    config: SyncConfig, credentials: Credentials, device_id: str, *, timeout_s: float
) -> float:
    """Connect and log in to the broker the config names; returns the time taken in ms.

    Raises:
        ConfigError: the TLS files are unusable.
        SyncError: the broker cannot be reached, the TLS handshake fails, the broker refuses
            the login (the reason code is named), or no answer within ``timeout_s``.
    """
    ctx = credentials.ssl_context()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"dermocap-{device_id}-doctor",
        protocol=mqtt.MQTTv5,
    )
    client.connect_timeout = timeout_s
    if credentials.username:
        client.username_pw_set(credentials.username, credentials.password)
    if ctx is not None:
        client.tls_set_context(ctx)
    answered = threading.Event()
    result: list[ReasonCode] = []

    def on_connect(
        c: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Properties | None
    ) -> None:
        result.append(rc)
        answered.set()

    client.on_connect = on_connect
    where = f"{config.host}:{config.port}"
    t0 = time.monotonic()
    try:
        try:
            client.connect(config.host, config.port, keepalive=config.keepalive_s)
        except (OSError, ValueError) as exc:
            raise SyncError(f"cannot reach the broker at {where}: {exc}") from None
        deadline = t0 + timeout_s
        while not answered.is_set() and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != mqtt.MQTT_ERR_SUCCESS and not answered.is_set():
                raise SyncError(f"the broker at {where} closed the connection before answering")
        if not result:
            raise SyncError(f"no answer from the broker at {where} within {timeout_s:g} s")
        if result[0].is_failure:
            raise SyncError(f"the broker at {where} refused the login: {result[0]}")
        return (time.monotonic() - t0) * 1e3
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
