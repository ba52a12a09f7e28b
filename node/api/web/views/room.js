// The open room: opening one (its history, members and pending messages),
// paging back, joining and leaving.

import { api } from "../lib/api.js";
import { bdi } from "../lib/format.js";
import { maybeMarkRead } from "../lib/read.js";
import { state } from "../lib/state.js";
import { $, enc, roomInHash } from "../lib/util.js";
import { alertError } from "./composer.js";
import { renderPendingAll } from "./pending.js";
import { nameMessagePane } from "./announce.js";
import { closeDrawers } from "./drawers.js";
import { dismissJoinOffer, offerJoin, whenJoinAccepted } from "./joinoffer.js";
import { renderMembers } from "./members.js";
import { addMessages, clearMessages, scrollToBottom } from "./messages.js";
import { firstRoom, loadRooms, renderRooms } from "./rooms.js";
import { applyMemberMarkers } from "./ticks.js";
import { renderTyping } from "./typing.js";

export async function openRoom(room) {
  const gen = ++state.roomGen;
  state.room = room;
  clearMessages();
  state.more = false;
  state.members = [];
  $("room-title").replaceChildren("# ", bdi(room));
  nameMessagePane();
  $("composer").hidden = false;
  $("leave").hidden = false;
  $("no-room").hidden = true;
  $("empty").hidden = true;
  $("load-older").hidden = true;
  if (location.hash !== `#${enc(room)}`) history.replaceState(null, "", `#${enc(room)}`);
  renderRooms();
  renderTyping();
  renderMembers();
  renderPendingAll();
  const [hist, members] = await Promise.all([
    api("GET", `/v1/rooms/${enc(room)}/messages?limit=50`),
    api("GET", `/v1/rooms/${enc(room)}/members`).catch(() => ({ members: [] })),
  ]);
  if (gen !== state.roomGen) return;
  state.more = hist.more;
  state.members = members.members;
  addMessages(hist.messages, { stick: true });
  applyMemberMarkers();
  renderMembers();
  $("load-older").hidden = !state.more;
  $("empty").hidden = state.msgs.length > 0 || state.pending.size > 0;
  scrollToBottom();
  maybeMarkRead();
}

export function showNoRoom() {
  state.room = null;
  clearMessages();
  state.members = [];
  $("room-title").textContent = "No room";
  nameMessagePane();
  $("composer").hidden = true;
  $("leave").hidden = true;
  $("load-older").hidden = true;
  $("empty").hidden = true;
  $("no-room").hidden = false;
  renderMembers();
  renderTyping();
  history.replaceState(null, "", location.pathname);
}

async function loadOlder() {
  if (!state.room || !state.more || state.loadingOlder || state.msgs.length === 0) return;
  state.loadingOlder = true;
  const gen = state.roomGen;
  const btn = $("load-older");
  btn.disabled = true;
  btn.textContent = "Loading…";
  try {
    const data = await api("GET", `/v1/rooms/${enc(state.room)}/messages?limit=50&before=${enc(state.msgs[0].id)}`);
    if (gen !== state.roomGen) return;
    const box = $("messages");
    const fromBottom = box.scrollHeight - box.scrollTop;
    state.more = data.more;
    addMessages(data.messages, { stick: false });
    applyMemberMarkers();
    box.scrollTop = box.scrollHeight - fromBottom; // keep the view still
  } finally {
    state.loadingOlder = false;
    btn.disabled = false;
    btn.textContent = "Load older messages";
    btn.hidden = !state.more;
  }
}

const ROOM_RULE = "room names are 1 to 64 characters of letters, digits, '-', '_' and '.'";
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

// roomNameProblem says what is wrong with a room name, as a list of
// strings and nodes for the error line (the bad character isolated and
// spelled out, since it may be invisible or a bidi control), or null. It
// counts characters as a reader does, where the node's own message
// counts bytes.
function roomNameProblem(name) {
  const chars = [...graphemes.segment(name)].map((s) => s.segment);
  if (chars.length === 0 || chars.length > 64) return [`${ROOM_RULE}: got ${chars.length} characters`];
  const bad = chars.find((c) => !/^[A-Za-z0-9._-]$/.test(c));
  if (bad) {
    const code = [...bad].map((c) => `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`).join(" ");
    return [`${ROOM_RULE}: '`, bdi(bad), `' (${code}) is not allowed`];
  }
  if (name === "." || name === "..") return [`${ROOM_RULE}: '${name}' is reserved`];
  return null;
}

// joinRoom joins a room and opens it.
export async function joinRoom(name) {
  await api("PUT", `/v1/rooms/${enc(name)}`);
  await loadRooms();
  await openRoom(name);
}

async function leaveRoom() {
  const room = state.room;
  if (!room || !confirm(`Leave #${room}? Its history stays on this node.`)) return;
  await api("DELETE", `/v1/rooms/${enc(room)}`);
  await loadRooms();
  const next = firstRoom();
  if (next) await openRoom(next);
  else showNoRoom();
}

// bindRoom wires the rooms list, the join form, the leave button, paging
// back and the #room in the address.
export function bindRoom() {
  whenJoinAccepted(joinRoom);
  $("rooms").addEventListener("click", (e) => {
    const b = e.target.closest("[data-testid=room]");
    if (!b) return;
    closeDrawers();
    if (b.dataset.room !== state.room) openRoom(b.dataset.room);
  });
  $("join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("join-name");
    const name = input.value.trim().replace(/^#/, "");
    const errEl = $("join-error");
    errEl.hidden = true;
    const problem = roomNameProblem(name);
    if (problem) {
      errEl.replaceChildren(...problem);
      errEl.hidden = false;
      return;
    }
    try {
      await joinRoom(name);
      dismissJoinOffer();
      input.value = "";
      closeDrawers();
    } catch (err) {
      errEl.textContent = err.message;
      errEl.hidden = false;
    }
  });
  $("leave").addEventListener("click", () => leaveRoom().catch((err) => alertError(err)));
  $("load-older").addEventListener("click", () => loadOlder());
  const box = $("messages");
  box.addEventListener("scroll", () => {
    if (box.scrollTop < 80) loadOlder();
    maybeMarkRead();
  }, { passive: true });
  window.addEventListener("hashchange", () => followHash());
}

// followHash opens the room the address names, or offers to join it. A
// name that is no room name at all is ignored. The rooms are reloaded
// first when the name is not among them: another client of the node may
// have joined it.
export async function followHash() {
  const room = roomInHash();
  if (!room || room === state.room) return;
  if (!state.rooms.has(room)) await loadRooms().catch(() => {});
  if (room !== roomInHash()) return; // the address moved on meanwhile
  if (state.rooms.has(room)) {
    dismissJoinOffer();
    openRoom(room);
  } else if (!roomNameProblem(room)) {
    offerJoin(room);
  }
}
