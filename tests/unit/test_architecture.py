"""The design rules of docs/TEAM.md, checked on the syntax trees of every module of the package.

1. No code reaches into another object's private attributes: ``obj._name`` is allowed only on
   ``self`` / ``cls``, for dunder names, and for names the module itself defines (a class may
   use the private parts of another class of the same module). No module imports a private
   name from another module, nor a private module of another package (``_common`` and
   ``_base`` are private to their package).
2. The import graph of ``ashiguard.*`` has no cycles, counting imports at module level and
   inside functions and methods (not those under ``if TYPE_CHECKING:``), and respects the
   layers: domain < adapters < services < entrypoints, ``bootstrap`` (the composition root)
   imported only by entrypoints and bench, ``Settings`` from ``ashiguard.settings``.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ashiguard

PACKAGE = "ashiguard"
ROOT = Path(ashiguard.__file__).resolve().parent

# The only reads of another library's private parts, each with the reason it is tolerated.
ALLOWED_PRIVATE_IMPORTS = {
    # DepthStress calls scipy's pocketfft on preallocated arrays (about a third of the time of
    # a frame); guarded by ``except ImportError`` with a fallback through public scipy.fft.
    ("ashiguard.domain.mechanics", "scipy.fft._pocketfft"),
}

# Which layers a layer must not import (docs/TEAM.md, ../shared/ARCHITECTURE.md).
FORBIDDEN = {
    "domain": {"adapters", "services", "entrypoints", "bootstrap"},
    "adapters": {"services", "entrypoints", "bootstrap"},
    "services": {"entrypoints", "bootstrap"},
}
MAY_IMPORT_BOOTSTRAP = {"entrypoints", "bench"}


# --------------------------------------------------------------------------- the modules


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool

    @property
    def package(self) -> str:
        """The package relative imports are resolved against."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @property
    def where(self) -> str:
        return str(self.path.relative_to(ROOT.parent))


@cache
def modules() -> dict[str, Module]:
    out: dict[str, Module] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        out[name] = Module(name, path, is_package)
    return out


@cache
def tree(name: str) -> ast.Module:
    mod = modules()[name]
    return ast.parse(mod.path.read_text(encoding="utf-8"), str(mod.path))


def layer(name: str) -> str:
    """``domain``, ``adapters``, ``services``, ``entrypoints``, ``bootstrap``, ``bench``, ..."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


# --------------------------------------------------------------------------- private access


def defined_names(module: ast.Module) -> set[str]:
    """Every name the module itself defines: functions, classes, variables, attributes it
    assigns on ``self`` / ``cls``, dataclass fields and ``__slots__``."""
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            names.update(_strings(node.value))
        elif isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "__setattr__")
            or (isinstance(node.func, ast.Name) and node.func.id == "setattr")
        ):
            names.update(_strings(*node.args[:2]))  # object.__setattr__(self, "_x", ...)
    return names


def _strings(*nodes: ast.AST) -> set[str]:
    return {
        n.value
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _private_module_ok(importer: Module, target: str) -> bool:
    """A private module (``x._base``) may be imported from inside its own package only."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if is_private(part):
            owner = ".".join(parts[:i])
            if not target.startswith(f"{PACKAGE}.") or not (
                importer.name == owner or importer.name.startswith(f"{owner}.")
            ):
                return (importer.name, ".".join(parts[: i + 1])) in ALLOWED_PRIVATE_IMPORTS
    return True


