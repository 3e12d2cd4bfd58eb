"""The style sheet and script inlined into every HTML report (written for netpolscan, no library).

They are part of netpolscan and under its license (Apache-2.0). The script makes the filter buttons
hide the table rows that do not match (within a dimension the chosen values are alternatives, across
dimensions all must hold), keeps the choice in the URL hash (``#level=error&namespace=a,b``, read on
load), applies the namespace filter to the graph too (the edges of other namespaces are hidden) and
highlights the edges of a graph node when it is clicked.
"""

from __future__ import annotations

LICENSE_NOTE = "netpolscan report: style and script written for netpolscan, Apache-2.0"

STYLE = """
:root { --fg: #1d2330; --muted: #5b6474; --line: #d5dae3; --bg: #f6f7f9;
  --error: #c62828; --warning: #b26a00; --note: #1565c0; --ok: #2e7d32; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header { padding: 16px 24px; background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 20px; }
header p { margin: 4px 0 0; color: #c8cfdb; }
main { padding: 8px 24px 32px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 16px 0;
  padding: 12px 16px; }
h2 { font-size: 16px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; position: sticky; top: 0; }
td.msg { max-width: 60ch; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; }
.level-error { background: var(--error); } .level-warning { background: var(--warning); }
.level-note { background: var(--note); }
.kind-added { background: var(--ok); } .kind-removed { background: var(--error); }
.kind-changed { background: #8e24aa; } .kind-unchanged { background: #888; }
.filters { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 8px 0; }
.filters .group { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; max-height: 96px;
  overflow: auto; }
.filters .dim { color: var(--muted); font-weight: 600; margin-right: 4px; }
button.filter, button.clear { border: 1px solid var(--line); background: #fff; border-radius: 12px;
  padding: 1px 10px; cursor: pointer; font: inherit; font-size: 12px; }
button.filter[aria-pressed="true"] { background: #1d2330; color: #fff; border-color: #1d2330; }
.count { color: var(--muted); }
.matrix td.cell { text-align: center; font-weight: 600; }
.deny-all { background: #e3f2e5; color: var(--ok); } .deny-some { background: #fff4e0; color: var(--warning); }
.deny-none { background: #fde7e7; color: var(--error); } .deny-empty { color: var(--muted); }
.scroll { overflow: auto; max-height: 80vh; border: 1px solid var(--line); }
.scroll.short { max-height: 40vh; width: fit-content; max-width: 100%; }
.matrix th, .matrix td { padding: 2px 14px; }
.nowrap { white-space: nowrap; }
.graph-wrap { overflow: auto; max-height: 90vh; border: 1px solid var(--line); background: #fbfcfd; }
svg.graph { display: block; font-family: system-ui, sans-serif; }
svg.graph .ns rect { fill: #eef3fb; stroke: #9fb3d1; }
svg.graph .ns.outside rect { fill: #fdf1e6; stroke: #d9a36a; }
svg.graph .ns text { font-size: 12px; font-weight: 600; fill: #24416b; }
svg.graph .node rect { fill: #fff; stroke: #4a6fa5; cursor: pointer; }
svg.graph .node.external rect { stroke: #c25e00; fill: #fff8f0; }
svg.graph .node text { font-size: 11px; fill: #1d2330; pointer-events: none; }
svg.graph .edge path { fill: none; stroke-width: 1.2; }
svg.graph .edge text { font-size: 9px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.graph .edge.allowed path { stroke: #6d83a8; } svg.graph .edge.allowed text { fill: #34507d; }
svg.graph .edge.added path { stroke: #2e7d32; stroke-width: 2; } svg.graph .edge.added text { fill: #2e7d32; }
svg.graph .edge.removed path { stroke: #c62828; stroke-width: 2; stroke-dasharray: 5 3; }
svg.graph .edge.removed text { fill: #c62828; }
svg.graph .edge.changed path { stroke: #8e24aa; stroke-width: 2; } svg.graph .edge.changed text { fill: #8e24aa; }
svg.graph .edge.unchanged path { stroke: #b8bec9; } svg.graph .edge.unchanged text { fill: #8a919c; }
svg.graph .edge.off { display: none; }
svg.graph .node.off, svg.graph .ns.off { opacity: 0.3; }
svg.graph.focus .edge:not(.hl) { opacity: 0.06; }
svg.graph.focus .node:not(.hl) { opacity: 0.35; }
svg.graph .node.hl rect { stroke-width: 2.5; }
.legend span { margin-right: 14px; }
footer { color: var(--muted); font-size: 12px; padding: 0 24px 24px; }
"""

