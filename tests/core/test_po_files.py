"""The translations as files: each one parses, is complete against the template, has no fuzzy entry,
keeps every placeholder of its msgid; and the core's sentences are in the template (one source)."""

import collections
import pathlib
import re

import polib
import pytest

from languages import LANGUAGES
from mailcore import errors, validation
from mailcore.discovery import config
from mailcore.text import Defaults

I18N = pathlib.Path(__file__).resolve().parents[2] / "i18n"
TEMPLATE = I18N / "email_account.pot"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
# Odoo's exporter and oca-checks-po (po-pretty-format) write a translation identical to its source as
# an empty msgstr. So an empty msgstr is allowed only where the source is right in that language too:
# protocol and header names, example addresses, placeholders only, and the words a language borrows.
SAME_AS_SOURCE = {
    "de": {"Login", "Port", "Server", "Status"},
    "fr": {"Description", "Menu", "Messages", "Port"},
}
NEUTRAL = {"Message-ID", "Google", "Microsoft"}  # a header name; brand names (the sign-ins)


def neutral(msgid):
    """No word to translate: no run of lower-case letters outside placeholders, host names and addresses."""
    words = [word for word in PLACEHOLDER.sub("", msgid).split() if "." not in word and "@" not in word]
    return msgid in NEUTRAL or not any(re.search("[a-z]{2}", word) for word in words)


def placeholders(text):
    return collections.Counter(PLACEHOLDER.findall(text))


def template_msgids():
    return {entry.msgid for entry in polib.pofile(str(TEMPLATE))}


def core_sentences():
    """Every sentence the core shows a user, as written in its tables."""
    sentences = [errors.EXPLANATION, config.VIA_MX, *config.SOURCE_LABELS.values(), *validation.MESSAGES.values()]
    for parts in errors.EXPLANATIONS.values():
        sentences.extend(parts)
    return sentences


@pytest.mark.parametrize("code", LANGUAGES)
def test_translation_is_complete(code):
    po = polib.pofile(str(I18N / f"{code}.po"))
    assert po.metadata.get("Language") == code
    untranslated = [
        entry.msgid
        for entry in po.untranslated_entries()
        if not neutral(entry.msgid) and entry.msgid not in SAME_AS_SOURCE.get(code, ())
    ]
    assert not untranslated, f"untranslated in {code}.po"
    assert not [entry.msgid for entry in po.fuzzy_entries()], "fuzzy"
    missing = sorted(template_msgids() - {entry.msgid for entry in po if not entry.obsolete})
    assert not missing, f"{code}.po lacks msgids of the template (msgmerge it): {missing}"


@pytest.mark.parametrize("code", LANGUAGES)
def test_placeholders_match(code):
    po = polib.pofile(str(I18N / f"{code}.po"))
    # An empty msgstr is the source itself (see SAME_AS_SOURCE), so its placeholders are the source's.
    wrong = [entry.msgid for entry in po if entry.msgstr and placeholders(entry.msgid) != placeholders(entry.msgstr)]
    assert not wrong


def test_core_sentences_are_in_the_template():
    """The addon translates the core's own strings (marked with ``_lt``); none may miss the template."""
    assert not set(core_sentences()) - template_msgids()


def test_core_sentences_render_with_any_parameters():
    """Only named placeholders and no stray '%': a sentence renders even when a parameter is missing."""
    for sentence in core_sentences():
        assert "%" not in PLACEHOLDER.sub("", sentence), sentence
        assert "%" not in sentence % Defaults(), sentence
