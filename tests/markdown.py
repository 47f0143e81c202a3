"""What the Dagster UI shows of a Markdown description (check and asset descriptions are rendered)."""

from __future__ import annotations

import html as htmllib
import re

import markdown_it


def rendered(markdown: str | None) -> str:
    """The text of the rendered HTML."""
    html = markdown_it.MarkdownIt().render(markdown or "")
    return htmllib.unescape(re.sub(r"<[^>]+>", "", html))
