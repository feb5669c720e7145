#!/usr/bin/env python3
"""Builds a Python wasmhook block: one command around componentize-py (pinned in
``requirements.txt``) and the WIT in this repository's ``wit/``.

    python3 sdk/python/build.py my_block.py -o my_block.wasm            # typed @wasmhook.block
    python3 sdk/python/build.py --command script.py -o script.wasm      # plain script (stdout = output)

``componentize-py`` is taken from ``$COMPONENTIZE_PY``, else from beside this Python
interpreter (a venv's ``bin/``), else from ``PATH``. Install it with
``pip install -r sdk/python/requirements.txt``.

The block's own directory and ``--python-path`` directories (e.g. a venv's site-packages for
pure-Python dependencies) are bundled into the component.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent
WIT_DIR = SDK_DIR.parent.parent / "wit"
COMMAND_WORLD = "wasi:cli/command@0.2.12"
BLOCK_WORLD = "block-python"
APP_MODULE = "wasmhook_app"


def pinned_version() -> str:
    for line in (SDK_DIR / "requirements.txt").read_text().splitlines():
        if line.startswith("componentize-py=="):
            return line.split("==", 1)[1].strip()
    raise SystemExit("sdk/python/requirements.txt does not pin componentize-py")


def find_componentize_py() -> str:
    candidates = [os.environ.get("COMPONENTIZE_PY"), str(Path(sys.executable).parent / "componentize-py"),
                  shutil.which("componentize-py")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit(f"componentize-py not found: pip install componentize-py=={pinned_version()} "
                     "(or set COMPONENTIZE_PY)")


def app_module(module: str, command: bool) -> str:
    """The module componentize-py wraps: it imports the author's code and names the export."""
    if command:
        return ("from wasmhook.command import command\n"
                f"Run = command({module!r})\n")
    return (f"import {module}  # registers its @wasmhook.block function\n"
            "from wasmhook.entry import WitWorld\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the block's .py file")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .wasm file to write")
    parser.add_argument("--command", action="store_true",
                        help="build a plain wasi:cli/command script instead of a typed @wasmhook.block")
    parser.add_argument("-p", "--python-path", type=Path, action="append", default=[],
                        help="more directories to bundle (pure-Python dependencies)")
    parser.add_argument("--wit", type=Path, default=WIT_DIR, help="the WIT directory (default: the repo's wit/)")
    args = parser.parse_args()

    source = args.source.resolve()
    if source.suffix != ".py" or not source.is_file():
        raise SystemExit(f"{args.source} is not a .py file")
    module = source.stem
    if module in (APP_MODULE, "wasmhook", "wit_world"):
        raise SystemExit(f"rename {source.name}: {module!r} is a name the build uses")

    tool = find_componentize_py()
    with tempfile.TemporaryDirectory(prefix="wasmhook-build-") as work:
        Path(work, f"{APP_MODULE}.py").write_text(app_module(module, args.command))
        cmd = [tool, "-d", str(args.wit), "-w", COMMAND_WORLD if args.command else BLOCK_WORLD,
               "componentize", APP_MODULE, "-p", work, "-p", str(source.parent), "-p", str(SDK_DIR)]
        for extra in args.python_path:
            cmd += ["-p", str(extra)]
        cmd += ["-o", str(args.output.resolve())]
        # Run from the work dir: componentize-py also bundles its current directory.
        return subprocess.run(cmd, cwd=work).returncode


if __name__ == "__main__":
    sys.exit(main())
