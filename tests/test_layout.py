"""The package's layout: imports flow one way, no module shadows a builtin, one table binds Tensor's methods."""
import ast
import builtins
import pathlib

import retrograd

PACKAGE = pathlib.Path(retrograd.__file__).parent
MODULES = {(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)).removesuffix(".__init__"): p
           for p in PACKAGE.rglob("*.py")}


def _imported_modules(name, path):
    """The retrograd modules that `name` imports anywhere in its file (function-level imports included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != name:
                found.add(target)
                break
    return found


def test_no_import_cycle_inside_the_package():
    graph = {name: _imported_modules(name, path) for name, path in MODULES.items()}
    visiting, done = set(), set()

    def visit(name, trail):
        if name in done:
            return
        assert name not in visiting, "import cycle: " + " -> ".join(trail[trail.index(name):] + [name])
        visiting.add(name)
        for dependency in sorted(graph[name]):
            visit(dependency, trail + [name])
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_layers_import_downwards():
    for low, high in [("retrograd.dtypes", "retrograd.tensor"), ("retrograd.tensor", "retrograd.autograd"),
                      ("retrograd.tensor", "retrograd.ops"), ("retrograd.autograd", "retrograd.ops"),
                      ("retrograd.ops", "retrograd.nn")]:
        for name, path in MODULES.items():
            if name == low or name.startswith(low + "."):
                upward = [m for m in _imported_modules(name, path) if m == high or m.startswith(high + ".")]
                assert not upward, f"{name} (below {high}) imports {upward}"


def test_no_module_but_the_package_namespace_assigns_or_imports_over_a_builtin():
    """(Op functions named like builtins, ops.reduce.sum or ops.elementwise.abs, are PyTorch's op names.)"""
    for name, path in MODULES.items():
        if name == "retrograd":  # PyTorch's namespace: retrograd.float, retrograd.sum, ... on purpose
            continue
        for node in ast.parse(path.read_text()).body:
            targets = [t for n in ast.walk(node) if isinstance(n, ast.Assign) for t in n.targets] \
                if isinstance(node, ast.Assign) else []
            bound = {t.id for t in targets if isinstance(t, ast.Name)}
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound |= {alias.asname or alias.name for alias in node.names}
            shadowed = bound & set(dir(builtins))
            assert not shadowed, f"{name} rebinds the builtin(s) {sorted(shadowed)} at module level"


def test_only_the_method_table_attaches_methods_to_tensor():
    binders = [name for name, path in MODULES.items()
               if "setattr(Tensor" in path.read_text() or "Tensor.__" in path.read_text().replace("Tensor.__init__", "")]
    assert binders == ["retrograd.ops.methods"]
