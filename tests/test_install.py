"""The install path agrees with itself: unit, install.sh, the code and the README."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from dermocap.errors import ConfigError
from device.capture_cmds import capture_session
from device.cli import main as cli_main
from device.config import DermocapConfig, RigConfig, load_config, to_toml
from device.rig import build_rig
from sync import CREDENTIAL_NAMES, SyncConfig, SyncService, check_credentials

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "dermocap.service"
INSTALL = ROOT / "systemd" / "install.sh"


def install_sh(snippet: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Source install.sh (which then runs nothing) and run ``snippet`` with its functions."""
    return subprocess.run(
        ["bash", "-c", f'source "$1"; {snippet}', "install.sh", str(INSTALL)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", **env},
    )


def unit_credentials() -> dict[str, str]:
    """``LoadCredential=ID:PATH`` lines of the unit, as ID -> PATH."""
    return dict(
        line.split("=", 1)[1].split(":", 1)
        for line in UNIT.read_text().splitlines()
        if line.startswith("LoadCredential=")
    )


def test_credential_names_agree_everywhere() -> None:
    names = set(CREDENTIAL_NAMES.values())
    unit = unit_credentials()
    assert set(unit) == names
    for name, source in unit.items():
        assert source == f"/etc/dermocap/credentials/{name}"
    res = install_sh('printf "%s\\n" "${CREDENTIALS[@]}"')
    assert res.returncode == 0, res.stderr
    assert set(res.stdout.split()) == names
    readme = (ROOT / "README.md").read_text()
    for name in names:
        assert f"`{name}`" in readme, name


def test_install_creates_every_credential_empty_and_keeps_filled_ones(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text("kept\n")
    res = install_sh('make_credentials "$D"', D=str(tmp_path)).returncode
    assert res == 0
    made = {p.name: p for p in tmp_path.iterdir()}
    assert set(made) == set(CREDENTIAL_NAMES.values())
    assert made["mqtt-password"].read_text() == "kept\n"
    assert made["mqtt-client.key"].stat().st_size == 0
    assert made["mqtt-client.key"].stat().st_mode & 0o777 == 0o600


def _store(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """Fill /etc/dermocap/credentials (under tmp_path) as the clinic would, the rest empty."""
    store = tmp_path / "etc" / "dermocap" / "credentials"
    store.mkdir(parents=True)
    for name in CREDENTIAL_NAMES.values():
        (store / name).write_bytes(files.get(name, b""))
    return store


def _hand_over(tmp_path: Path, store: Path, unit: dict[str, str]) -> Path:
    """The $CREDENTIALS_DIRECTORY systemd builds from the unit's LoadCredential= lines."""
    creds = tmp_path / "run" / "credentials" / "dermocap.service"
    creds.mkdir(parents=True)
    for name, source in unit.items():
        src = store / Path(source).name
        assert src.is_file(), f"the unit would fail to start: {source} missing"
        shutil.copy(src, creds / name)
    return creds


def _serve_loads(cfg: SyncConfig, creds: Path, state: Path) -> bool:
    """What ``serve`` does with the credentials: the sync service builds its link."""
    try:
        with SyncService(cfg, "rig-01", state, environ={"CREDENTIALS_DIRECTORY": str(creds)}):
            return True
    except ConfigError:
        return False


def _config_check(
    cfg: SyncConfig, creds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> int:
    path = tmp_path / "config.toml"
    path.write_text(to_toml(DermocapConfig(sync=cfg)))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    return cli_main(["config", "check", str(path)])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
@pytest.mark.parametrize(
    ("case", "given", "works"),
    [
        ("fresh install, nothing filled in", set(), True),
        ("login and TLS with a client certificate", {"all"}, True),
        ("password without a username", {"mqtt-password"}, False),
        ("client key without its certificate", {"mqtt-ca.crt", "mqtt-client.key"}, False),
        ("key of another certificate", {"all", "wrong-key"}, False),
    ],
)
def test_serve_and_config_check_agree_on_what_the_unit_hands_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, given: set[str], works: bool
) -> None:
    from test_sync_tls import make_pki

    pki = tmp_path / "pki"
    make_pki(pki)
    every = {
        "mqtt-username": b"rig-01\n",
        "mqtt-password": b"s3cret\n",
        "mqtt-ca.crt": (pki / "ca.crt").read_bytes(),
        "mqtt-client.crt": (pki / "client.crt").read_bytes(),
        "mqtt-client.key": (pki / "client.key").read_bytes(),
    }
    files = dict(every) if "all" in given else {k: v for k, v in every.items() if k in given}
    if "wrong-key" in given:
        files["mqtt-client.key"] = (pki / "server.key").read_bytes()
    creds = _hand_over(tmp_path, _store(tmp_path, files), unit_credentials())
    cfg = SyncConfig(tls=bool({"mqtt-ca.crt", "all"} & given), port=8883)
    state = tmp_path / "state"
    state.mkdir()

    served = _serve_loads(cfg, creds, state)
    checked = _config_check(cfg, creds, tmp_path, monkeypatch)
    assert served is works, case
    assert checked == (0 if works else 2), case
    if "all" in given and works:
        got = check_credentials(cfg, {"CREDENTIALS_DIRECTORY": str(creds)})
        assert (got.username, got.password) == ("rig-01", "s3cret")
        assert (got.ca_file, got.cert_file, got.key_file) == (
            creds / "mqtt-ca.crt",
            creds / "mqtt-client.crt",
            creds / "mqtt-client.key",
        )


def test_readme_names_no_credential_the_code_does_not_read() -> None:
    readme = (ROOT / "README.md").read_text()
    mentioned = set(re.findall(r"credentials/([\w.-]+)", readme))
    assert mentioned <= set(CREDENTIAL_NAMES.values()), mentioned


def test_installed_config_keeps_state_where_the_service_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dermocap = shutil.which("dermocap") or str(Path(sys.executable).with_name("dermocap"))
    conf = tmp_path / "config.toml"
    res = install_sh('write_config "$F" "$D" rig-10000000abcd1234', F=str(conf), D=dermocap)
    assert res.returncode == 0, res.stderr
    cfg = load_config(conf)
    assert cfg.rig.backend == "hardware"
    assert cfg.rig.device_id == "rig-10000000abcd1234"
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    unit = UNIT.read_text()
    state_directory = re.search(r"^StateDirectory=(\S+)$", unit, re.M)
    assert state_directory is not None
    assert cfg.rig.resolved_state_dir() == Path("/var/lib") / state_directory[1]
    # an older install's config (no state_dir) gets it; one set by the clinic is kept
    old = tmp_path / "old.toml"
    old.write_text('[rig]\nbackend = "hardware"\nstate_dir = ""\n')
    kept = tmp_path / "kept.toml"
    kept.write_text('[rig]\nstate_dir = "/srv/rig"\n')
    for f in (old, kept):
        assert install_sh('write_config "$F" "$D" rig-x', F=str(f), D=dermocap).returncode == 0
    assert load_config(old).rig.state_dir == "/var/lib/dermocap"
    assert load_config(kept).rig.state_dir == "/srv/rig"
    # an installed rig's id is never changed (the dashboard knows it), but a default one is named
    old.write_text('[rig]\ndevice_id = "rig-01"\n')
    res = install_sh('write_config "$F" "$D" rig-abc', F=str(old), D=dermocap)
    assert res.returncode == 0 and "rig-abc" in res.stderr
    assert load_config(old).rig.device_id == "rig-01"


def test_calibrate_outside_systemd_writes_where_serve_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "var-lib-dermocap"
    conf = tmp_path / "config.toml"
    conf.write_text(f'[rig]\nbackend = "twin"\nstate_dir = "{state}"\n')
    # the technician's shell: no $STATE_DIRECTORY
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert cli_main(["--config", str(conf), "calibrate", "--json"]) == 0
    # the service: systemd sets $STATE_DIRECTORY; the config names the same folder
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    cfg = load_config(conf)
    with build_rig(cfg) as rig:
        session = capture_session(rig, cfg.rig.resolved_state_dir())
        assert session.calibration is not None


@pytest.mark.parametrize(
    ("files", "want"),
    [
        # Pi 5 / 4: the device tree's serial, NUL-terminated
        ({"sys/firmware/devicetree/base/serial-number": b"c1a2b3c4d5e6f708\0"}, "c1a2b3c4d5e6f708"),
        # older kernels: /proc/cpuinfo's Serial line
        ({"proc/cpuinfo": b"processor\t: 0\nSerial\t\t: 10000000ABCD1234\nModel\t: Pi\n"},
         "10000000abcd1234"),
        # a VM's zero serial falls back to the machine id
        ({"proc/cpuinfo": b"Serial\t\t: 0000000000000000\n",
          "etc/machine-id": b"0123456789abcdef0123456789abcdef\n"}, "0123456789abcdef"),
    ],
)  # fmt: skip
def test_install_gives_each_rig_its_own_device_id(
    tmp_path: Path, files: dict[str, bytes], want: str
) -> None:
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    res = install_sh("rig_device_id", ROOT=str(tmp_path))
    assert res.returncode == 0, res.stderr
    device_id = res.stdout.strip()
    assert device_id == f"rig-{want}"
    assert RigConfig(device_id=device_id).device_id == device_id  # a valid rig.device_id


def test_install_without_any_serial_says_so(tmp_path: Path) -> None:
    res = install_sh("rig_device_id", ROOT=str(tmp_path))
    assert res.returncode == 1 and "rig.device_id" in res.stderr


@pytest.mark.parametrize(
    ("codename", "arch", "want"),
    [
        ("bookworm", "arm64", "bookworm"),
        ("trixie", "arm64", "trixie"),
        ("bookworm", "amd64", "bookworm"),
        ("bookworm", "armhf", "64-bit"),
        ("bullseye", "arm64", "not supported"),
    ],
)
def test_install_checks_for_a_64_bit_supported_os(
    tmp_path: Path, codename: str, arch: str, want: str
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text(f'ID=debian\nVERSION_CODENAME="{codename}"\n')
    res = install_sh("os_release", ROOT=str(tmp_path), DPKG_ARCH=arch)
    if want == codename:
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == codename
        assert (ROOT / "requirements" / f"{codename}.lock").is_file()
    else:
        assert res.returncode == 1 and want in res.stderr


def _lock(release: str) -> dict[str, tuple[str, list[str]]]:
    """Name -> (pinned version, hashes) of a lock file; every line must be of a pin."""
    text = (ROOT / "requirements" / f"{release}.lock").read_text()
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ).strip()):  # fmt: skip
        head, *rest = block.replace("\\\n", " ").split()
        name, _, version = head.partition("==")
        assert version, f"{release}.lock: {head} is not pinned"
        hashes = [h.removeprefix("--hash=sha256:") for h in rest]
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), head
        pins[canonicalize_name(name)] = (version, hashes)
    return pins


@pytest.mark.parametrize(("release", "numpy_major"), [("bookworm", 1), ("trixie", 2)])
def test_lock_files_pin_every_dependency_with_hashes(release: str, numpy_major: int) -> None:
    pins = _lock(release)
    assert {"onnxruntime", "numpy"} <= set(pins)
    # bookworm's picamera2 and simplejpeg are built against numpy 1.x, trixie's against 2.x
    assert Version(pins["numpy"][0]).major == numpy_major
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in map(Requirement, project["dependencies"]):
        name = canonicalize_name(dep.name)
        assert name in pins, f"{release}.lock misses {dep}: run bash scripts/lock.sh"
        assert dep.specifier.contains(pins[name][0]), f"{release}.lock: {dep} vs {pins[name][0]}"
    install = INSTALL.read_text()
    assert '--require-hashes -r "$PREFIX/requirements/$release.lock"' in install


@pytest.mark.parametrize("script", ["scripts/lock.sh", "scripts/arm64_check.sh"])
def test_release_scripts_are_valid_bash(script: str) -> None:
    res = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
