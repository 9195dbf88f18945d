"""The package's import graph follows docs/architecture.md: no cycles, and no core module imports a door.

Every `import` statement counts, wherever it stands (module level, inside a function, under
`if TYPE_CHECKING:`): a cycle hidden in a function or a type hint is still two modules that
cannot be understood, tested or moved apart. The checker is run on the real package and on a
small package made here with a cycle and a layer breach put in on purpose, so the test is
shown to fail when the rule is broken.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "src" / "cre_advisor"

# Doors and entry points: what receives input from outside and shows the answer.
DOORS = ("cre_advisor.web", "cre_advisor.cds", "cre_advisor.fhir", "cre_advisor.ask", "cre_advisor.audit",
         "cre_advisor.commands", "cre_advisor.cli")
# The core: input and output models, the engine and what it calls, the knowledge base.
CORE = ("cre_advisor.case", "cre_advisor.recommendation", "cre_advisor.engine", "cre_advisor.patient",
        "cre_advisor.dosing", "cre_advisor.microbiology", "cre_advisor.risk", "cre_advisor.knowledge",
        "cre_advisor.render")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports (resolved to modules that exist in the tree)."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    package = root.name
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target.split(".")[0] == package and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_breaches(graph: dict[str, set[str]], package: str = "cre_advisor") -> list[str]:
    """'core -> door' edges: a core module that imports a door."""
    core = tuple(p.replace("cre_advisor", package, 1) for p in CORE)
    doors = tuple(p.replace("cre_advisor", package, 1) for p in DOORS)
    return sorted(f"{src} -> {dst}" for src, targets in graph.items() if _within(src, core)
                  for dst in targets if _within(dst, doors))


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(import_graph(PACKAGE_ROOT)) == []


def test_no_core_module_imports_a_door() -> None:
    assert layer_breaches(import_graph(PACKAGE_ROOT)) == []


@pytest.fixture
def broken_package(tmp_path: Path) -> Path:
    """A package shaped like ours with a cycle (case <-> microbiology) and an engine that imports the web door."""
    root = tmp_path / "cre_advisor"
    (root / "web").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "case.py": "from cre_advisor.microbiology import parse_mic\n",
        "microbiology.py": "def parse_mic(x):\n    from cre_advisor import case\n    return case\n",
        "engine.py": "from cre_advisor.case import Case\nfrom .web.pages import show\n",
        "web/__init__.py": "",
        "web/pages.py": "from ..engine import recommend\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_the_checker_finds_a_cycle_put_in_on_purpose(broken_package: Path) -> None:
    found = cycles(import_graph(broken_package))
    assert ["cre_advisor.case", "cre_advisor.microbiology"] in found
    assert ["cre_advisor.engine", "cre_advisor.web.pages"] in found


def test_the_checker_finds_a_core_module_importing_a_door(broken_package: Path) -> None:
    assert layer_breaches(import_graph(broken_package)) == ["cre_advisor.engine -> cre_advisor.web.pages"]
