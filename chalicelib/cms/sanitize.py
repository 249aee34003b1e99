"""Article bodies come from a rich-text editor and end up in followers' browsers: everything is
cleaned with nh3 (Rust's ammonia, a maintained allow-list sanitizer) before it is stored, and again
before it is shown, so no script, event handler or `javascript:` URL survives either way."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import InvalidInput

# What the console's editor produces, plus the usual article furniture. No `style`, no `class`:
# the public page's stylesheet does the styling, and its CSP refuses inline styles anyway.
TAGS = frozenset(
    {
        "p", "br", "hr", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s", "del", "ins",
        "sub", "sup", "small", "mark", "blockquote", "q", "cite", "code", "pre", "span", "div",
        "ul", "ol", "li", "dl", "dt", "dd", "a", "img", "figure", "figcaption", "table",
        "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "section", "time",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
MAX_BODY_BYTES = 256 * 1024  # DynamoDB items stop at 400 KB; keep room for the other fields


def sanitize_html(html: Any) -> str:
    """Return the allowed part of `html` (a string); raise InvalidInput for anything else."""
    if html is None:
        return ""
    if not isinstance(html, str):
        raise InvalidInput("body_html must be a string")
    import nh3  # imported on first use: keeps the callback's cold start short

    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        clean_content_tags={"script", "style"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    if len(cleaned.encode("utf-8")) > MAX_BODY_BYTES:
        raise InvalidInput(f"body_html must be at most {MAX_BODY_BYTES // 1024} KiB")
    return cleaned
