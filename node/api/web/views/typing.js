// The "is typing…" line under the room's title.

import { bdi, shortID } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $ } from "../lib/util.js";

// onTyping records a typing event of another peer.
export function onTyping(ev) {
  if (state.me && ev.peer_id === state.me.peer_id) return;
  let until = Date.parse(ev.until);
  // The node computes until from its own clock; cap it in case the
  // browser's clock disagrees, so an indicator can never stick.
  until = Math.min(until, Date.now() + 10000);
  let room = state.typing.get(ev.room);
  if (!room) state.typing.set(ev.room, (room = new Map()));
  if (until > Date.now()) room.set(ev.peer_id, { name: ev.name, until });
  else room.delete(ev.peer_id);
  renderTyping();
}

// clearTyping ends a peer's indicator: its message arrived.
export function clearTyping(room, peer) {
  const m = state.typing.get(room);
  if (m && m.delete(peer)) renderTyping();
}

// clip shortens a name for the typing line, so that a long one still
// leaves room for "is typing…".
function clip(name) {
  const chars = [...(name || "")];
  return chars.length > 32 ? `${chars.slice(0, 32).join("")}…` : name;
}

let typingTimer = null;

// renderTyping shows who types in the open room, and redraws itself when
// the first indicator runs out.
export function renderTyping() {
  clearTimeout(typingTimer);
  const el = $("typing");
  const now = Date.now();
  const room = state.typing.get(state.room);
  const names = [];
  let next = Infinity;
  if (room) {
    for (const [peer, t] of room) {
      if (t.until <= now) {
        room.delete(peer);
        continue;
      }
      names.push(clip(t.name) || shortID(peer));
      next = Math.min(next, t.until);
    }
  }
  if (names.length === 0) {
    el.hidden = true;
    el.textContent = "";
    return;
  }
  names.sort();
  if (names.length === 1) el.replaceChildren(bdi(names[0]), " is typing…");
  else if (names.length === 2) el.replaceChildren(bdi(names[0]), " and ", bdi(names[1]), " are typing…");
  else el.replaceChildren(`${names.length} people are typing…`);
  el.hidden = false;
  typingTimer = setTimeout(renderTyping, next - now + 20);
}
