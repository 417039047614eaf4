"""The pt-BR catalog stays complete: a new English string without Portuguese cannot land."""

from __future__ import annotations

import re

import polib
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from erpintegr import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|%[sdfr]|\{\w*\}")


@pytest.fixture(scope="module")
def catalog():
    return polib.pofile(str(i18n.CATALOG))


def test_every_message_of_ours_is_in_the_catalog_and_translated(catalog):
    translated = {
        (entry.msgctxt or "", msgid)
        for entry in catalog
        if not entry.obsolete and entry.translated() and "fuzzy" not in entry.flags
        for msgid in (entry.msgid, entry.msgid_plural)
        if msgid
    }
    missing = {key: where for key, where in i18n.source_messages().items() if key not in translated}
    assert not missing, (
        "no pt-BR translation (run `make messages`, translate, commit):\n"
        + "\n".join(
            f"  {where}: {msgid!r}" for (_ctx, msgid), where in sorted(missing.items(), key=str)
        )
    )


def test_no_fuzzy_or_empty_translation(catalog):
    assert not [e.msgid for e in catalog.fuzzy_entries()], "fuzzy entries must be reviewed"
    assert not [e.msgid for e in catalog.untranslated_entries()], "untranslated entries"


def test_placeholders_are_the_same_in_both_languages(catalog):
    wrong = []
    for entry in catalog.translated_entries():
        pairs = (
            [(entry.msgid, entry.msgstr)]
            if not entry.msgid_plural
            else [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
        )
        for source, target in pairs:
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(target)):
                wrong.append((source, target))
    assert not wrong, wrong


def test_the_compiled_catalog_matches_the_po(catalog):
    """The committed `.mo` says exactly what the `.po` says (not one edit behind it)."""
    compiled = polib.mofile(str(i18n.COMPILED))

    def messages(entries):
        return {
            (e.msgctxt or "", e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
            for e in entries
            if e.msgid
        }

    assert messages(compiled) == messages(catalog.translated_entries())


def test_extraction_finds_python_and_template_messages():
    code = 'x = _("Sales channels")\ny = ngettext("%(n)s order", "%(n)s orders", n)\nz = f(_)\n'
    assert i18n.python_messages(code) == {
        ("", "Sales channels"),
        ("", "%(n)s order"),
        ("", "%(n)s orders"),
    }
    template = '{% load i18n %}<p>{% translate "Activate" %}</p>{{ _("Back") }}'
    assert i18n.template_messages(template) == {("", "Activate"), ("", "Back")}
    # Indentation that Python would refuse (a dedent to a column never used before).
    indented = '{% load i18n %}\n  <p>\n      {% translate "A" %}\n    <b>{% translate "B" %}</b>\n'
    assert i18n.template_messages(indented) == {("", "A"), ("", "B")}


@pytest.mark.django_db
def test_the_admin_speaks_portuguese_by_default_and_english_on_request(admin_user, settings):
    settings.LANGUAGE_CODE = "pt-br"
    client = Client()
    client.force_login(admin_user)
    with translation.override(None):
        portuguese = client.get(reverse("admin:index")).content.decode()
        english = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="pt-br"' in portuguese and "Encerrar sessão" in portuguese
    assert 'lang="en"' in english and "Log out" in english
    assert 'id="language-select"' in portuguese


@pytest.mark.django_db
def test_the_language_switch_sets_the_language(admin_user, settings):
    settings.LANGUAGE_CODE = "pt-br"
    client = Client()
    client.force_login(admin_user)
    with translation.override(None):
        response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
        assert response.status_code == 302
        assert "Log out" in client.get(reverse("admin:index")).content.decode()
