"""Plain scripts as ``wasi:cli/command`` components: stdout is the output, the exit status
says success (0) or failure (anything else, or an uncaught exception).

The build command (``build.py --command``) generates an app module that calls
:func:`command` with the script's module name. The script is found and compiled then, at build
time (only the modules imported while building are in the component's snapshot), and runs as
``__main__`` once per delivery, exactly as ``python3 script.py`` would run it.
"""

import ast
import builtins
import importlib
import importlib.util
import sys
import traceback
from typing import Any

from componentize_py_types import Err
from wit_world import exports


def _exit_status(code: Any) -> int:
    """``SystemExit.code`` as ``sys.exit`` documents it: None is 0, an int is itself, anything
    else is printed to stderr and means 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _preimport(tree: ast.AST) -> None:
    """Imports, now, every module the script imports anywhere.

    componentize-py bundles only what is imported while it builds (the interpreter is
    snapshotted then; there is no file system with the standard library at run time), and a
    script's imports run per delivery, so they are resolved here. A module that cannot be
    imported at build time is left for the script to fail on, as it would under python3.
    """
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - e.g. `from json import dumps` is not a module
                pass


def command(module_name: str) -> type:
    """The ``wasi:cli/run`` export for the script ``module_name``."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None or spec.origin is None:
        raise ImportError(f"cannot find the script {module_name!r} to build")
    source = spec.loader.get_source(module_name)
    tree = ast.parse(source, spec.origin)
    _preimport(tree)
    code = compile(tree, spec.origin, "exec")

    class Run(exports.Run):
        def run(self) -> None:
            status = 0
            try:
                exec(code, {"__name__": "__main__", "__file__": spec.origin, "__builtins__": builtins})
            except SystemExit as e:
                status = _exit_status(e.code)
            except BaseException:  # noqa: BLE001 - the script's crash is its exit status
                traceback.print_exc()
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            if status != 0:
                raise Err(None)

    return Run
