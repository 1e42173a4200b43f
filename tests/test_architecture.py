"""The import contract (ARCHITECTURE.md): layers import only downward, private modules stay
private to their package, and no two modules import each other, directly or around a loop.

The graph is read from the source with :mod:`ast`, so an import inside a function counts as
much as one at the top of a file (only ``if TYPE_CHECKING:`` imports are left out: they never
run). ``python -m tests.test_architecture`` prints the structure's measures: lines, the
largest functions, the bootstrap implementations, function-level imports of the package's
own modules and the cycles.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package it installs as (pyproject's package-dir)
PACKAGES = {"metaeval": "metaeval", "rankers": "metaeval.rankers", "stats": "metaeval.stats"}

#: the layers of ARCHITECTURE.md; a module's layer is that of its longest listed prefix
LAYERS: dict[str, int] = {
    # 0 core: the types, errors, private helpers, the simulation and calibration harnesses, the engine
    # (`metaeval.tables` is a package: its schema, table, intermediates and conversions modules are all core)
    "metaeval.tables": 0, "metaeval.results": 0, "metaeval.errors": 0, "metaeval.simulate": 0,
    "metaeval.calibration": 0, "metaeval.engine": 0, "metaeval._random": 0, "metaeval._validate": 0,
    "metaeval._numeric": 0, "metaeval._format": 0, "metaeval._files": 0, "metaeval._progress": 0,
    "metaeval._version": 0, "metaeval.datasets": 0,
    # 1 numerics, 2 ranking
    "metaeval.stats": 1,
    "metaeval.rankers": 2,
    # 3 analyses: table in, result out
    "metaeval.io": 3, "metaeval.agreement": 3, "metaeval.bias": 3, "metaeval.juries": 3, "metaeval.probes": 3,
    "metaeval.validity": 3, "metaeval.battles": 3, "metaeval.active": 3,
    # 4 output
    "metaeval.report": 4, "metaeval.cli": 4, "metaeval.demo": 4, "metaeval._examples": 4,
}
#: The one chart module: every result's ``.chart()`` draws with it, from any layer. It must
#: itself import only the core.
CHARTS = "metaeval.report.charts"


@dataclass
class Graph:
    modules: dict[str, Path]
    top: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    inner: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    n_function_level: int = 0

    def edges(self) -> dict[str, set[str]]:
        return {m: self.top[m] | self.inner[m] for m in self.modules}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts[0] = PACKAGES[parts[0]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return [p for top in PACKAGES for p in sorted((ROOT / top).rglob("*.py"))]


def _targets(mod: str, node: ast.Import | ast.ImportFrom, is_package: bool, modules: dict[str, Path]) -> set[str]:
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = mod.split(".") if is_package else mod.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
    out = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != mod:
            out.add(name)
    return out


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> tuple[bool, bool]:
    """(inside a function, inside ``if TYPE_CHECKING:``)."""
    in_function = type_only = False
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function = True
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only = True
    return in_function, type_only


def import_graph() -> Graph:
    modules = {module_name(p): p for p in source_files()}
    g = Graph(modules)
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            targets = _targets(mod, node, path.name == "__init__.py", modules)
            in_function, type_only = _type_checking_only(node, parents)
            if type_only or not targets:
                continue
            if in_function:
                g.n_function_level += 1
                g.inner[mod] |= targets
            else:
                g.top[mod] |= targets
    return g


def layer(mod: str) -> int | None:
    best = None
    for prefix, k in LAYERS.items():
        if (mod == prefix or mod.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, k)
    return None if best is None else best[1]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


GRAPH = import_graph()


def test_the_graph_is_read():
    # the contract can only fail if the graph is really there: every package, and known edges in it
    assert len(GRAPH.modules) > 100
    assert "metaeval.rankers.bradley_terry" in GRAPH.edges()["metaeval.rankers.api"]
    assert "metaeval.stats.bayes" in GRAPH.edges()["metaeval.stats.comparison"]
    assert all(layer(m) is not None for m in GRAPH.modules if m != "metaeval"), \
        [m for m in GRAPH.modules if m != "metaeval" and layer(m) is None]


def test_no_import_cycles():
    assert cycles(GRAPH.edges()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers_import_only_downward():
    upward = []
    for mod, targets in GRAPH.edges().items():
        if mod == "metaeval":  # the front door re-exports (lazily) from every layer
            continue
        for t in targets:
            if t == CHARTS:
                continue
            if layer(t) > layer(mod):  # type: ignore[operator]
                upward.append(f"{mod} (layer {layer(mod)}) imports {t} (layer {layer(t)})")
    assert upward == []


def test_the_chart_module_imports_only_the_core():
    assert {layer(t) for t in GRAPH.edges()[CHARTS]} <= {0}


def test_private_modules_stay_in_their_package():
    leaks = []
    for mod, targets in GRAPH.edges().items():
        for t in targets:
            parts = t.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_"):
                    owner = ".".join(parts[:i])
                    if not (mod == owner or mod.startswith(owner + ".")):
                        leaks.append(f"{mod} imports {t}, private to {owner}")
                    break
    assert leaks == []


#: Imports of the package's own modules inside functions: only where one must be lazy (the CLI's
#: command bodies, which keep ``metaeval --help`` fast; the ranking layer behind
#: ``read_leaderboard(preset=)``). Each says why with a ``# lazy:`` comment; the number may fall,
#: never grow.
MAX_FUNCTION_LEVEL_IMPORTS = 18


def function_level_imports() -> list[tuple[str, int, str]]:
    """(file, line, the ``# lazy:`` reason or "") of every function-level import of our own modules;
    the reason is a ``# lazy:`` comment on the import's line or above its run of imports."""
    out = []
    for mod, path in GRAPH.modules.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            in_function, type_only = _type_checking_only(node, parents)
            if not in_function or type_only or not _targets(mod, node, path.name == "__init__.py", GRAPH.modules):
                continue
            i = node.lineno - 1
            while i > 0 and lines[i - 1].lstrip().startswith(("from ", "import ")):
                i -= 1
            said = [ln for ln in (lines[node.lineno - 1], lines[i - 1]) if "# lazy:" in ln]
            out.append((str(path.relative_to(ROOT)), node.lineno, said[0].split("# lazy:", 1)[1].strip() if said
                        else ""))
    return out


def test_function_level_imports_are_few_and_say_why():
    found = function_level_imports()
    assert len(found) == GRAPH.n_function_level
    assert [f"{f}:{line}" for f, line, why in found if not why] == []
    assert GRAPH.n_function_level <= MAX_FUNCTION_LEVEL_IMPORTS, (
        "a new import of our own code inside a function: put it at the top of the file, or, where it must be "
        "lazy (an optional heavy dependency), say why with `# lazy:` and raise MAX_FUNCTION_LEVEL_IMPORTS")


# ----------------------------------------------------------------------------- measures
_DRAWS = ("resample_counts(", "poisson_weights(", ".choice(", ".integers(", ".multinomial(", ".poisson(")


def measures() -> dict[str, object]:
    """Lines, the largest functions, bootstrap implementations (functions that draw their own
    resamples: a resample count and a draw from a generator in their signature or code, not in
    their docstring's example), function-level imports of the package's own modules, cycles."""
    files = source_files()
    functions = []
    bootstraps = []
    for p in files:
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = f"{p.relative_to(ROOT)}:{node.name}"
                size = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
                    getattr(node.body[0], "value", None), ast.Constant) else None
                if doc is not None:  # the docstring is not code
                    size -= doc.end_lineno - doc.lineno + 1  # type: ignore[operator]
                functions.append((size, where))
                # the signature and the code, not the docstring (whose example may draw data)
                text = ast.unparse(node.args) + "\n".join(ast.unparse(s) for s in node.body[doc is not None:])
                nested = any(isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef)) for c in ast.walk(node)
                             if c is not node)
                if not nested and ("n_resamples" in text or "n_boot" in text) and any(d in text for d in _DRAWS):
                    bootstraps.append(where)
    functions.sort(reverse=True)
    return {
        "lines": sum(len(p.read_text(encoding="utf-8").splitlines()) for p in files),
        "files": len(files),
        "largest functions (lines, docstring excluded)": functions[:5],
        "bootstrap implementations": sorted(bootstraps),
        "function-level imports of own modules": GRAPH.n_function_level,
        "cycles": cycles(GRAPH.edges()),
    }


if __name__ == "__main__":  # pragma: no cover
    for key, value in measures().items():
        if isinstance(value, list):
            print(f"{key}: {len(value)}")
            for v in value:
                print(f"  {v}")
        else:
            print(f"{key}: {value}")
    sys.exit(0)
