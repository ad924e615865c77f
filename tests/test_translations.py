"""Every string a user can see is in French, Spanish and Portuguese, with the same placeholders.

The strings are extracted from the sources as `pybabel extract` does (README, "Translations"), so a
new `_()` without its translations fails here, not in front of a French-speaking union member.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

# The catalogues and the templates' words: no database is involved.
pytestmark = pytest.mark.same_on_every_database

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|%%")


def _scanned(dirpath: str) -> bool:
    # As `pybabel extract` does (it skips only ".*" folders): the library's own default would also
    # skip "_macros", whose words every form and history page shows.
    return not Path(dirpath).name.startswith(".")


@pytest.fixture(scope="module")
def source_messages() -> set[tuple[str | None, str]]:
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=_scanned
    ):
        singular = message[0] if isinstance(message, tuple) else message
        if singular:
            found.add((context, singular))
    return found


@pytest.mark.parametrize("lang", ["fr", "es", "pt"])
def test_every_message_is_translated_with_its_placeholders(source_messages, lang):
    path = ROOT / "mel_app" / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as fh:
        catalogue = read_po(fh)
    translations = {}
    for m in catalogue:
        if m.id and not m.fuzzy:
            singular = m.id[0] if isinstance(m.id, tuple) else m.id
            translations[(m.context, singular)] = m
    missing = sorted(s for c, s in source_messages if (c, s) not in translations or not all(
        translations[(c, s)].string if isinstance(translations[(c, s)].string, tuple)
        else [translations[(c, s)].string]
    ))
    assert not missing, f"{len(missing)} message(s) without a {lang} translation, e.g. {missing[:5]}"
    wrong, lost = [], []
    for key in source_messages:
        m = translations[key]
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = set(PLACEHOLDER.findall(ids[-1]))
        if any(set(PLACEHOLDER.findall(s)) - expected - {"%d"} for s in strings):
            wrong.append(m.id)
        # A value the English shows must show in the translation too ("%(name)s was saved" without
        # the name says nothing). Only a plural form may leave out the count, as in "one day".
        counts = {p for p in expected if p.endswith("d")} if len(ids) > 1 else set()
        if any(expected - set(PLACEHOLDER.findall(s)) - counts for s in strings):
            lost.append(m.id)
    assert not wrong, f"{lang} translations with placeholders the English does not have: {wrong[:5]}"
    assert not lost, f"{lang} translations that leave out a placeholder of the English: {lost[:5]}"


def _definitions(path: Path) -> list[tuple[str, str]]:
    """Every (context, message) the catalogue defines, in order, as written (one per `msgid`)."""
    found, context, message, part = [], "", "", None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            context, part = line[8:], "context"
        elif line.startswith("msgid "):
            message, part = line[6:], "message"
        elif line.startswith('"') and part == "message":
            message += line
        elif line.startswith('"') and part == "context":
            context += line
        elif line.startswith("msgstr") or line.startswith("msgid_plural"):
            if part == "message" and message != '""':
                found.append((context, message.replace('""', "")))
            context, part = "", None
    return found


@pytest.mark.parametrize("lang", ["fr", "es", "pt"])
def test_every_message_is_defined_once(lang):
    """gettext's msgfmt refuses a catalogue defining a message twice; Babel silently keeps one of
    the translations, so which one readers see depends on the tool that compiled it."""
    definitions = _definitions(ROOT / "mel_app" / "translations" / lang / "LC_MESSAGES" / "messages.po")
    seen, twice = set(), []
    for key in definitions:
        if key in seen:
            twice.append(key[1])
        seen.add(key)
    assert len(definitions) > 1000
    assert not twice, f"{len(twice)} message(s) defined twice in {lang}, e.g. {twice[:3]}"
