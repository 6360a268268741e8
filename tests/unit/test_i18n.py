"""The gettext catalogues: every `Msg` and every message of the mail templates is extracted and
translated, placeholders survive translation, no per-language literal is left in the code or the
templates, and a third language falls back to Dutch."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from bot import i18n
from bot.dates import format_date
from bot.i18n import Localized, Msg, add_locale_dir, available_languages, remove_locale_dir
from bot.when import When

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "adapters", "config")
# The same keywords as README.md's `pybabel extract`: Msg(text) and Msg(text, context=...).
KEYWORDS = parse_keywords(["Msg:1,1t", "Msg:1,2c,2t"])
CONVERTED = tuple(
    str(path.relative_to(ROOT))
    for directory in SOURCE_DIRS
    for path in sorted((ROOT / directory).rglob("*.py"))
)
"""Every module of the product: none may choose a text by language; texts are catalogue messages."""
TEMPLATE_DIR = ROOT / "adapters/email/templates"
"""The mail templates: one set for every language, their texts gettext calls (Jinja2 i18n)."""

Key = tuple[str, str | None]  # (msgid, msgctxt)


def _source_files() -> Iterator[Path]:
    for name in SOURCE_DIRS:
        yield from sorted((ROOT / name).rglob("*.py"))


def _extracted() -> dict[Key, list[str]]:
    found: dict[Key, list[str]] = {}
    method_map = [(f"{name}/**.py", "python") for name in SOURCE_DIRS]
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map=method_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def _template_messages() -> dict[Key, list[str]]:
    """The messages of the mail templates, extracted the way `babel.cfg` says (its `jinja2`
    sections, with their extensions and keywords): what `pybabel extract` puts in the .pot."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename="babel.cfg")  # type: ignore[no-untyped-call]
    jinja = [(pattern, method) for pattern, method in method_map if method == "jinja2"]
    found: dict[Key, list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map=jinja, options_map=options_map, keywords=KEYWORDS
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def _msg_calls() -> Iterator[tuple[str, ast.Call]]:
    for path in _source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Msg":
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def _catalogue(lang: str) -> Catalog:
    path = ROOT / "bot/locale" / lang / "LC_MESSAGES/klasbot.po"
    with path.open("rb") as po:
        return read_po(po, locale=lang, abort_invalid=True)


def _placeholders(template: str) -> Counter[tuple[str, str | None, str | None]]:
    return Counter(
        (name, conversion, spec)
        for _text, name, spec, conversion in string.Formatter().parse(template)
        if name is not None
    )


def test_every_msg_is_a_literal_that_extraction_finds() -> None:
    extracted = _extracted()
    in_code: set[Key] = set()
    problems = []
    for where, call in _msg_calls():
        args = [*call.args, *(k.value for k in call.keywords if k.arg == "context")]
        if (
            len(call.args) != 1
            or {k.arg for k in call.keywords} - {"context"}
            or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args)
        ):
            problems.append(f'{where}: write Msg("English text"[, context="..."])')
            continue
        values = [a.value for a in args if isinstance(a, ast.Constant)]
        in_code.add((values[0], values[1] if len(values) > 1 else None))
    assert not problems, "\n".join(problems)
    assert len(in_code) > 150
    assert set(extracted) == in_code


_SAYS_SOMETHING = re.compile(r"\b_\(|gettext\(|\{%-? *trans\b")
"""A gettext call or a `{% trans %}` block in a template."""


def test_babel_cfg_extracts_every_mail_template() -> None:
    messages = _template_messages()
    where = {
        location.rsplit(":", 1)[0] for locations in messages.values() for location in locations
    }
    templates = {
        str(path.relative_to(ROOT))
        for path in TEMPLATE_DIR.glob("*.j2")
        # The HTML frame has no text of its own; a subject whose words all come from
        # `bot.notice_texts` (a withdrawal's) has none either.
        if path.name != "_layout.html.j2" and _SAYS_SOMETHING.search(path.read_text())
    }

    assert len(messages) > 50
    assert where == templates
    assert ("The class has no working class group at the moment. That is why you receive the "
            "class's messages by e-mail.", "to a pupil") in messages  # fmt: skip


