"""The dashboard's Content-Security-Policy: scripts only from the dashboard itself, plus the page's own inline
scripts by their SHA-256 hashes (plotly's ``to_html`` writes one small ``Plotly.newPlot`` script per chart; a hash
lets exactly those run and nothing injected), no plugins, no framing, forms and fetches only to the dashboard.
Styles may be inline: plotly.js sets them on the elements it draws. Every response that is not a page gets the
strictest policy (``default-src 'none'``)."""

from __future__ import annotations

import base64
import hashlib
import re

__all__ = ["page_policy", "STRICT_POLICY"]

# an inline script: a <script> element without a src attribute, and its text
_INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
STRICT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def page_policy(html: str) -> str:
    """The policy for a page whose HTML is ``html``."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode("utf-8")).digest()).decode("ascii") + "'"
            for m in _INLINE.finditer(html)
        }
    )
    script = " ".join(["'self'", *hashes])
    return (
        f"default-src 'none'; script-src {script}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
