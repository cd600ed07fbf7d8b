"""The browser tests' layout checks: one desktop screen, a page laid out at an exact width, and
the page's layout problems (overlapping plot texts, elements sticking out of their card)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

SCREEN = 900  # px: one screen of a desktop browser
# Layout problems on the page as it is drawn: pairs of plot texts that overlap (axis titles,
# annotations, legends, tick labels of different axes), and elements that stick out of the
# window or of their card (the tables and the heat map scroll inside theirs and are left out).
LAYOUT_PROBLEMS = """
const boxes = [];
for (const plot of document.querySelectorAll('.js-plotly-plot')) {
  const name = plot.id || plot.parentNode.id;
  const pick = (selector, kind) => plot.querySelectorAll(selector).forEach((node) => {
    if (kind !== 'legend' && !node.textContent.trim()) return;
    const r = node.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) boxes.push({ name, kind, node, r, text: node.textContent.trim().slice(0, 30) });
  });
  pick('.infolayer g[class^="g-"][class$="title"] text', 'axis title');
  pick('.infolayer .annotation', 'annotation');
  pick('.legend .bg', 'legend');
  pick('.xaxislayer-above [class$="tick"] text', 'x ticks');
  pick('.yaxislayer-above [class$="tick"] text', 'y ticks');
}
const overlaps = [];
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const a = boxes[i], b = boxes[j];
  if (a.name !== b.name || a.node.contains(b.node) || b.node.contains(a.node)) continue;
  if (a.kind === b.kind && a.kind.endsWith('ticks')) continue;
  const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
  const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
  if (w > 1 && h > 1) overlaps.push(`${a.name}: ${a.kind} "${a.text}" over ${b.kind} "${b.text}"`);
}
const scrollers = [...document.querySelectorAll('.table-wrap, #plot-heat')];
const outside = [];
for (const node of document.querySelectorAll('#sweep *')) {
  if (node instanceof SVGElement || scrollers.some((s) => s.contains(node)) || !node.getClientRects().length) continue;
  const r = node.getBoundingClientRect(), card = node.closest('.card');
  const edge = Math.min(innerWidth, card && card !== node ? card.getBoundingClientRect().right : innerWidth);
  if (r.width > 0 && (r.right > edge + 0.5 || r.left < -0.5)) outside.push(`${node.tagName}.${node.className}`);
}
return { overlaps, outside, overflow: document.documentElement.scrollWidth - innerWidth, boxes: boxes.length };
"""


@contextmanager
def viewport(driver, width: int, height: int = SCREEN) -> Iterator[None]:
    """The page laid out `width` CSS pixels wide (exactly: no window frame to subtract)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def problems(driver) -> dict:
    return driver.execute_script(LAYOUT_PROBLEMS)
