"""Checks shared by the tests of the independent test generators."""

from __future__ import annotations

import ast
from pathlib import Path


def foreign_imports(package_dir: Path, own: str) -> list[str]:
    """Imports in ``package_dir``'s modules of any ``sim`` module but ``own`` (and its
    submodules), of ``dermocap`` or ``inference``, and relative imports: what would let a
    generator share drawing code with the twin or another generator."""
    files = sorted(package_dir.glob("*.py"))
    if not files:
        return [f"no modules in {package_dir}"]
    out = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    out.append(f"{path.name}: relative import")
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                mine = name == own or name.startswith(own + ".")
                if top in ("dermocap", "inference") or (top == "sim" and not mine):
                    out.append(f"{path.name} imports {name}")
    return out
