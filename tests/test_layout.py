"""The architecture's rules, read from the code: who imports whom, and one home per concept."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dermocap", "device", "capture", "inference", "sync", "sim", "dashboard")
# package -> first-party packages it must never import
FORBIDDEN = {
    "dermocap": {"device", "capture", "inference", "sync", "sim", "dashboard"},
    "capture": {"device", "sim", "dashboard"},
    "inference": {"device", "sim", "dashboard", "capture", "sync"},
    "sync": {"device", "sim", "dashboard", "capture", "inference"},
    "sim": {"device", "dashboard"},
    "dashboard": {"device", "sim", "capture", "inference"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_what_the_layers_allow(package: str) -> None:
    bad = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & FORBIDDEN[package])
        for p in (ROOT / package).rglob("*.py")
        # the dashboard's command line hangs off the `dermocap` CLI and its config tree
        if p != ROOT / "dashboard" / "cli.py"
    }
    assert {k: v for k, v in bad.items() if v} == {}


def _sources(*folders: str) -> list[Path]:
    return [p for f in folders for p in (ROOT / f).rglob("*.py")]


def test_only_the_rig_wiring_knows_the_twin() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources(*PACKAGES, "scripts")
        if p != ROOT / "device" / "rig.py" and "rig.twin" in p.read_text()
    ]
    assert offenders == []
    device_imports_sim = [
        str(p.relative_to(ROOT))
        for p in _sources("device")
        # the rig's wiring, the demo (the twin's hand), the config tree (sim's section)
        if "sim" in _imports(p) and p.name not in ("rig.py", "demo.py", "cli.py", "config.py")
    ]
    assert device_imports_sim == []


def test_scripts_and_tests_import_packages_without_path_tricks() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _sources("scripts", "tests")
        if p.name != "test_layout.py"
        and ("sys.path" in p.read_text() or "spec_from_file_location" in p.read_text())
    ]
    assert offenders == []


def test_one_definition_each_of_image_decoding_the_site_rule_and_the_metric_names() -> None:
    package_code = _sources(*PACKAGES)
    opens = [str(p.relative_to(ROOT)) for p in package_code if "Image.open(" in p.read_text()]
    # the independent test generators share no code with the package on purpose (their JPEG)
    assert sorted(opens) == [
        "dermocap/images.py",
        "sim/blind/camera.py",
        "sim/blind10/frame.py",
        "sim/blind11/isp.py",
        "sim/blind12/camera.py",
        "sim/blind13/sensor.py",
        "sim/blind18/camera.py",
        "sim/blind2/camera.py",
        "sim/blind3/camera.py",
        "sim/blind4/optics.py",
        "sim/blind6/camera.py",
        "sim/blind8/camera.py",
        "sim/blind9/camera.py",
        "sim/heldout/generate.py",
    ]
    rules = [
        str(p.relative_to(ROOT))
        for p in package_code
        if "class SiteKey(" in p.read_text() or "class SiteKey:" in p.read_text()
    ]
    assert rules == ["dermocap/sitekey.py"]
    # a class that declares the metric fields (as typed attributes) defines the names
    declared = [
        str(p.relative_to(ROOT))
        for p in package_code
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(a, ast.AnnAssign)
            and isinstance(a.target, ast.Name)
            and a.target.id == "cumulative_thickness_mm_per_cm2"
            for a in node.body
        )
    ]
    assert declared == ["dermocap/metrics.py"]
