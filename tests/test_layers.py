"""Imports point one way (DESIGN.md): core <- traders <- campaign <- rewards. A lower layer never imports a
higher one, not even inside a function."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "traders", "campaign", "rewards"]


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def upward_imports(layer: str) -> list[str]:
    higher = LAYERS[LAYERS.index(layer) + 1 :]
    return [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in higher
    ]


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_a_lower_layer_never_imports_a_higher_one(layer):
    assert upward_imports(layer) == []


def test_the_layer_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("def f():\n    from rewards.services.traffic import posts_feature\n")
    assert list(imported_modules(source)) == [(2, "rewards.services.traffic")]
