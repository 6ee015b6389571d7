"""Config section owned by dashboard/: where it listens, which broker, where it keeps data.

Like the rig's ``[sync]``, secrets never live here: the MQTT username and password are read
from files named below or from the systemd credentials directory.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from dermocap.configbase import Section
from sync.config import SyncConfig


class DashboardConfig(Section):
    """The clinic dashboard: a persistent MQTT subscriber, a store and web pages."""

    bind: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the web pages listen on; 127.0.0.1 keeps them on this machine "
        "(put a TLS reverse proxy in front before binding a clinic network address)",
    )
    port: int = Field(8080, ge=0, le=65535, description="Web port (0: any free port)")
    data_dir: str = Field(
        "/var/lib/dermocap-dashboard",
        min_length=1,
        description="Folder of the database (dashboard.sqlite3) and the images/ folder",
    )
    database_url: str = Field(
        "",
        pattern=r"^$|^postgres(ql)?://[^:@/]*@?[^@]*$",
        description="PostgreSQL instead of SQLite, for a clinic group with many rigs: "
        "postgresql://USER@HOST:PORT/DB (no password here: libpq reads it from ~/.pgpass or "
        "PGPASSFILE); empty: SQLite in data_dir. Images stay in data_dir/images",
    )
    broker_host: str = Field("127.0.0.1", min_length=1, description="Clinic broker host")
    broker_port: int = Field(1883, ge=1, le=65535, description="Clinic broker port")
    topic_prefix: str = Field(
        "dermocap/v1/{device_id}",
        min_length=1,
        pattern=r"^[^#+]*\{device_id\}[^#+]*$",
        description="Topic prefix of the rigs; {device_id} matches any rig",
    )
    client_id: str = Field(
        "dermocap-dashboard",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Fixed MQTT client id: the broker keeps this dashboard's session by it, "
        "so two dashboards on one broker need two ids",
    )
    session_expiry_s: int = Field(
        7 * 86400,
        ge=60,
        le=30 * 86400,
        description="How long the broker keeps messages for the dashboard while it is down",
    )
    max_message_kib: int = Field(
        2048, ge=16, le=65536, description="Larger messages are dead-lettered, not parsed"
    )
    gap_grace_s: float = Field(
        2.0, ge=0.1, le=600.0, description="A seq gap open this long is asked for with resend"
    )
    session_hours: float = Field(
        12.0, ge=0.1, le=720.0, description="A staff login lasts this long"
    )
    username_file: str = Field(
        "", description="File holding the MQTT username; empty: anonymous or credentials dir"
    )
    password_file: str = Field("", description="File holding the MQTT password")
    tls: bool = Field(False, description="Connect to the broker with TLS")
    tls_ca_file: str = Field(
        "", description="CA certificate of the broker; empty: the system trust store"
    )

    def sync_view(self) -> SyncConfig:
        """The broker settings as the rig's section, to resolve credentials the same way."""
        return SyncConfig(
            host=self.broker_host,
            port=self.broker_port,
            username_file=self.username_file,
            password_file=self.password_file,
            tls=self.tls,
            tls_ca_file=self.tls_ca_file,
        )

    def database_path(self) -> Path:
        """The SQLite file."""
        return Path(self.data_dir) / "dashboard.sqlite3"

    def images_dir(self) -> Path:
        """Where verified images are kept, named by capture id."""
        return Path(self.data_dir) / "images"
