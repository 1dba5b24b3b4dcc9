"""docs/architecture.md is where a newcomer finds each rule of RULES.md and each door: every file
it names must exist, and every name it gives after a file must be defined in that file, so the
map cannot drift from the code unnoticed."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
TICKED = re.compile(r"`([^`]+)`")
PATH = re.compile(r"^[a-z_]+(/[A-Za-z_.]+)*/?$")
JOINER = re.compile(r"^(\s*|\s*,\s*|\s*/\s*|\s+and\s+)$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def defined_names(path: Path) -> set[str]:
    files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    names = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "UniqueConstraint":
                names.update(k.value.value for k in node.keywords if k.arg == "name" and isinstance(k.value, ast.Constant))
    return names


def references() -> list[tuple[str, str | None]]:
    """(path, name) for each name written right after a path (`path` `name`, `other` / `more`);
    (path, None) for every path. A name after other words belongs to something else."""
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        current, end = None, 0
        for match in TICKED.finditer(line):
            token, between = match.group(1), line[end : match.start()]
            end = match.end()
            if PATH.match(token) and ("/" in token or token.endswith(".py")):
                current = token
                found.append((token, None))
            elif current and current.endswith((".py", "/")) and NAME.match(token) and not token.endswith(".py") and JOINER.match(between):
                found.append((current, token))
            else:
                current = None
    return found


def test_the_architecture_map_names_files_that_exist():
    missing = sorted({path for path, _ in references() if not (ROOT / path).exists()})
    assert missing == []


def test_every_function_the_architecture_map_names_is_defined_where_it_says():
    refs = [(path, name) for path, name in references() if name and (ROOT / path).exists()]
    assert len(refs) > 100  # the rule table alone names more; a parser that finds none proves nothing
    wrong = sorted({f"{path}: {name}" for path, name in refs if name.split(".")[-1] not in defined_names(ROOT / path)})
    assert wrong == []


@pytest.mark.parametrize("section", ["1", "2", "3", "4", "5", "6", "7", "8", "9"])
def test_the_rule_table_has_a_row_for_every_section_of_the_rulebook(section):
    table = DOC.read_text(encoding="utf-8").split("## Where each rule lives")[1].split("\n## ")[0]
    assert re.search(rf"^\| {section} [A-Z]", table, re.M)
