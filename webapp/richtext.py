"""Rich text that staff write for the public (a call's introduction and conditions): a few
harmless tags kept, everything else removed before it is stored and again when shown."""

from __future__ import annotations

import re

import nh3
from markupsafe import Markup

#: what a call's texts may use: paragraphs, emphasis, lists, links and small headings
TAGS = frozenset({"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h3", "h4",
                  "blockquote"})
ATTRIBUTES = {"a": {"href", "title"}}
_BLOCKS = re.compile(r"<(?:p|ul|ol|h3|h4|blockquote)\b", re.IGNORECASE)


def clean(text: str | None) -> str:
    """``text`` with only the allowed tags and attributes, links to http(s) and mailto only.

    Text without paragraphs or lists of its own is laid out as people typed it: a blank line
    starts a new paragraph, a line break stays.
    """
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        return ""
    if not _BLOCKS.search(text):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join(f"<p>{p}</p>".replace("\n", "<br>") for p in paragraphs)
    return nh3.clean(text, tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def render(text: str | None) -> Markup:
    """Stored rich text for a page, cleaned again: what the database holds is never trusted."""
    return Markup(clean(text))  # noqa: S704 — nh3 has removed everything but the allowed tags
