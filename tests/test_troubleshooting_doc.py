"""docs/SEEDING_TROUBLESHOOTING.md documents every error seed-sql can print: a new error without docs fails.

Error classes come from walking SeedError's subclasses; messages from the source of seeder/*.py (ast):
every string literal or f-string given to an error constructor (a SeedError subclass, ValueError or
TypeError, which templates surface through TemplateError), every `super().__init__(...)` message of
seeder/errors.py, and every line the CLI echoes to stderr starting "seed-sql:". Of each message, the
leading literal text before the first `{` is the part the doc must contain when it is at least 12
characters long; otherwise its first literal chunk (between placeholders) of 12 or more characters.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from seeder import errors

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "SEEDING_TROUBLESHOOTING.md"
SEEDER = REPO / "seeder"
MIN_LEN = 12
# Builtin exceptions whose messages reach the user wrapped in a TemplateError.
WRAPPED_BUILTINS = {"ValueError", "TypeError"}


def error_classes() -> list[type]:
    found, todo = [], [errors.SeedError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _chunks(node: ast.AST) -> list[str | None] | None:
    """A message as literal chunks, None standing for each placeholder; None if not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else None for v in node.values]
    return None


def _key_text(chunks: list[str | None]) -> str | None:
    """The leading literal text; when that is shorter than MIN_LEN, the first literal chunk that is not."""
    for chunk in chunks:
        if chunk and len(chunk.strip()) >= MIN_LEN:
            return chunk.strip()
    return None


def _callee(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _is_stderr_echo(call: ast.Call) -> bool:
    return (isinstance(call.func, ast.Attribute) and call.func.attr == "echo"
            and any(k.arg == "err" and isinstance(k.value, ast.Constant) and k.value.value is True
                    for k in call.keywords))


def raised_messages() -> dict[str, str]:
    """Key text -> where it is raised (file:line)."""
    names = {c.__name__ for c in error_classes()} | WRAPPED_BUILTINS
    out: dict[str, str] = {}
    for path in sorted(SEEDER.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = _callee(node)
            constructor = callee in names or (callee == "__init__" and path.name == "errors.py")
            echo = _is_stderr_echo(node)
            if not (constructor or echo):
                continue
            for arg in node.args:
                chunks = _chunks(arg)
                if chunks is None:
                    continue
                if echo and not (chunks[0] or "").startswith("seed-sql:"):
                    break
                key = _key_text(chunks)
                if key:
                    out.setdefault(key, f"{path.name}:{node.lineno}")
                break  # the message is the first literal argument
    return out


@pytest.fixture(scope="module")
def doc() -> str:
    assert DOC.is_file(), f"{DOC} is missing"
    return DOC.read_text(encoding="utf-8")


def test_the_extraction_finds_messages_of_every_kind():
    found = raised_messages()
    assert len(found) >= 40, sorted(found)
    where = {w.split(":")[0] for w in found.values()}
    # error constructors, super().__init__ of errors.py, wrapped builtins, and the CLI's own stderr lines
    assert {"runner.py", "errors.py", "sqltext.py", "cli.py"} <= where, where
    assert any(k.startswith("seed-sql:") for k in found)


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_is_documented(doc, cls):
    name = re.escape(cls.__name__)
    heading = re.search(rf"^#+ .*\b{name}\b", doc, re.M)
    span = re.search(rf"`{name}`", doc)
    assert heading or span, f"{cls.__name__} is neither a heading nor a code span in {DOC.name}"


def test_every_error_message_is_documented(doc):
    missing = {key: where for key, where in raised_messages().items() if key not in doc}
    assert not missing, "messages raised but not in docs/SEEDING_TROUBLESHOOTING.md:\n" + "\n".join(
        f"  {where}: {key!r}" for key, where in sorted(missing.items(), key=lambda kv: kv[1]))


def test_every_exit_code_is_documented(doc):
    section = doc.split("## Exit codes", 1)
    assert len(section) == 2, "no '## Exit codes' section"
    table = section[1].split("\n## ", 1)[0]
    for code in ["0", "1", "2", "3", "130"]:
        assert re.search(rf"^\|\s*`?{code}`?\s*\|", table, re.M), f"exit code {code} is not in the table"
    for cls in error_classes():
        if cls.exit_code not in (1, 2):
            pytest.fail(f"{cls.__name__} has exit code {cls.exit_code}; document it and extend this test")


def test_each_class_section_says_cause_and_fix(doc):
    sections = re.split(r"^### ", doc, flags=re.M)[1:]
    by_class = {}
    for section in sections:
        title = section.splitlines()[0]
        for cls in error_classes():
            if re.search(rf"\b{cls.__name__}\b", title):
                by_class[cls.__name__] = section
    assert by_class, "no '### <ErrorClass>' sections"
    for name, section in by_class.items():
        assert re.search(r"\bcause\b", section, re.I) and re.search(r"\bfix\b", section, re.I), f"{name}: no cause / fix"
