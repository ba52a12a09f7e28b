// The rooms list in the sidebar, with unread counts.

import { api } from "../lib/api.js";
import { bdi } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $, debounce } from "../lib/util.js";

export async function loadRooms() {
  const data = await api("GET", "/v1/rooms");
  state.rooms = new Map(data.rooms.map((r) => [r.room, r]));
  renderRooms();
}

export const refreshRoomsSoon = debounce(() => loadRooms().catch(() => {}), 250);

// firstRoom is the room to open when none is asked for.
export function firstRoom() {
  return [...state.rooms.keys()].sort()[0];
}

// renderRooms draws the list; views/room.js handles the clicks.
export function renderRooms() {
  const ul = $("rooms");
  ul.replaceChildren();
  let unread = 0;
  for (const r of state.rooms.values()) unread += r.unread || 0;
  document.title = unread > 0 ? `(${unread}) peerchat` : "peerchat";
  const names = [...state.rooms.keys()].sort();
  for (const name of names) {
    const r = state.rooms.get(name);
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "room";
    b.dataset.testid = "room";
    b.dataset.room = name;
    if (name === state.room) b.setAttribute("aria-current", "true");
    const n = document.createElement("span");
    n.className = "room-name";
    n.append("# ", bdi(name));
    b.append(n);
    if (r.unread > 0 && name !== state.room) {
      const u = document.createElement("span");
      u.className = "unread";
      u.dataset.testid = "unread";
      u.textContent = r.unread > 99 ? "99+" : String(r.unread);
      u.title = `${r.unread} unread`;
      b.append(u);
    }
    b.title = `${r.peers} peer${r.peers === 1 ? "" : "s"} connected in this room`;
    li.append(b);
    ul.append(li);
  }
}