def private_accesses(name: str) -> list[str]:
    """``file:line: what`` for each reach into another object's or module's private parts."""
    mod = modules()[name]
    module = tree(name)
    own = defined_names(module)
    found: list[str] = []
    for node in ast.walk(module):
        what = None
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = node.value
            on_self = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            if not on_self and node.attr not in own:
                what = ast.unparse(node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and is_private(node.args[1].value)
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))
            and node.args[1].value not in own
        ):
            what = ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            source = _resolve(mod, node)
            private = [
                a.name
                for a in node.names
                if is_private(a.name) and f"{source}.{a.name}" not in modules()
            ]
            submodules = [f"{source}.{a.name}" for a in node.names]
            if private:
                what = f"from {source} import {', '.join(private)}"
            elif not all(_private_module_ok(mod, m) for m in [source, *submodules]):
                what = f"from {source} import {', '.join(a.name for a in node.names)}"
        elif isinstance(node, ast.Import):
            bad = [a.name for a in node.names if not _private_module_ok(mod, a.name)]
            if bad:
                what = f"import {', '.join(bad)}"
        if what is not None:
            found.append(f"{mod.where}:{node.lineno}: {what}")
    return found


# --------------------------------------------------------------------------- import graph


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom | ast.Call]:
    """Every import statement at any depth (functions, methods, try blocks), skipping the
    bodies of ``if TYPE_CHECKING:``; and ``importlib.import_module("literal")`` calls."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                yield from _self_and_below(stmt)
            continue
        yield from _self_and_below(child)


def _self_and_below(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom | ast.Call]:
    if isinstance(node, ast.Import | ast.ImportFrom) or (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute | ast.Name)
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
        == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        yield node
    yield from runtime_imports(node)


def _known(target: str, mods: dict[str, Module]) -> str | None:
    """The ``ashiguard`` module that ``target`` names (its longest known prefix)."""
    while target:
        if target in mods:
            return target
        target = target.rpartition(".")[0]
    return None


def targets(
    mod: Module, node: ast.Import | ast.ImportFrom | ast.Call, mods: dict[str, Module]
) -> list[str]:
    """The modules an import depends on: ``from p import name`` goes to the submodule
    ``p.name`` when there is one, else to ``p`` (a package: its ``__init__``)."""
    if isinstance(node, ast.Call):
        raw = [node.args[0].value]  # type: ignore[attr-defined]
    elif isinstance(node, ast.Import):
        raw = [a.name for a in node.names]
    else:
        source = _resolve(mod, node)
        raw = [f"{source}.{a.name}" if f"{source}.{a.name}" in mods else source for a in node.names]
    return [t for r in raw if r.startswith(PACKAGE) and (t := _known(r, mods)) is not None]


def graph_of(mods: dict[str, Module], trees: dict[str, ast.Module]) -> dict[str, dict[str, int]]:
    """Module -> {imported module: line of the first import}."""
    graph: dict[str, dict[str, int]] = {}
    for name, mod in mods.items():
        edges: dict[str, int] = {}
        for node in runtime_imports(trees[name]):
            for target in targets(mod, node, mods):
                if target != name:
                    edges.setdefault(target, node.lineno)
        graph[name] = edges
    return graph


@cache
def import_graph() -> dict[str, dict[str, int]]:
    return graph_of(modules(), {name: tree(name) for name in modules()})


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: set[str] = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(graph, comp) for comp in components]


def _cycle_in(graph: dict[str, dict[str, int]], comp: set[str]) -> list[str]:
    """The shortest cycle from the first module of a component back to itself."""
    start = min(comp)
    paths = {start: [start]}
    queue = [start]
    for v in queue:
        for w in sorted(graph[v]):
            if w == start:
                return [*paths[v], start]
            if w in comp and w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    raise AssertionError("a strongly connected component without a cycle")  # pragma: no cover


def chain(graph: dict[str, dict[str, int]], path: list[str]) -> str:
    """``a (a.py:12) -> b (b.py:3) -> a``: each step with the line of its import."""
    steps = [f"{a} ({modules()[a].where}:{graph[a][b]})" for a, b in itertools.pairwise(path)]
    return " -> ".join([*steps, path[-1]])


# ------------------------------------------------------------------- the checker's own checks


def _graph_of(sources: dict[str, str]) -> dict[str, dict[str, int]]:
    """The import graph of a few made-up modules (names relative to ``ashiguard``)."""
    mods = {
        f"{PACKAGE}.{n}": Module(f"{PACKAGE}.{n}", ROOT / f"{n}.py", n.endswith("pkg"))
        for n in sources
    }
    return graph_of(mods, {f"{PACKAGE}.{n}": ast.parse(text) for n, text in sources.items()})


def test_the_graph_counts_imports_in_functions_but_not_type_checking_ones() -> None:
    graph = _graph_of(
        {
            "a": "def f():\n    from ashiguard import b\n",
            "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ashiguard.a\n",
            "c": "import importlib\nimportlib.import_module('ashiguard.a')\n",
        }
    )
    assert graph[f"{PACKAGE}.a"] == {f"{PACKAGE}.b": 2}
    assert graph[f"{PACKAGE}.b"] == {}
    assert graph[f"{PACKAGE}.c"] == {f"{PACKAGE}.a": 2}


def test_the_graph_resolves_relative_imports_submodules_and_packages() -> None:
    graph = _graph_of(
        {
            "pkg": "from .mod import x\n",
            "pkg.mod": "from . import other\nfrom .. import pkg\n",
            "pkg.other": "from ashiguard.pkg import x\n",
        }
    )
    assert set(graph[f"{PACKAGE}.pkg.mod"]) == {f"{PACKAGE}.pkg.other", f"{PACKAGE}.pkg"}
    assert set(graph[f"{PACKAGE}.pkg.other"]) == {f"{PACKAGE}.pkg"}
    (cycle,) = cycles(graph)
    assert cycle[0] == cycle[-1] and len(cycle) >= 3


def test_the_private_access_finder_tells_own_parts_from_others() -> None:
    module = ast.parse(
        "class A:\n    def __init__(self):\n        self._mine = 1\n"
        "def f(a, engine):\n    return a._mine + engine._zone_names + a.__class__\n"
    )
    own = defined_names(module)
    assert "_mine" in own and "_zone_names" not in own


# --------------------------------------------------------------------------- the rules


def test_no_code_reaches_into_another_objects_or_modules_private_parts() -> None:
    found = [hit for name in sorted(modules()) for hit in private_accesses(name)]
    assert not found, "private access across objects or modules:\n" + "\n".join(found)


def test_the_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    found = [chain(graph, c) for c in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_each_layer_imports_only_the_layers_below_it() -> None:
    graph = import_graph()
    found = [
        f"{modules()[m].where}:{line}: {m} imports {t}"
        for m, edges in sorted(graph.items())
        for t, line in sorted(edges.items())
        if layer(t) in FORBIDDEN.get(layer(m), ())
    ]
    assert not found, "layer violations:\n" + "\n".join(found)


def test_only_entrypoints_and_bench_import_the_composition_root() -> None:
    graph = import_graph()
    found = [
        f"{modules()[m].where}:{edges[f'{PACKAGE}.bootstrap']}: {m}"
        for m, edges in sorted(graph.items())
        if f"{PACKAGE}.bootstrap" in edges and layer(m) not in MAY_IMPORT_BOOTSTRAP
    ]
    assert not found, "imports of ashiguard.bootstrap:\n" + "\n".join(found)


def test_settings_are_imported_from_ashiguard_settings_not_the_composition_root() -> None:
    found = []
    for name, mod in sorted(modules().items()):
        for node in ast.walk(tree(name)):
            if (
                isinstance(node, ast.ImportFrom)
                and _resolve(mod, node) == f"{PACKAGE}.bootstrap"
                and any(a.name == "Settings" for a in node.names)
            ) or (
                isinstance(node, ast.Attribute)
                and node.attr == "Settings"
                and ast.unparse(node.value).endswith("bootstrap")
            ):
                found.append(f"{mod.where}:{node.lineno}")
    assert not found, "Settings taken from ashiguard.bootstrap:\n" + "\n".join(found)


def test_the_walk_sees_every_layer() -> None:
    layers = {layer(n) for n in modules()}
    assert {"domain", "adapters", "services", "entrypoints", "bootstrap", "bench"} <= layers
    assert f"{PACKAGE}.domain.alarms.engine" in modules()
