"""`.env.example` lists every environment variable the project reads.

The sources are parsed, not imported, so a variable read on a branch that this
machine never takes (S3 storage, PostgreSQL) is found as well. A read counts when
its name is a string literal: the first argument of config.env's helpers
(env_str, env_int, ...), of os.environ.get/[]/setdefault/pop and os.getenv, or the
left side of `"NAME" in os.environ`. The Procfile's `$NAME` references count too.
A read whose name is computed must be explained in DYNAMIC_READERS below.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from dataclasses import fields
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"

ENV_HELPERS = {"env_str", "env_int", "env_bool", "env_list", "env_path", "env_secret"}
# os.environ methods whose first argument names the variable read.
ENVIRON_METHODS = {"get", "setdefault", "pop"}

# Names that are not the server's configuration: set by test and tooling harnesses
# for the processes they start, or by the process itself. Each needs a reason.
NOT_CONFIGURATION = {
    # tests/envsetup.py names each test run so parallel runs get their own database.
    "HONDANA_TEST_RUN",
    # Set by pytest-xdist in its worker processes.
    "PYTEST_XDIST_WORKER",
    # manage.py, config/wsgi.py and config/celery.py default it to config.settings.
    "DJANGO_SETTINGS_MODULE",
    # bench/common.py hands these to the throwaway servers it starts for comparison.
    "BENCH_SINK_DIR",
    "BENCH_STATIC_DIR",
}

# Reads whose variable name is computed, by (file, enclosing function). Each must be
# covered by a test here; a new computed read fails test_env_reads_are_literal.
DYNAMIC_READERS = {
    # The helpers themselves: their callers' literal names are what is checked.
    ("config/env.py", "env_str"): "helper",
    ("config/env.py", "env_bool"): "helper",
    ("config/env.py", "env_int"): "helper",
    ("config/env.py", "env_list"): "helper",
    ("config/env.py", "env_secret"): "helper (reads NAME and NAME_FILE)",
    ("config/env.py", "env_path"): "helper",
    # Server settings pinned as HONDANA_<FIELD>: test_server_setting_pins_documented.
    ("archives/config.py", "_env_pins"): "HONDANA_<FIELD> pins",
    ("archives/config.py", "_parse_pin"): "HONDANA_<FIELD> pins",
}

# Not the project's own code: virtualenvs, data, caches, and the tests themselves.
SKIPPED_DIRS = {"tests", "node_modules", "data", "static", "templates"}


@dataclass(frozen=True)
class Read:
    name: str | None  # None when the name is computed
    where: str  # path:line
    path: str
    function: str
    secret: bool = False  # env_secret: NAME_FILE is read too


def project_sources() -> list[Path]:
    sources = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIPPED_DIRS and not (Path(folder, d) / "pyvenv.cfg").exists()
        ]
        sources += [Path(folder, f) for f in files if f.endswith(".py")]
    return sorted(sources)


class _ReadFinder(ast.NodeVisitor):
    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.reads: list[Read] = []
        self.scope: list[str] = []
        self.os_names: set[str] = set()  # import os [as x]
        self.environ_names: set[str] = set()  # from os import environ [as x]
        self.getenv_names: set[str] = set()  # from os import getenv [as x]

    # --- what names mean os.environ and os.getenv in this module ---
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "os":
                self.os_names.add(alias.asname or "os")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "os" and node.level == 0:
            for alias in node.names:
                if alias.name == "environ":
                    self.environ_names.add(alias.asname or "environ")
                elif alias.name == "getenv":
                    self.getenv_names.add(alias.asname or "getenv")

    def _is_environ(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            return isinstance(node.value, ast.Name) and node.value.id in self.os_names
        return isinstance(node, ast.Name) and node.id in self.environ_names

    def _is_getenv(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "getenv":
            return isinstance(node.value, ast.Name) and node.value.id in self.os_names
        return isinstance(node, ast.Name) and node.id in self.getenv_names

    def _is_environ_method(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr in ENVIRON_METHODS and self._is_environ(node.value)

    # --- scopes, for DYNAMIC_READERS ---
    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _scoped

    def _record(self, arg: ast.expr | None, node: ast.expr, *, secret: bool = False) -> None:
        name = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
        function = ".".join(self.scope) or "<module>"
        self.reads.append(Read(name, f"{self.rel}:{node.lineno}", self.rel, function, secret))

    # --- the reads ---
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in ("name", "key")), None)
        helper = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if helper in ENV_HELPERS:
            self._record(first, node, secret=helper == "env_secret")
        elif self._is_getenv(func) or self._is_environ_method(func):
            self._record(first, node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and self._is_environ(node.value):
            self._record(node.slice, node)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn) and self._is_environ(right):
                self._record(node.left, node)
        self.generic_visit(node)


def env_reads() -> list[Read]:
    reads: list[Read] = []
    for path in project_sources():
        rel = path.relative_to(ROOT).as_posix()
        finder = _ReadFinder(rel)
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        reads.extend(finder.reads)
    procfile = ROOT / "Procfile"
    if procfile.exists():
        for lineno, line in enumerate(procfile.read_text().splitlines(), 1):
            for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", line):
                reads.append(Read(name, f"Procfile:{lineno}", "Procfile", line.split(":", 1)[0]))
    return reads


def documented() -> set[str]:
    """Names written as NAME= in .env.example, on a setting line or in a comment."""
    return set(re.findall(r"(?<![A-Za-z0-9_$])([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text()))


def server_setting_pins() -> list[str]:
    """HONDANA_<FIELD> for each field archives.config lets the environment pin."""
    from archives.config import Config
    from archives.config import setting_fields

    pinnable = {f.name for f in setting_fields()}
    # Never api_key_hash, which is not editable: HONDANA_API_KEY is the key.
    assert pinnable == {f.name for f in fields(Config)} - {"api_key_hash"}
    return [f"HONDANA_{name.upper()}" for name in sorted(pinnable)]


def _missing_message(missing: dict[str, list[str]], what: str) -> str:
    lines = [f"{len(missing)} environment variable(s) {what} but not listed in .env.example:"]
    lines += [f"  {name}  (read at {', '.join(where)})" for name, where in sorted(missing.items())]
    lines.append("Add each to .env.example with its default and a short comment")
    lines.append("(or, if only tests or tooling set it, to NOT_CONFIGURATION in tests/test_env_documented.py).")
    return "\n".join(lines)


def test_the_scan_finds_the_settings() -> None:
    """Guards the scanner itself: an empty scan would pass everything."""
    names = {r.name for r in env_reads()}
    assert {"DATABASE_URL", "REDIS_URL", "HONDANA_DATA_DIR", "DJANGO_SECRET_KEY", "PORT"} <= names


def test_env_reads_are_documented() -> None:
    listed = documented()
    missing: dict[str, list[str]] = {}
    for read in env_reads():
        if read.name is None or read.name in listed or read.name in NOT_CONFIGURATION:
            continue
        missing.setdefault(read.name, []).append(read.where)
    if missing:
        pytest.fail(_missing_message(missing, "are read by the code"), pytrace=False)


def test_secret_files_documented() -> None:
    """env_secret also reads NAME_FILE (Docker secrets); .env.example says so once."""
    secrets = sorted({r.name for r in env_reads() if r.secret and r.name})
    assert secrets
    text = EXAMPLE.read_text()
    if "_FILE" not in text:
        pytest.fail(f"Say in .env.example that {', '.join(secrets)} can be read from NAME_FILE.", pytrace=False)


def test_server_setting_pins_documented() -> None:
    listed = documented()
    missing = {name: ["archives/config.py (_env_pins)"] for name in server_setting_pins() if name not in listed}
    if missing:
        pytest.fail(_missing_message(missing, "pin a server setting"), pytrace=False)


def test_env_reads_are_literal() -> None:
    """A computed name cannot be checked against .env.example: each must be explained."""
    unexplained = [
        f"  {r.where} in {r.function}"
        for r in env_reads()
        if r.name is None and (r.path, r.function) not in DYNAMIC_READERS
    ]
    if unexplained:
        pytest.fail(
            "Environment read with a computed name; use a string literal, or add it to DYNAMIC_READERS "
            "in tests/test_env_documented.py with a test that covers its names:\n" + "\n".join(unexplained),
            pytrace=False,
        )
