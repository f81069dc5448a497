"""The house rules that no single module's tests would notice.

- No module-level mutable state in ``server/`` or ``tools/``: no ``global`` statement, and no
  module-level name bound to a mutable container (a list, dict or set literal or comprehension,
  or ``dict()``/``list()``/``set()``/...): constant tables are tuples, frozensets or read-only
  ``MappingProxyType`` views, and configuration is passed in (``Settings``), never kept here.
- No function or method in ``server/`` or ``tools/`` longer than ``MAX_FUNCTION_LINES`` lines
  (decorators and docstring included): a longer one is several ideas that want names.
- Import directions are checked by ``lint-imports`` (``scripts/lint``, contracts in
  ``pyproject.toml``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MUTABLE_CALLS = frozenset(
    {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray"}
)
MAX_FUNCTION_LINES = 120
MUTABLE_NODES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
MODULES = sorted(
    p.relative_to(REPO).as_posix()
    for room in ("server", "tools")
    for p in (REPO / room).rglob("*.py")
)


def module_state(source: str) -> list[str]:
    """``global`` statements and module-level names bound to mutable containers."""
    tree = ast.parse(source)
    found = [
        f"line {node.lineno}: global {', '.join(node.names)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        names = [ast.unparse(t) for t in targets]
        mutable = isinstance(value, MUTABLE_NODES) or (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in MUTABLE_CALLS
        )
        if mutable and names != ["__all__"]:
            found.append(f"line {node.lineno}: {', '.join(names)} is a mutable container")
    return found


def test_the_scan_finds_module_state() -> None:
    source = "X = {}\nY: list[int] = []\nZ = (1,)\n__all__ = ['a']\ndef f():\n    global X\n"
    assert module_state(source) == [
        "line 6: global X",
        "line 1: X is a mutable container",
        "line 2: Y is a mutable container",
    ]


@pytest.mark.parametrize("module", MODULES)
def test_no_module_level_mutable_state(module: str) -> None:
    assert module_state((REPO / module).read_text(encoding="utf-8")) == [], module


#: What the registry may import of ``tools``: the seams every tool shares, never a tool.
REGISTRY_MAY_IMPORT = frozenset({"tools.context", "tools.errors", "tools.patterns"})


def _tools_imports(path: Path) -> set[str]:
    """The ``tools.*`` modules a file imports when it runs, at any depth of its code (lazy
    imports too; not those under ``if TYPE_CHECKING:``, which never run)."""
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        todo.extend(ast.iter_child_nodes(node))
    return {name for name in found if name == "tools" or name.startswith("tools.")}


def test_the_registry_imports_no_tool() -> None:
    """``tools/registry.py`` and what it imports of ``tools`` stay below every tool (DESIGN.md:
    a tool's registry imports no tool), so no tool module can close an import circle through it."""
    seen: set[str] = set()
    todo = ["tools.registry"]
    while todo:
        module = todo.pop()
        base = REPO / module.replace(".", "/")
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        for name in _tools_imports(path) - seen:
            seen.add(name)
            todo.append(name)
    assert seen <= REGISTRY_MAY_IMPORT, sorted(seen - REGISTRY_MAY_IMPORT)


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name (N lines)`` of every function or method in ``source`` longer than ``limit``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > limit:
                found.append(f"{node.name} ({lines} lines)")
    return found


def test_the_length_check_finds_long_functions() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]
    assert long_functions(f"def f():\n{body}\n", limit=MAX_FUNCTION_LINES + 1) == []


@pytest.mark.parametrize("module", MODULES)
def test_no_function_over_the_line_limit(module: str) -> None:
    assert long_functions((REPO / module).read_text(encoding="utf-8")) == []
