"""The project's modules import each other without loops at module level (processing.registry is the
one description of a stage; nothing imports back up the chain)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "uploads", "processing")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """Project modules imported by the module's top-level statements (not inside functions)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def test_no_module_level_import_loops() -> None:
    modules = {
        _module(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph = {name: {m for m in _imports(path, name) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, int] = {}
    loops: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                loops.append([*trail[trail.index(target) :], target] if target in trail else [name, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert loops == [], loops


def test_the_transcription_engines_read_no_settings() -> None:
    """They get a TranscriptionOptions built once (configuration.options_from_settings), as HLS gets HlsOptions."""
    for path in (ROOT / "processing" / "transcription").glob("*.py"):
        if path.name == "configuration.py":
            continue
        assert "django.conf" not in _imports_any(path), path.name


def _imports_any(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_analysis_backends_read_no_settings() -> None:
    """They get an AnalysisOptions built once (analysis.configuration.options_from_settings)."""
    for path in (ROOT / "processing" / "analysis").glob("*.py"):
        if path.name == "configuration.py":
            continue
        assert "django.conf" not in _imports_any(path), path.name


def test_uploads_imports_nothing_of_processing_at_module_level() -> None:
    """processing builds on uploads, never the other way at import time: uploads/pipeline.py is the
    one door, and it imports when called."""
    for path in (ROOT / "uploads").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        imported = _imports(path, _module(path))
        assert not [name for name in imported if name.startswith("processing")], path.name


# Where importing inside a function is the point of the module (its docstring says why).
LAZY_BY_DESIGN = {"uploads/pipeline.py"}


def test_every_import_inside_a_function_says_why() -> None:
    unexplained = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = str(path.relative_to(ROOT))
            if "migrations" in path.parts or relative in LAZY_BY_DESIGN:
                continue
            lines = path.read_text().splitlines()
            for function in ast.walk(ast.parse(path.read_text())):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        nearby = lines[max(node.lineno - 3, 0) : node.end_lineno]
                        if not any("#" in line for line in nearby):
                            unexplained.append(f"{relative}:{node.lineno}")
    assert unexplained == [], unexplained
