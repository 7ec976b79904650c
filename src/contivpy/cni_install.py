"""The CNI plugin's files on a node, where the kubelet execs them (``contivpy install-cni``).

In: the node's CNI bin directory, the interpreter that node runs Python programs with, the
compiled plugin (a file already built, as the image has it; one built here with the C
compiler; or none), and optionally a conflist and the network configuration directory.
Out, each file written beside its target and renamed over it, so the kubelet never execs or
reads half of one:

- ``<bin>/contivpy.pyz``: the Python plugin (``contivpy cni``) as a zip application of the
  modules it runs (``contivpy.cni``, standard library only: it needs nothing on the node but
  a Python 3.10 or newer), each compiled beside its source;
- ``<bin>/contivpy``: the compiled plugin (``contivpy/cni/native/contivpy_cni.c``), which
  makes a well-formed ADD, DEL or CHECK itself and hands everything else to ``contivpy.pyz``
  beside it; with no compiled plugin, the zip application itself (and no ``contivpy.pyz``);
- ``<net>/10-contivpy.conflist``, a copy of the conflist given.

Why a compiled plugin: the kubelet execs the plugin once per pod, and a Python plugin spends
about 10 ms of CPU starting an interpreter before it sends anything; pods started together
on a small node queue behind each other for that (docs/PERFORMANCE.md, ``cni_exec_*``).

``build_compiled`` compiles the program (statically linked where the C library allows: the
kubelet runs it on the host, outside the image that built it); the image's build stage runs
``python -m contivpy.cni_install build OUTPUT`` (deploy/Dockerfile).
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipapp
from collections.abc import Callable, Sequence
from pathlib import Path

from contivpy.errors import ContivpyError

PACKAGE = Path(__file__).resolve().parent
SOURCE = PACKAGE / "cni" / "native" / "contivpy_cni.c"
PLUGIN = "contivpy"
PYTHON_PLUGIN = PLUGIN + ".pyz"  # the compiled plugin execs "<its own path>.pyz"
CONFLIST = "10-contivpy.conflist"
#: what the host's kubelet finds: the node's python3, not this image's
HOST_INTERPRETER = "/usr/bin/env python3"
# Warnings do not fail an install (another compiler may find new ones);
# tests/cni/test_native_plugin.py compiles with -Werror.
COMPILE_FLAGS = ("-std=gnu11", "-O2", "-Wall", "-Wextra")
# Not zipapp's `main=`: the code it generates drops main()'s return value, the exit code.
_MAIN = "import sys\n\nfrom contivpy.cni.plugin import main\n\nsys.exit(main())\n"


class InstallError(ContivpyError):
    """The plugin could not be built or installed; the message says which file and why."""


def compiler() -> str | None:
    """The C compiler: $CC, else cc or gcc on the PATH; None when there is none."""
    named = os.environ.get("CC")
    if named:
        return shutil.which(named)
    return shutil.which("cc") or shutil.which("gcc")


def build_compiled(output: Path, cc: str | None = None) -> Path:
    """Compile the plugin into ``output``: statically linked, else (no static C library)
    dynamically. InstallError when there is no compiler or it fails."""
    cc = cc or compiler()
    if cc is None:
        raise InstallError(f"no C compiler to build {output} (set CC, or install gcc)")
    output.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for linking in (["-static"], []):
        command = [cc, *COMPILE_FLAGS, *linking, "-o", str(output), str(SOURCE), "-lm"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return output
        errors.append(done.stderr.strip())
    raise InstallError(f"{cc} could not build {output} from {SOURCE}: {errors[-1]}")


def write_python_plugin(output: Path, interpreter: str) -> None:
    """The Python plugin as a zip application run by ``interpreter`` (its ``#!`` line)."""
    with tempfile.TemporaryDirectory() as directory:
        stage = Path(directory)
        (stage / "contivpy" / "cni").mkdir(parents=True)
        for name in ("__init__.py", "errors.py"):
            shutil.copyfile(PACKAGE / name, stage / "contivpy" / name)
        for module in sorted((PACKAGE / "cni").glob("*.py")):
            shutil.copyfile(module, stage / "contivpy" / "cni" / module.name)
        (stage / "__main__.py").write_text(_MAIN)
        # Compiled beside each source (legacy: where zipimport looks; it cannot write a cache
        # itself), so that no exec compiles the plugin again (~15 ms of a ~30 ms start);
        # unchecked-hash: not compared with the sources' times, which the archive keeps in
        # local time. A host Python of another version ignores them and compiles the sources.
        compileall.compile_dir(
            stage,
            quiet=1,
            legacy=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        _replace(output, lambda new: zipapp.create_archive(stage, new, interpreter=interpreter))


def install(
    bin_dir: Path,
    *,
    interpreter: str = HOST_INTERPRETER,
    compiled: Path | None = None,
    conflist: Path | None = None,
    net_dir: Path | None = None,
) -> list[Path]:
    """Install the plugin (and the conflist); the files written, in order."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    written = []
    plugin = bin_dir / PLUGIN
    if compiled is None:
        write_python_plugin(plugin, interpreter)
        (bin_dir / PYTHON_PLUGIN).unlink(missing_ok=True)  # a compiled one's, from before
        written.append(plugin)
    else:
        if not compiled.is_file():
            raise InstallError(f"the compiled plugin {compiled} does not exist")
        # The Python form first: the compiled one hands over to it from its first exec.
        write_python_plugin(bin_dir / PYTHON_PLUGIN, interpreter)
        _replace(plugin, lambda new: shutil.copyfile(compiled, new))
        written += [bin_dir / PYTHON_PLUGIN, plugin]
    if conflist is not None:
        if net_dir is None:
            raise InstallError("a conflist needs the network configuration directory")
        net_dir.mkdir(parents=True, exist_ok=True)
        _replace(net_dir / CONFLIST, lambda new: shutil.copyfile(conflist, new), 0o644)
        written.append(net_dir / CONFLIST)
    return written


def _replace(target: Path, write: Callable[[Path], object], mode: int = 0o755) -> None:
    """Write ``target`` through ``write(new_path)`` beside it, then rename it over it."""
    new = target.with_name(f".{target.name}.new")
    write(new)
    new.chmod(mode)
    os.replace(new, target)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``contivpy install-cni``'s options."""
    parser.add_argument("--bin-dir", type=Path, required=True, help="the kubelet's CNI bin dir")
    parser.add_argument("--net-dir", type=Path, help="the network configuration directory")
    parser.add_argument("--conflist", type=Path, help=f"installed as <net-dir>/{CONFLIST}")
    parser.add_argument(
        "--interpreter",
        default=HOST_INTERPRETER,
        help=f"the #! line of the Python plugin (default: {HOST_INTERPRETER!r})",
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--compiled", type=Path, help="the compiled plugin, already built")
    form.add_argument(
        "--python-only", action="store_true", help="no compiled plugin, even with a C compiler"
    )


def install_building(
    bin_dir: Path,
    *,
    interpreter: str = HOST_INTERPRETER,
    conflist: Path | None = None,
    net_dir: Path | None = None,
) -> tuple[list[Path], bool]:
    """``install`` with the compiled plugin built here when a C compiler is found, else the
    Python plugin alone; the files written, and whether the compiled plugin is among them."""
    with tempfile.TemporaryDirectory() as directory:
        compiled = build_compiled(Path(directory) / PLUGIN) if compiler() is not None else None
        written = install(
            bin_dir, interpreter=interpreter, compiled=compiled, conflist=conflist, net_dir=net_dir
        )
    return written, compiled is not None


def run(args: argparse.Namespace) -> int:
    """Install as ``args`` say: the compiled plugin given, else built here when a C compiler
    is found, else the Python plugin alone. Prints what it wrote."""
    places = {"interpreter": args.interpreter, "conflist": args.conflist, "net_dir": args.net_dir}
    try:
        if args.compiled is None and not args.python_only:
            written, compiled = install_building(args.bin_dir, **places)
        else:
            written = install(args.bin_dir, compiled=args.compiled, **places)
            compiled = args.compiled is not None
    except (InstallError, OSError) as error:
        print(f"contivpy install-cni: {error}", file=sys.stderr)
        return 1
    form = "compiled, with the Python plugin beside it" if compiled else "Python only"
    print(f"installed {', '.join(map(str, written))} ({form})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m contivpy.cni_install build OUTPUT`` (the image's build stage) or
    ``python -m contivpy.cni_install install …`` (as ``contivpy install-cni``)."""
    parser = argparse.ArgumentParser(prog="python -m contivpy.cni_install")
    sub = parser.add_subparsers(dest="step", required=True)
    build = sub.add_parser("build", help="compile the plugin")
    build.add_argument("output", type=Path)
    add_arguments(sub.add_parser("install", help="install the plugin (contivpy install-cni)"))
    args = parser.parse_args(argv)
    if args.step == "install":
        return run(args)
    try:
        build_compiled(args.output)
    except InstallError as error:
        print(f"contivpy install-cni: {error}", file=sys.stderr)
        return 1
    print(f"built {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
