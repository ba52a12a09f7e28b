// The ticks on one's own messages: pending, queued, sent, delivered, read.

import { compareMsgs, isOwn, state } from "../lib/state.js";

const RANK = { pending: 0, queued: 1, sent: 2, delivered: 3, read: 4 };
const TICK = { pending: "◷", queued: "◷", sent: "✓", delivered: "✓✓", read: "✓✓" };
// SAID is what a screen reader reads for each tick.
const SAID = { pending: "Sending", queued: "Queued", sent: "Sent", delivered: "Delivered", read: "Read" };
const TICK_TITLE = {
  pending: "Sending…",
  queued: "Queued: no peer is online; it goes out on the next sync",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
};

// setStatus records a status the node reported. Statuses only move
// forward, except over an assumed one (see assumeSent).
export function setStatus(id, status, counts) {
  if (!(status in RANK)) return;
  const cur = state.status.get(id);
  if (cur && !cur.assumed && RANK[cur.status] > RANK[status]) return;
  const next = { status, delivered: counts?.delivered ?? cur?.delivered, read: counts?.read ?? cur?.read };
  state.status.set(id, next);
  const li = document.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (li) paintTick(li.querySelector("[data-testid=tick]"), next);
}

// assumeSent shows an own message as sent until the node says more (or
// less: "queued" when no peer was there to take it).
export function assumeSent(id) {
  if (!state.status.has(id)) state.status.set(id, { status: "sent", assumed: true });
}

export function paintTick(el, st) {
  if (!el) return;
  el.dataset.status = st.status;
  const glyph = document.createElement("span");
  glyph.className = "glyph";
  glyph.setAttribute("aria-hidden", "true");
  glyph.textContent = TICK[st.status];
  const said = document.createElement("span");
  said.className = "sr-only";
  said.dataset.testid = "tick-text";
  said.textContent = SAID[st.status];
  el.replaceChildren(glyph, said);
  let title = TICK_TITLE[st.status];
  if (st.read > 1 || st.delivered > 1) title += ` (delivered to ${st.delivered ?? 0}, read by ${st.read ?? 0})`;
  el.title = title;
}

// markOwnUpTo raises the status of the own messages at or before id.
export function markOwnUpTo(id, status) {
  const upTo = state.byId.get(id);
  if (!upTo) return;
  for (const m of state.msgs) {
    if (compareMsgs(m, upTo) > 0) break;
    if (isOwn(m)) setStatus(m.id, status);
  }
}

// applyMemberMarkers draws read ticks on loaded own messages from the
// members' read markers.
export function applyMemberMarkers() {
  for (const mem of state.members) {
    if (state.me && mem.peer_id === state.me.peer_id) continue;
    if (mem.read_up_to) markOwnUpTo(mem.read_up_to, "read");
  }
}
