"""The import graph of the project's own modules (issue 10): built from the source with ``ast``, every
``import`` counted (module level and inside functions alike, so a local import cannot hide a cycle).

- no two modules import each other, directly or through others;
- no two apps do either (an app is a top-level package: ``accounts``, ``packages_app``, ...), with
  ``registry_site`` (settings, URLs, entry points) on top of all of them;
- the registry protocol (``v2api``) imports no page module, and only ``registry_site`` imports ``v2api``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = sorted(
    p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name not in {"tests", "bench", "docs"}
)
PAGE_MODULES = {
    "packages_app.views",
    "packages_app.management_views",
    "packages_app.settings_views",
    "packages_app.settings_page",
    "packages_app.tag_rule_views",
    "packages_app.pages",
    "accounts.views",
    "tokens_app.views",
    "tokens_app.automation_views",
    "repositories.views",
    "packages_app.namespace_views",
    "webhooks.views",
    "ui",
}


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)


def _own(name: str) -> str | None:
    """The project module ``name`` is (or is inside), if any."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in filter(None, map(_own, _imported(name, node))):
                    if target != name and not name.startswith(f"{target}."):  # a package's own __init__
                        graph[name].add(target)
    return graph


GRAPH = _graph()


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _is_page(module: str) -> bool:
    return any(module == page or module.startswith(f"{page}.") for page in PAGE_MODULES)


def _app(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_is_read_from_the_project() -> None:
    assert {"packages_app", "v2api", "accounts", "registry_site"} <= set(APPS)
    assert "packages_app.services.packages" in GRAPH["packages_app.uploads"]  # a relative import
    assert "accounts.models" in GRAPH["packages_app.access"]  # a function-local import counts too


def test_no_module_imports_itself_through_others() -> None:
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH) or [])


def _app_graph() -> dict[str, set[str]]:
    apps: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        apps.setdefault(_app(module), set()).update(_app(t) for t in targets if _app(t) != _app(module))
    return apps


def _tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of apps that import each other (strongly connected, more than one app)."""
    reach = {a: _reachable(graph, a) for a in graph}
    groups = {frozenset(b for b in graph if b in reach[a] and a in reach[b]) | {a} for a in graph}
    return sorted((set(g) for g in groups if len(g) > 1), key=sorted)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_app_imports_itself_through_others() -> None:
    """The apps form layers: errors and ui at the bottom, then accounts (with the shared role names),
    repositories, packages_app, tokens_app, and the surfaces (v2api, api, federation) on top."""
    assert _tangles(_app_graph()) == []


def test_the_layers_hold() -> None:
    graph = _app_graph()
    assert "packages_app" not in _reachable(graph, "repositories")
    assert "tokens_app" not in _reachable(graph, "packages_app")
    assert "repositories" in graph["packages_app"]  # a package inherits its repository's access


def test_nothing_but_the_site_imports_the_site() -> None:
    assert not any("registry_site" in targets for app, targets in _app_graph().items() if app != "registry_site")


def test_the_tangle_finder_finds_a_loop() -> None:
    assert _tangles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _tangles({"a": {"b"}, "b": set()}) == []


def test_the_registry_protocol_imports_no_page_module() -> None:
    protocol = {m: t for m, t in GRAPH.items() if _app(m) == "v2api"}
    pages = {
        (m, t) for m, ts in protocol.items() for t in ts if any(t == p or t.startswith(f"{p}.") for p in PAGE_MODULES)
    }
    assert not pages, sorted(pages)


@pytest.mark.parametrize("app", [a for a in APPS if a not in {"v2api", "registry_site"}])
def test_only_the_site_imports_the_registry_protocol(app: str) -> None:
    reaching = sorted(m for m, ts in GRAPH.items() if _app(m) == app and any(_app(t) == "v2api" for t in ts))
    assert not reaching, reaching


# --- sizes (issue 10): a module a newcomer can read, a function that fits on a screen -------------

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40


def test_no_app_module_is_over_400_lines() -> None:
    long = {name: n for name, path in MODULES.items() if (n := path.read_text().count("\n")) > MAX_MODULE_LINES}
    assert not long, long


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    yield from (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))


def test_no_function_is_over_40_lines() -> None:
    long = {
        f"{name}:{node.lineno} {node.name}": length
        for name, path in MODULES.items()
        for node in _functions(ast.parse(path.read_text()))
        if (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    }
    assert not long, long


def test_the_size_checks_see_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (node,) = _functions(ast.parse(f"def f():\n{body}\n"))
    assert (node.end_lineno or 0) - node.lineno + 1 == MAX_FUNCTION_LINES + 1
