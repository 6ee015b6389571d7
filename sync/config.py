"""Config section owned by sync/: the MQTT broker and the outbox."""

from __future__ import annotations

from pydantic import Field

from dermocap.configbase import Section


class SyncConfig(Section):
    """MQTT v5 connection to the clinic broker."""

    enabled: bool = Field(True, description="Publish results to the broker")
    host: str = Field("127.0.0.1", min_length=1, description="Broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="Broker port (8883 for TLS)")
    topic_prefix: str = Field(
        "dermocap/v1/{device_id}",
        min_length=1,
        description="Topic prefix; {device_id} is replaced by rig.device_id",
    )
