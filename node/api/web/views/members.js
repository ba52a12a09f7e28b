// The members panel of the open room: who is online, away or offline.

import { api } from "../lib/api.js";
import { ago, bdi, shortID } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $, debounce, enc } from "../lib/util.js";
import { applyMemberMarkers } from "./ticks.js";

export async function loadMembers() {
  const room = state.room;
  if (!room) return;
  const data = await api("GET", `/v1/rooms/${enc(room)}/members`);
  if (room !== state.room) return;
  state.members = data.members;
  applyMemberMarkers();
  renderMembers();
}

export const refreshMembersSoon = debounce(() => loadMembers().catch(() => {}), 300);

// onPresence updates a member's status, or reloads the members when the
// peer is not among them yet.
export function onPresence(ev) {
  const mem = state.members.find((m) => m.peer_id === ev.peer_id);
  if (mem) {
    mem.status = ev.status;
    if (ev.last_seen) mem.last_seen = ev.last_seen;
    if (ev.name) mem.name = ev.name;
    renderMembers();
  } else if (state.room && (!state.me || ev.peer_id !== state.me.peer_id)) {
    refreshMembersSoon();
  }
}

export function renderMembers() {
  const ul = $("members");
  ul.replaceChildren();
  const order = { online: 0, away: 1, offline: 2 };
  const list = [...state.members].sort((a, b) => {
    const ma = state.me && a.peer_id === state.me.peer_id ? -1 : order[a.status] ?? 3;
    const mb = state.me && b.peer_id === state.me.peer_id ? -1 : order[b.status] ?? 3;
    return ma - mb || (a.name || "").localeCompare(b.name || "");
  });
  let online = 0;
  for (const m of list) {
    // With one's own node down, nobody's status is known.
    const status = state.nodeDown ? "unknown" : m.status;
    if (status === "online") online++;
    const li = document.createElement("li");
    li.className = "member";
    li.dataset.testid = "member";
    li.dataset.peerId = m.peer_id;
    li.dataset.status = status;
    const dot = document.createElement("span");
    dot.className = `presence ${status}`;
    dot.title = status;
    const who = document.createElement("div");
    who.className = "who";
    const name = document.createElement("span");
    name.className = "name";
    const me = state.me && m.peer_id === state.me.peer_id;
    name.append(bdi(m.name || shortID(m.peer_id)), me ? " (you)" : "");
    name.title = m.peer_id;
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.dataset.testid = "member-status";
    sub.textContent =
      status === "unknown" ? "unknown: your node is not answering"
      : m.status === "online" ? "online"
      : m.status === "away" ? `away${m.last_seen ? ` · seen ${ago(m.last_seen)}` : ""}`
      : m.last_seen ? `last seen ${ago(m.last_seen)}` : "offline";
    who.append(name, sub);
    li.append(dot, who);
    ul.append(li);
  }
  $("member-count").textContent = !state.members.length ? "" : state.nodeDown ? "" : `${online}/${state.members.length} online`;
}
