"""A package's README: markdown (CommonMark + tables, via markdown-it-py) rendered to HTML that is
safe to put in a page. The markdown parser emits no raw HTML of the author's (``html=False``), and
nh3 (the Ammonia sanitizer) then keeps only an allow-list of tags and attributes, drops every
``on*`` handler, ``style`` and ``<script>``, and keeps links only with http(s), mailto or relative
URLs. Links get ``rel="nofollow noopener"`` (REGISTRY.md "Package pages"). Headings move down two
levels so the page keeps one ``<h1>`` and the README sits under the page's own headings.
"""

from __future__ import annotations

from typing import Any

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

MAX_README_CHARS = 100_000  # Package.readme's limit; longer input is cut before parsing
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
HEADING_SHIFT = 2


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    md.add_render_rule("heading_open", _heading)
    md.add_render_rule("heading_close", _heading)
    return md


def _heading(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    token.tag = f"h{min(int(token.tag[1]) + HEADING_SHIFT, 6)}"
    return str(self.renderToken(tokens, idx, options, env))


_MD = _parser()


def sanitize_html(html: str) -> str:
    """``html`` with only the allow-listed tags, attributes and URL schemes; links made nofollow."""
    return str(
        nh3.clean(
            html,
            tags=TAGS,
            clean_content_tags={"script", "style"},
            attributes=ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="nofollow noopener",
            strip_comments=True,
        )
    )


def render_readme(text: str) -> SafeString:
    """Markdown ``text`` as sanitized HTML, ready for a template."""
    if not text.strip():
        return mark_safe("")
    return mark_safe(sanitize_html(_MD.render(text[:MAX_README_CHARS])))  # noqa: S308 - sanitized
