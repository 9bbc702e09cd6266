"""Every shipped catalogue translates every string the pages, the back office and e-mails show."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.util import pathmatch

from webapp.config import load_config

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "webapp" / "translations"
# The same keywords `make translations` passes to pybabel.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]|%%")
JINJA_TAG = re.compile(r"\{%.*?%\}")
SHIPPED = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())


def _skip_dirs(path: str) -> bool:
    name = Path(path).name
    return not name.startswith((".", "_")) and name not in {"node_modules", "instance"}


@pytest.fixture(scope="module")
def extracted() -> dict[str, set[str]]:
    """msgid -> the files it comes from, read from the sources babel.cfg names."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=_skip_dirs):
        # A plural message is kept under its singular, as catalogues key it.
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, set()).add(filename)
    return found


class _TextFinder(HTMLParser):
    """Text a page shows (and the attributes read aloud) in a template with its Jinja removed."""

    SPOKEN = {"alt", "title", "aria-label", "placeholder"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[int, str]] = []
        self.hidden = 0

    #: not read as words of the page: scripts, and code people type as it is (an HTTP header)
    LITERAL = {"style", "script", "code"}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.hidden += tag in self.LITERAL
        self.found += [(self.getpos()[0], v) for k, v in attrs if k in self.SPOKEN and v]

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.LITERAL

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.found.append((self.getpos()[0], data))


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
#: text that is the same in every language: the product's name
SAME_EVERYWHERE = {"citypair", "— citypair"}


def _bare_text(path: Path) -> list[tuple[int, str]]:
    # Each Jinja tag becomes a NUL, keeping line numbers; what is left is literal text.
    source = JINJA.sub(lambda m: "\0" + "\n" * m.group(0).count("\n"), path.read_text())
    if path.suffix == ".txt":
        found = list(enumerate(source.splitlines(), 1))
    else:
        finder = _TextFinder()
        finder.feed(source)
        found = finder.found
    bare = []
    for line, text in found:
        text = " ".join(text.replace("\0", " ").split())
        # A tag name or attribute cut by a Jinja expression (<h{{ n }}) is markup, not text.
        if re.search(r"[A-Za-z]{2}", text) and text not in SAME_EVERYWHERE \
                and not re.search(r'^<\w*$|="', text):
            bare.append((line, text))
    return bare


def test_translated_templates_have_no_text_outside_gettext():
    with (ROOT / "babel.cfg").open() as fh:
        method_map, _ = parse_mapping_cfg(fh)
    patterns = [p for p, method in method_map if method == "jinja2"]
    templates = [p for p in (ROOT / "templates").rglob("*")
                 if p.suffix in {".html", ".txt"}
                 and any(pathmatch(pat, p.relative_to(ROOT).as_posix()) for pat in patterns)]
    assert len(templates) > 100
    bare = [f"{p.relative_to(ROOT)}:{line}: {text!r}"
            for p in templates for line, text in _bare_text(p)]
    assert not bare, "wrap these in {{ _('…') }}:\n" + "\n".join(bare)


def _catalogue(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def test_every_offered_language_but_english_ships_a_catalogue(tmp_path):
    cfg = load_config({"INSTANCE_DIR": str(tmp_path)})
    offered = set(cfg["LANGUAGES"]) - {cfg["BABEL_DEFAULT_LOCALE"]}
    assert offered == set(SHIPPED) == {"fr", "es", "pt"}


def test_extraction_reaches_the_pages_python_and_e_mails(extracted):
    sources = {f for files in extracted.values() for f in files}
    # A wrongly scoped babel.cfg would silently make the completeness test pass.
    assert any(f.startswith("templates/emails/") and f.endswith(".txt") for f in sources)
    assert any(f.startswith("templates/public/") for f in sources)
    assert any(f.startswith("templates/applicant/") for f in sources)
    assert any(f.startswith("webapp/") and f.endswith(".py") for f in sources)
    assert "Sign in" in extracted and "Enter your e-mail address." in extracted
    # The coordination unit's back office is translated like the rest ...
    for folder in ("coordinator", "pairing", "notifications", "tokens", "agreements", "calls",
                   "staff", "vocabulary", "wording", "privacy"):
        assert any(f.startswith(f"templates/{folder}/") for f in sources), folder
    for module in ("calls", "staff", "vocabulary", "emails", "pairing", "coordinator"):
        assert any(f.startswith(f"webapp/{module}/") for f in sources), module
    assert "Filter cases" in extracted and "Workflows" in extracted
    # ... but the signed legal documents keep their one authoritative, English text.
    assert not any(f.startswith("templates/documents/") for f in sources)


@pytest.mark.parametrize("lang", SHIPPED)
def test_catalogue_translates_every_extracted_string(lang, extracted):
    cat = _catalogue(lang)
    problems = []
    for msgid, files in sorted(extracted.items()):
        where = ", ".join(sorted(files))
        msg = cat.get(msgid)
        if msg is None:
            problems.append(f"missing: {msgid!r} ({where})")
        elif not all(msg.string if isinstance(msg.string, tuple) else (msg.string,)):
            problems.append(f"empty: {msgid!r} ({where})")
        elif msg.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
    assert not problems, (f"{len(problems)} untranslated strings in {lang}; run `make "
                          "translations` and translate them:\n" + "\n".join(problems))


@pytest.mark.parametrize("lang", SHIPPED)
def test_every_translated_string_is_still_extracted(lang, extracted):
    # `make translations` drops what extraction no longer finds: a source babel.cfg stops
    # naming (a module become a package) would lose its translations on the next update.
    lost = sorted(m.id if isinstance(m.id, str) else m.id[0]
                  for m in _catalogue(lang) if m.id and
                  (m.id if isinstance(m.id, str) else m.id[0]) not in extracted)
    assert not lost, f"{len(lost)} strings of {lang} that babel.cfg no longer reaches: {lost}"


@pytest.mark.parametrize("lang", SHIPPED)
def test_translations_keep_the_placeholders(lang):
    problems = []
    for msg in _catalogue(lang):
        if not msg.id or not msg.string:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for text in strings:
            if text and sorted(set(PLACEHOLDER.findall(text))) != wanted:
                problems.append(f"{msg.id!r} -> {text!r}")
            # The e-mail wording's own tags ({% if overdue %}), shown to administrators as
            # they type them, stay as they are; they come from Python, never formatted with %.
            if text and sorted(JINJA_TAG.findall(text)) != sorted(JINJA_TAG.findall(ids[-1])):
                problems.append(f"{msg.id!r} -> {text!r} (its {{% %}} tags)")
            # Jinja formats every translated string with %, so a lone % would break the page.
            if text and "%" in PLACEHOLDER.sub("", JINJA_TAG.sub("", text)):
                problems.append(f"stray %: {text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", SHIPPED)
def test_catalogue_is_valid_and_compiles(lang):
    cat = _catalogue(lang)
    errors = [(m.id, err) for m, errs in cat.check() for err in errs]
    assert not errors
    out = io.BytesIO()
    write_mo(out, cat)
    assert len(out.getvalue()) > 10_000
