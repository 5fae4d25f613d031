"""Checks a page's accessibility basics in the browser: text contrast (WCAG 2.2 AA), a name
for every control, and a visible focus indicator. Run inside the page; no library."""

from __future__ import annotations

from typing import Any

# Contrast of each visible text run against the first opaque background behind it, and the
# controls that have no accessible name (label, aria-label(ledby), title or own text).
_AUDIT = r"""
() => {
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = ({r, g, b}) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const over = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const background = (node) => {
    const layers = [];
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let color = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (!t.textContent.trim()) continue;
    const node = t.parentElement;
    const style = getComputedStyle(node);
    const box = node.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || box.height === 0) continue;
    if (node.closest('[aria-hidden="true"], .skip-link')) continue;
    if (parseFloat(style.opacity) === 0) continue;
    if (node.closest(':disabled, [aria-disabled="true"]')) continue;
    const back = background(node);
    const fore = over(parse(style.color), back);
    const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) low.push(`${ratio.toFixed(2)}: "${t.textContent.trim().slice(0, 40)}" in <${node.tagName.toLowerCase()} class="${node.className}">`);
  }
  const unnamed = [];
  for (const control of document.querySelectorAll('button, input, select, textarea, a[href], [role="button"], [role="tab"], [role="option"]')) {
    if (control.type === 'hidden') continue;
    const box = control.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const labelled = (control.labels && control.labels.length) || control.getAttribute('aria-label') ||
      control.getAttribute('aria-labelledby') || control.getAttribute('title') || control.textContent.trim() ||
      (control.tagName === 'INPUT' && ['submit', 'button'].includes(control.type) && control.value);
    if (!labelled) unnamed.push(control.outerHTML.slice(0, 100));
  }
  return {low, unnamed};
}
"""


def audit(page: Any) -> dict[str, list[str]]:
    """{"low": texts below AA contrast, "unnamed": controls with no accessible name}."""
    found: dict[str, list[str]] = page.evaluate(_AUDIT)
    return found


def focus_is_visible(page: Any) -> bool:
    """Tabs to the first focusable control and checks it draws a focus ring."""
    page.keyboard.press("Tab")
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                 return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""
        )
    )
