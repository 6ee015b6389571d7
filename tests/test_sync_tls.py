"""TLS with a CA, server and client certificates made by the openssl CLI in the test."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from mqtt_fixtures import make_broker, make_pki, sample_record, sample_result, watching

from dermocap.errors import ConfigError
from dermocap.ids import uuid7
from sync import Credentials, MqttLink, Outbox, SyncConfig, load_credentials


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_tls_with_client_certificate(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    make_pki(pki)
    b = make_broker(
        tmp_path / "b",
        listener_conf=(
            f"allow_anonymous true\ncafile {pki}/ca.crt\ncertfile {pki}/server.crt\n"
            f"keyfile {pki}/server.key\nrequire_certificate true\ntls_version tlsv1.2"
        ),
    )
    try:
        # the rig finds its key through $CREDENTIALS_DIRECTORY (systemd LoadCredential=)
        creds_dir = tmp_path / "creds"
        creds_dir.mkdir()
        shutil.copy(pki / "client.key", creds_dir / "mqtt-client.key")
        cfg = SyncConfig(
            host="127.0.0.1", port=b.port, tls=True, tls_ca_file=str(pki / "ca.crt"),
            tls_cert_file=str(pki / "client.crt"), reconnect_min_s=0.05, reconnect_max_s=0.3,
        )  # fmt: skip
        creds = load_credentials(cfg, {"CREDENTIALS_DIRECTORY": str(creds_dir)})
        assert creds.key_file == creds_dir / "mqtt-client.key"
        dash = Credentials(
            ca_file=pki / "ca.crt", cert_file=pki / "client.crt", key_file=pki / "client.key",
            tls=True,
        )  # fmt: skip
        with watching(b, credentials=dash) as (w, _), Outbox(tmp_path / "o.db") as ob:
            capture = str(uuid7())
            ob.add_capture(capture, sample_record(), sample_result())
            with MqttLink(cfg, "rig-01", ob, credentials=creds) as link:
                assert w.wait_for(lambda: capture in w.device("rig-01").results, 10)
                assert link.connected.is_set()
            # without a client certificate the broker refuses the handshake
            nocert = Credentials(ca_file=pki / "ca.crt", tls=True)
            ob.add_capture(str(uuid7()), sample_record(1), sample_result(1))
            with MqttLink(cfg, "rig-01", ob, credentials=nocert) as refused:
                time.sleep(1.0)
                assert not refused.connected.is_set() and ob.depth() == 1
    finally:
        b.close()


def test_missing_credential_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_credentials(SyncConfig(password_file=str(tmp_path / "nope")), {})
    (tmp_path / "mqtt-password").write_text("pw")
    with pytest.raises(ConfigError, match="no username"):
        load_credentials(SyncConfig(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    (tmp_path / "mqtt-username").write_text("rig-01\n")
    creds = load_credentials(SyncConfig(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert (creds.username, creds.password) == ("rig-01", "pw")
    assert "pw" not in repr(creds)
    with pytest.raises(ConfigError, match="TLS"):
        Credentials(tls=True, ca_file=tmp_path / "mqtt-username").ssl_context()
