// The page's only script, served from /ui/live.js (the CSP allows scripts from this origin only and
// no inline ones): it follows /api/v1/watch from the change the page was rendered at (the body's
// data-version; the EventSource resumes with Last-Event-ID after a reconnect) and rewrites a row's
// phase, Ready, reason, message and run cells in place (as text, never HTML); a resource added or
// removed is counted in a notice that offers a reload. Without JavaScript the page refreshes itself instead (<noscript> meta refresh).
export const LIVE_SCRIPT = `"use strict";
(() => {
  if (!("EventSource" in window)) return;
  const rows = new Map();
  for (const tr of document.querySelectorAll("tr[data-key]")) rows.set(tr.getAttribute("data-key"), tr);
  const notice = document.getElementById("live");
  let changes = 0;
  const version = document.body.getAttribute("data-version") || "";
  const source = new EventSource("/api/v1/watch?since=" + encodeURIComponent(version));
  source.onopen = () => { if (notice && changes === 0) notice.textContent = "live"; };
  source.onerror = () => { if (notice) notice.textContent = "live updates paused: reconnecting"; };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const o = event.object;
    const key = o.kind + "/" + o.metadata.namespace + "/" + o.metadata.name;
    const tr = rows.get(key);
    if (tr && event.type !== "DELETED") {
      const s = o.status || {};
      const ready = (s.conditions || []).find((c) => c.type === "Ready") || {};
      const cells = tr.children;
      const set = (i, text) => { if (cells[i]) cells[i].textContent = text == null ? "" : String(text); };
      set(3, s.phase);
      set(4, ready.status || "Unknown");
      set(5, ready.reason);
      set(6, ready.message);
      set(7, s.run && s.run.id);
      tr.className = "phase-" + (s.phase || "none");
      return;
    }
    if (tr || event.type !== "DELETED") {
      changes++;
      if (notice) notice.textContent = changes + " resource(s) added or removed: reload to see them";
    }
  };
})();
`;
