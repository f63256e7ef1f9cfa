"""Figures as fragments of a self-contained offline page: every report's one way of embedding its charts.

A page carries plotly.js once, gzip-compressed and base64-encoded in the first fragment (1.8 MB instead of plotly's
4.8 MB minified script), with a short loader that inflates it with the browser's own ``DecompressionStream``, runs
it, and then draws each figure. The figures' scripts are plotly's own (``Figure.to_html``), typed so that the browser
holds them until plotly.js is there. The page still needs no network and no other file; it needs a browser with
the Compression Streams API (Chromium 80, Firefox 113, Safari 16.4 and later).
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from functools import cache
from typing import Any

__all__ = ["chart_fragments"]

_HELD = '<script type="text/x-fab2token-chart">'  # the browser does not run a script of this type
_LOADER = """<script>
(async function () {
  const packed = document.getElementById("fab2token-plotly").textContent;
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const plotly = document.createElement("script");
  plotly.textContent = await new Response(inflated).text();
  document.head.appendChild(plotly);
  if (document.readyState === "loading") {
    await new Promise((done) => document.addEventListener("DOMContentLoaded", done));
  }
  for (const held of document.querySelectorAll('script[type="text/x-fab2token-chart"]')) {
    const run = document.createElement("script");
    run.textContent = held.textContent;
    held.replaceWith(run);
  }
})();
</script>"""


@cache
def _packed_plotly() -> str:
    """plotly.js of the installed plotly package, gzip-compressed (fixed header: the same bytes every time) and
    base64-encoded."""
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")


def chart_fragments(figs: Iterable[Any]) -> list[str]:
    """Each plotly figure as an HTML fragment of one self-contained page; the first also carries plotly.js and the
    loader (module docstring). No figures: no fragments and no plotly.js."""
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}).replace("<script>", _HELD)
        for fig in figs
    ]
    if parts:
        packed = f'<script id="fab2token-plotly" type="application/octet-stream">{_packed_plotly()}</script>'
        parts[0] = packed + _LOADER + parts[0]
    return parts