SCRIPT = """
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  var buttons = Array.prototype.slice.call(document.querySelectorAll("button.filter"));
  var graphParts = Array.prototype.slice.call(document.querySelectorAll("svg.graph g[data-namespace]"));
  var state = {};

  function readHash() {
    state = {};
    var text = window.location.hash.replace(/^#/, "");
    text.split("&").forEach(function (part) {
      var eq = part.indexOf("=");
      if (eq <= 0) { return; }
      var dim = decodeURIComponent(part.slice(0, eq));
      var values = part.slice(eq + 1).split(",").filter(Boolean).map(decodeURIComponent);
      if (values.length) { state[dim] = values; }
    });
  }

  function writeHash() {
    var parts = Object.keys(state).sort().filter(function (dim) { return state[dim].length; })
      .map(function (dim) {
        return encodeURIComponent(dim) + "=" + state[dim].map(encodeURIComponent).join(",");
      });
    var url = parts.length ? "#" + parts.join("&") : window.location.pathname + window.location.search;
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", url); }
  }

  function matches(row) {
    return Object.keys(state).every(function (dim) {
      var wanted = state[dim];
      if (!wanted.length) { return true; }
      var have = (row.getAttribute("data-" + dim) || "").split("|");
      return have.some(function (value) { return wanted.indexOf(value) >= 0; });
    });
  }

  function apply() {
    var shown = 0;
    rows.forEach(function (row) {
      var ok = matches(row);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    buttons.forEach(function (button) {
      var values = state[button.getAttribute("data-dim")] || [];
      button.setAttribute("aria-pressed", values.indexOf(button.getAttribute("data-value")) >= 0);
    });
    var namespaces = state.namespace || [];
    graphParts.forEach(function (part) {
      var have = (part.getAttribute("data-namespace") || "").split("|");
      var on = !namespaces.length || have.some(function (value) { return namespaces.indexOf(value) >= 0; });
      part.classList.toggle("off", !on);
    });
    var count = document.getElementById("shown-count");
    if (count) { count.textContent = String(shown); }
    document.body.setAttribute("data-filtered", Object.keys(state).length ? "yes" : "no");
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      var dim = button.getAttribute("data-dim");
      var value = button.getAttribute("data-value");
      var values = state[dim] || [];
      var at = values.indexOf(value);
      if (at >= 0) { values.splice(at, 1); } else { values.push(value); }
      if (values.length) { state[dim] = values; } else { delete state[dim]; }
      writeHash();
      apply();
    });
  });
  Array.prototype.slice.call(document.querySelectorAll("button.clear")).forEach(function (button) {
    button.addEventListener("click", function () { state = {}; writeHash(); apply(); });
  });
  window.addEventListener("hashchange", function () { readHash(); apply(); });

  Array.prototype.slice.call(document.querySelectorAll("svg.graph")).forEach(function (svg) {
    var edges = Array.prototype.slice.call(svg.querySelectorAll("g.edge"));
    var focused = null;
    svg.addEventListener("click", function (event) {
      var node = event.target.closest ? event.target.closest("g.node") : null;
      Array.prototype.slice.call(svg.querySelectorAll(".hl")).forEach(function (el) {
        el.classList.remove("hl");
      });
      var id = node ? node.getAttribute("data-node") : null;
      if (!id || id === focused) { focused = null; svg.classList.remove("focus"); return; }
      focused = id;
      svg.classList.add("focus");
      node.classList.add("hl");
      edges.forEach(function (edge) {
        var src = edge.getAttribute("data-src"), dst = edge.getAttribute("data-dst");
        if (src === id || dst === id) {
          edge.classList.add("hl");
          var other = svg.querySelector('g.node[data-node="' + (src === id ? dst : src) + '"]');
          if (other) { other.classList.add("hl"); }
        }
      });
    });
  });

  readHash();
  apply();
})();
"""
