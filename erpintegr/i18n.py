"""The pt-BR catalog of our own messages, without GNU gettext tools.

`make messages` regenerates `locale/pt_BR/LC_MESSAGES/django.po` with Django's makemessages
(which needs xgettext, a developer tool) and compiles the `.mo` with polib here, so a fresh
machine runs and tests with the committed files alone. `tests/test_translations.py` uses
`source_messages()` to prove that every message our code marks for translation has a pt-BR
translation in the committed catalog.

Extraction: Python files through `ast` (calls of the gettext family with literal strings);
templates through Django's own `templatize` (what makemessages feeds to xgettext), whose output
is read with the standard `tokenize` module.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
CATALOG = BASE_DIR / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOG.with_suffix(".mo")
# Our code: apps, settings and templates (not the virtualenv, tests, benchmarks or emulators,
# whose texts are for developers).
SOURCE_DIRS = ("erpintegr", "erp", "channels", "mappings", "sync", "vendors", "templates")
SINGULAR = {"gettext", "gettext_lazy", "_", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
CONTEXT = {"pgettext", "pgettext_lazy"}
CONTEXT_PLURAL = {"npgettext", "npgettext_lazy"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def python_messages(source: str) -> set[tuple[str, str]]:
    """(context, msgid) of every gettext-family call with literal arguments in `source`."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name, args = _name(node.func), [_literal(a) for a in node.args]
        if name in SINGULAR | PLURAL and args[0] is not None:
            found.add(("", args[0]))
            if name in PLURAL and len(args) > 1 and args[1] is not None:
                found.add(("", args[1]))
        elif name in CONTEXT | CONTEXT_PLURAL and len(args) > 1 and None not in args[:2]:
            found.add((args[0], args[1]))
    return found


def template_messages(source: str) -> set[tuple[str, str]]:
    """The same for a Django template, through Django's templatize."""
    from django.utils.translation.template import templatize

    # templatize keeps the template's indentation, which means nothing to Python: a line that
    # dedents to a column no earlier line used would stop `tokenize` (IndentationError).
    # Its gettext() calls are on one line each (the messages are repr()'d), so stripping the
    # indentation changes no message.
    code = "\n".join(line.lstrip() for line in templatize(source).splitlines())
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    found: set[tuple[str, str]] = set()
    for i, token in enumerate(tokens[:-2]):
        if token.type != tokenize.NAME or tokens[i + 1].string != "(":
            continue
        strings = []
        for following in tokens[i + 2 :]:
            if following.type == tokenize.STRING:
                strings.append(ast.literal_eval(following.string))
            elif following.string != ",":
                break
        if not strings:
            continue
        if token.string in SINGULAR | PLURAL:
            found.add(("", strings[0]))
            if token.string in PLURAL and len(strings) > 1:
                found.add(("", strings[1]))
        elif token.string in CONTEXT | CONTEXT_PLURAL and len(strings) > 1:
            found.add((strings[0], strings[1]))
    return found


def source_messages() -> dict[tuple[str, str], str]:
    """Every message our code marks, with the first file that marks it."""
    found: dict[tuple[str, str], str] = {}
    for directory in SOURCE_DIRS:
        for path in sorted((BASE_DIR / directory).rglob("*")):
            if "migrations" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                messages = python_messages(path.read_text(encoding="utf-8"))
            elif path.suffix in (".html", ".txt"):
                messages = template_messages(path.read_text(encoding="utf-8"))
            else:
                continue
            for key in messages:
                found.setdefault(key, str(path.relative_to(BASE_DIR)))
    return found


def compile_catalog() -> None:
    """The `.mo` from the `.po` (polib: no msgfmt needed)."""
    import polib

    polib.pofile(str(CATALOG)).save_as_mofile(str(COMPILED))
