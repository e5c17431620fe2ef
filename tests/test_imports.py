"""No import circles: no module of the package imports, directly or through others, a module that imports it.

The graph is read from the source with ``ast``, so imports inside functions count too: a circle closed
only at call time still ties the modules together and hides which one is below the other.
"""

import ast
from pathlib import Path


PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "dreamvideo"


def module_names(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    """Every module of the package and its subpackages: dotted name -> file."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _package_of(name: str, path: Path) -> str:
    """The package a module's relative imports start from."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _resolve_from(node: ast.ImportFrom, name: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(name, path).split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """module -> the package's modules it imports (anywhere in its text), resolved to the module meant.

    ``from a import b`` points at ``a.b`` when that is a module, else at ``a``; ``import a.b`` points at
    ``a.b``. A parent package that Python runs on the way is not counted: a package's ``__init__`` that
    imports its own submodules would otherwise close a circle with each of them.
    """
    modules = module_names(root)
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve_from(node, name, path)
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.append(submodule if submodule in modules else source)
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def tangled_groups(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (or of one that imports itself), sorted.

    Every module of a group reaches every other through imports (Tarjan's algorithm).
    """
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per tangled group, as a path ``[a, b, ..., a]``: the shortest through its first module."""
    cycles = []
    for group in tangled_groups(graph):
        start, members = group[0], set(group)
        came_from, frontier = {}, [start]
        while start not in came_from:
            following = []
            for node in frontier:
                for nxt in sorted(graph[node] & members):
                    if nxt not in came_from:
                        came_from[nxt] = node
                        following.append(nxt)
            frontier = following
        path, node = [start], came_from[start]
        while node != start:
            path.append(node)
            node = came_from[node]
        path.append(start)
        cycles.append(path[::-1])
    return cycles


def test_cycle_finder_names_each_circle_on_a_hand_made_graph():
    graph = {
        "a": {"b"}, "b": {"c"}, "c": {"a", "d"},  # a -> b -> c -> a
        "d": {"e"}, "e": set(),  # below the circle
        "x": {"y"}, "y": {"x"},  # a second, separate circle
        "s": {"s"},  # a module importing itself
        "top": {"a", "x"},  # imports into circles without being in one
    }
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["s", "s"], ["x", "y", "x"]]
    assert tangled_groups(graph) == [["a", "b", "c"], ["s"], ["x", "y"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_import_graph_resolves_relative_and_submodule_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .top import thing\n__version__ = '1'\n")
    (package / "top.py").write_text("def f():\n    from .sub import leaf\n    from . import sub\n")
    (package / "other.py").write_text("import pkg.sub.leaf\nfrom pkg import __version__\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "leaf.py").write_text("from .. import other\nfrom ..top import f\n")
    assert import_graph(package) == {
        "pkg": {"pkg.top"},
        "pkg.top": {"pkg.sub.leaf", "pkg.sub"},
        "pkg.other": {"pkg.sub.leaf", "pkg"},
        "pkg.sub": set(),
        "pkg.sub.leaf": {"pkg.other", "pkg.top"},
    }
    assert find_cycles(import_graph(package)) == [["pkg", "pkg.top", "pkg.sub.leaf", "pkg.other", "pkg"]]


def test_the_package_has_no_import_circles():
    graph = import_graph()
    found = [f"{' -> '.join(cycle)} (tied together: {', '.join(group)})"
             for cycle, group in zip(find_cycles(graph), tangled_groups(graph))]
    assert not found, "import circles: " + "; ".join(found)
