"""A coordinator who reads French gets the whole back office in French: on the case list (its
filters unfolded), a case page and the dashboard no interface text is left in English."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from tests.e2e.test_accessibility import cooperating_case
from tests.e2e.test_first_look import waiting_case
from tests.e2e.test_journey import sign_in
from webapp.db import db
from webapp.i18n import LANGUAGE_NAMES
from webapp.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.postgres]

CATALOGUE = "webapp/translations/fr/LC_MESSAGES/messages.po"
#: words the interface shares with its data or that are names, not English: the product, the
#: file formats, the language switcher's names of the languages in themselves
NOT_ENGLISH = {"citypair", "CSV", "Excel (XLSX)", "Message-ID", "Mermaid", "OpenAPI",
               *LANGUAGE_NAMES.values()}
#: every visible text of the page, one text node at a time, and what buttons, links and
#: fields say to people who do not see them
VISIBLE_TEXT = """() => {
  const shown = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length))
    && getComputedStyle(el).visibility !== 'hidden';
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const parent = n.parentElement;
    if (!parent || ['SCRIPT', 'STYLE', 'CODE', 'TEMPLATE'].includes(parent.tagName)) continue;
    if (parent.closest('code, [hidden]') || !shown(parent)) continue;
    const text = n.data.replace(/\\s+/g, ' ').trim();
    if (text) texts.push(text);
  }
  for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], [alt],'
                                             + ' input[type=submit], input[type=button]')) {
    for (const name of ['aria-label', 'placeholder', 'title', 'alt', 'value']) {
      if (name === 'value' && el.tagName !== 'INPUT') continue;
      const value = el.getAttribute(name);
      if (value && value.trim()) texts.push(value.trim());
    }
  }
  for (const option of document.querySelectorAll('option')) texts.push(option.text.trim());
  texts.push(document.title);
  return texts;
}"""


def _english_interface() -> tuple[set[str], list[tuple[str, re.Pattern]]]:
    """The back office's English words, from the French catalogue: every message French
    words otherwise, as a whole text (``Status``) and, for the longer ones, each stretch
    between its placeholders (``Cases whose agreement awaits signatures:``)."""
    with open(CATALOGUE, "rb") as fh:
        catalogue = read_po(fh, locale="fr")
    whole: set[str] = set()
    parts: list[tuple[str, re.Pattern]] = []
    for message in catalogue:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            if english in strings or english.strip() in NOT_ENGLISH:
                continue
            bare = re.sub(r"%\([a-z_]+\)[sd]", "\0", english).replace("%%", "%")
            if "\0" not in bare and len(bare.strip(" .:…")) >= 4:
                whole.add(bare.strip(" :"))
            for stretch in bare.split("\0"):
                stretch = stretch.strip(" ,.:;()")
                # Two words at least, so that a name in the data is not taken for them.
                if len(stretch) >= 10 and len(stretch.split()) >= 2 \
                        and not any(s.strip() == stretch for s in strings):
                    parts.append((stretch, re.compile(
                        r"(?<![\w’'])" + re.escape(stretch) + r"(?![\w’'])")))
    return whole, parts


def _english_on(page, whole, parts, data: set[str]) -> list[str]:
    found = []
    for text in page.evaluate(VISIBLE_TEXT):
        if text in data:
            continue
        if text.strip(" :.") in whole:
            found.append(text)
            continue
        found += [f"{stretch!r} in {text!r}" for stretch, pattern in parts
                  if pattern.search(text)]
    return sorted(set(found))


def test_a_french_coordinator_reads_no_english_in_the_back_office(world, live, pages):
    waiting = waiting_case(world, world.applicant_a)
    paired = cooperating_case(world)
    world.coordinator.locale = "fr"
    db.session.commit()
    # What people typed or chose by name is theirs, in their words: not the interface's.
    data = {world.call.title, world.programme.name, world.partner_city.name,
            waiting.organisation.name, paired.organisation.name,
            # people's names, such as a coordinator called Asia, whom the filters offer
            *db.session.scalars(select(User.name))}
    whole, parts = _english_interface()
    assert "Filter cases" in whole and "Status" in whole and len(parts) > 300

    page = sign_in(pages, world.coordinator.email)
    page.goto("/office/cases")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator(".case-filters__more summary").click()
    assert page.locator(".case-filters__more").get_attribute("open") is not None
    assert page.get_by_role("heading", name="Dossiers", exact=True).is_visible()
    # The longest French column headers still fit the 1,280 px screen, unclipped.
    wrap = page.locator(".table-wrap").first
    box = wrap.bounding_box()
    last = page.get_by_role("columnheader", name="Dernière modification").bounding_box()
    widths = wrap.evaluate("(w) => [w.scrollWidth, w.clientWidth]")
    pages.check(page, "case list in French with its filters")
    english = {"case list": _english_on(page, whole, parts, data)}

    for name, case in (("case awaiting pairing", waiting), ("cooperating case", paired)):
        page.goto(f"/office/cases/{case.id}")
        assert page.locator("h1").is_visible()
        pages.check(page, f"{name} in French")
        # The eligibility verdicts and the guards' refusals are said in French too.
        assert case.eligibility_results and all(r.reason for r in case.eligibility_results)
        english[name] = _english_on(page, whole, parts, data | {case.reference})

    page.goto("/office/dashboard")
    assert page.get_by_role("heading", name="Tableau de bord", exact=True).is_visible()
    pages.check(page, "dashboard in French")
    english["dashboard"] = _english_on(page, whole, parts, data)

    assert not any(english.values()), "\n".join(
        f"{where}: {text}" for where, found in english.items() for text in found)
    assert widths[0] <= widths[1] + 1, widths
    assert last["x"] + last["width"] <= box["x"] + box["width"] + 1, (last, box)
    pages.assert_clean()
