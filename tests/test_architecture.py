"""The import rule the tree is built on: pipeline/ -> stages -> shared subpackages, one way.
Nothing under transforms/ imports pipeline/; a stage imports the shared subpackages (core,
storage, resources) and its own modules, never another stage; shared code imports no stage."""

from __future__ import annotations

import ast
from pathlib import Path

TRANSFORMS = Path(__file__).resolve().parent.parent / "transforms"
SHARED = ("core", "storage", "resources")
# What each shared subpackage may import besides itself: core nothing, the others core.
SHARED_MAY_IMPORT = {"core": (), "storage": ("core",), "resources": ("core",)}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def part_of(path: Path) -> str:
    """The stage or shared subpackage a module of transforms/ belongs to."""
    relative = path.relative_to(TRANSFORMS)
    return relative.parts[0].removesuffix(".py")


def package_parts(module: str) -> str | None:
    """transforms.<part>... -> part (None for modules outside transforms)."""
    names = module.split(".")
    return names[1] if names[0] == "transforms" and len(names) > 1 else None


def modules() -> list[Path]:
    return [p for p in TRANSFORMS.rglob("*.py") if p.name != "__init__.py" or
            p.parent != TRANSFORMS]


def test_every_module_of_transforms_is_a_stage_or_shared() -> None:
    assert len(modules()) > 20
    for path in modules():
        assert part_of(path) not in ("", "__init__"), path


def test_nothing_under_transforms_imports_pipeline() -> None:
    for path in modules():
        assert not any(m == "pipeline" or m.startswith("pipeline.")
                       for m in imported_modules(path)), path


def test_stages_import_only_shared_code_and_themselves() -> None:
    stages = set()
    for path in modules():
        own = part_of(path)
        if own in SHARED:
            continue
        stages.add(own)
        for module in imported_modules(path):
            other = package_parts(module)
            assert other in (None, own, *SHARED), f"{path} imports {module}: another stage"
    assert len(stages) >= 10


def test_shared_code_imports_no_stage() -> None:
    for path in modules():
        own = part_of(path)
        if own not in SHARED:
            continue
        for module in imported_modules(path):
            other = package_parts(module)
            assert other in (None, own, *SHARED_MAY_IMPORT[own]), f"{path} imports {module}"