def test_mail_templates_have_no_literal_text() -> None:
    """Every word a reader sees comes from a gettext call (or from the notice): what is left of a
    template without its Jinja2 tags, comments and HTML tags is punctuation and `/start`."""
    leftover = {}
    for path in sorted(TEMPLATE_DIR.glob("*.j2")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\{#.*?#\}", r"\{\{.*?\}\}", r"\{%.*?%\}", r"<[^>]*>"):
            text = re.sub(pattern, " ", text, flags=re.DOTALL)
        words = set(re.findall(r"[^\W\d_]+", text)) - {"start"}
        if words:
            leftover[path.name] = sorted(words)
    assert not leftover, f"text outside gettext in the mail templates: {leftover}"
    assert not list(TEMPLATE_DIR.glob("*.nl.*")) + list(TEMPLATE_DIR.glob("*.en.*"))


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_message_is_translated(lang: str) -> None:
    catalogue = _catalogue(lang)
    extracted = {**_extracted(), **_template_messages()}
    missing = [
        f"{msgid!r} (context {context!r}) from {', '.join(where)}"
        for (msgid, context), where in extracted.items()
        if not (message := catalogue.get(msgid, context=context))
        or not message.string
        or (isinstance(message.string, tuple) and not all(message.string))
    ]
    assert not missing, f"untranslated in {lang}.po:\n" + "\n".join(missing)


def _percent_placeholders(text: str) -> Counter[str]:
    return Counter(re.findall(r"%\((\w+)\)[sd]", text))


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_template_translations_keep_the_placeholders(lang: str) -> None:
    """The templates' messages use `%(name)s` (Jinja2's newstyle gettext), and no other `%`."""
    catalogue = _catalogue(lang)
    wrong = []
    for msgid, context in _template_messages():
        message = catalogue.get(msgid, context=context)
        assert message is not None
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for number, translated in enumerate(strings):
            original = str(ids[min(number, len(ids) - 1)])
            wanted = _percent_placeholders(original)
            found = _percent_placeholders(str(translated))
            if found != wanted or str(translated).count("%") != found.total():
                wrong.append(f"{original!r} -> {translated!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_translations_keep_the_placeholders(lang: str) -> None:
    wrong = [
        f"{message.id!r} -> {message.string!r}"
        for message in _catalogue(lang)
        if message.id
        and message.string
        and _placeholders(str(message.id)) != _placeholders(str(message.string))
    ]
    assert not wrong, "\n".join(wrong)


def test_english_catalogue_is_the_english_text() -> None:
    assert all(m.string == m.id for m in _catalogue("en") if m.id)


def test_no_per_language_literals_remain() -> None:
    old_style = re.compile(r"""Msg\(\s*(nl|en)\s*=|\b\w+_(nl|en)=(?!=)|["']\w+_(nl|en)["']:""")
    for path in _source_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not old_style.search(line), f"{path.relative_to(ROOT)}:{number}: {line}"
    # A choice of text by language (`if lang == "en"`, `{"nl": ..., "en": ...}`) belongs in the
    # catalogues. The command words are vocabulary, not text: the parser knows both.
    allowed = {
        (
            "bot/commands/grammar.py",
            'Localized(lambda lang: names_en if lang == "en" else names_nl)',
        ),
        ("adapters/telegram/menu.py", 'cls.english if lang == "en" else cls.name'),
    }
    choice = re.compile(r"""lang\s*[!=]=\s*["'](nl|en)["']|["'](nl|en)["']\s*:\s*(["({]|Msg)""")
    for name in CONVERTED:
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
            if choice.search(line) and not any(
                name == file and text in line for file, text in allowed
            ):
                pytest.fail(f"{name}:{number}: per-language text: {line.strip()}")


@pytest.fixture
def german(tmp_path: Path) -> Iterator[Path]:
    """A partial German catalogue with two messages, registered as an extra locale directory."""
    catalog = Catalog(locale="de", domain="klasbot")
    catalog.add("Send", "Senden")
    catalog.add("Class {klas} already has a group on {platform} (chat {chat}).",
                "Klasse {klas} hat schon eine Gruppe auf {platform} (Chat {chat}).")  # fmt: skip
    path = tmp_path / "de" / "LC_MESSAGES" / "klasbot.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as po:
        write_po(po, catalog)
    add_locale_dir(tmp_path)
    yield tmp_path
    remove_locale_dir(tmp_path)


def test_a_partial_catalogue_falls_back_to_dutch(german: Path) -> None:
    group_exists = Msg("Class {klas} already has a group on {platform} (chat {chat}).")
    assert "de" in available_languages()
    assert Msg("Send")("de") == "Senden"
    assert group_exists("de", klas="2B", platform="matrix", chat="!x") == (
        "Klasse 2B hat schon eine Gruppe auf matrix (Chat !x)."
    )
    assert Msg("Cancel")("de") == "Annuleren"
    assert Msg("Cancel")("en") == "Cancel"
    assert format_date(dt.date(2026, 11, 25), "de") == "Mittwoch 25 November 2026"


def test_a_catalogue_directory_can_be_named_directly(german: Path) -> None:
    remove_locale_dir(german)
    assert "de" not in available_languages()
    assert Msg("Send")("de") == "Versturen"
    assert i18n.translation("de", directory=german).gettext("Send") == "Senden"
    assert i18n.translation("de", directory=german).gettext("Cancel") == "Annuleren"


def test_unknown_languages_get_dutch() -> None:
    assert Msg("Send")("fr") == "Versturen"
    assert Msg("Send")() == "Versturen"
    assert Msg("Send")("en") == "Send"
    assert i18n.LANGUAGES == ("nl", "en")


def test_parameters_in_the_readers_language() -> None:
    label = Msg("phone number")
    listing = Localized(lambda lang: f"{label(lang)}: '06'")
    refused = Msg("Message refused: it contains personal data ({found}). Remove it and try again.")
    assert refused("nl", found=listing) == (
        "Bericht geweigerd: het bevat persoonsgegevens (telefoonnummer: '06'). Haal die weg en "
        "probeer opnieuw."
    )
    assert refused("en", found=listing).startswith("Message refused: it contains personal data (p")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("nl", "woensdag 25 november 2026"),
        ("en", "Wednesday 25 November 2026"),
        ("fr", "woensdag 25 november 2026"),
    ],
)
def test_format_date(lang: str, expected: str) -> None:
    assert format_date(dt.date(2026, 11, 25), lang) == expected


def test_describe_a_moment() -> None:
    weekly = When.repeating("FREQ=WEEKLY;BYDAY=MO", dt.datetime(2026, 11, 30, 8, 0))
    assert weekly.describe("nl") == "elke maandag om 08:00"
    assert weekly.describe("en") == "every Monday at 08:00"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_catalogue_message_is_left_unused(lang: str) -> None:
    """A text removed from the code is removed from the catalogues (no translator works for
    nothing, and a renamed message cannot silently keep its old translation)."""
    extracted = {**_extracted(), **_template_messages()}
    unused = [
        repr(message.id)
        for message in _catalogue(lang)
        if message.id
        and ((message.id if isinstance(message.id, str) else message.id[0]), message.context)
        not in extracted
    ]
    assert not unused, f"unused in {lang}.po:\n" + "\n".join(unused)
