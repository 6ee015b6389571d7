"""sync: durable outbox and MQTT v5 link carrying results to the clinic dashboard.

The door of the package; nothing here imports device, capture, inference or sim.
"""

from sync.commands import CommandRouter, Handler, parse_command
from sync.config import SyncConfig
from sync.credentials import CREDENTIAL_NAMES, Credentials, check_credentials, load_credentials
from sync.images import AssembledImage, ImageAssembler
from sync.link import LinkStats, MqttLink
from sync.models import (
    COMMANDS,
    ConfigCommand,
    EventMessage,
    ImageChunkMessage,
    ImageManifestMessage,
    InvalidMessage,
    PingCommand,
    ReplyMessage,
    ResendCommand,
    ResultMessage,
    StatusMessage,
    TelemetryMessage,
    WorklistCommand,
)
from sync.outbox import DeadLetter, Outbox, OutboxEntry
from sync.service import SyncService

__all__ = [
    "COMMANDS",
    "CREDENTIAL_NAMES",
    "AssembledImage",
    "CommandRouter",
    "ConfigCommand",
    "Credentials",
    "DeadLetter",
    "EventMessage",
    "Handler",
    "ImageAssembler",
    "ImageChunkMessage",
    "ImageManifestMessage",
    "InvalidMessage",
    "LinkStats",
    "MqttLink",
    "Outbox",
    "OutboxEntry",
    "PingCommand",
    "ReplyMessage",
    "ResendCommand",
    "ResultMessage",
    "StatusMessage",
    "SyncConfig",
    "SyncService",
    "TelemetryMessage",
    "WorklistCommand",
    "check_credentials",
    "load_credentials",
    "parse_command",
]
