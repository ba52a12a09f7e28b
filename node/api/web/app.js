// peerchat web UI. Plain JavaScript modules, no build step, no
// dependencies: the node serves these files as they are, embedded in its
// binary, so the UI works with no internet.
//
// It talks to the node's local API on the same origin. The sign-in link
// the node prints opens auth.html, which exchanges the token for a session
// (lib/session.js) that authorizes every fetch, WebSocket and long poll. Live updates come from the node's event log: the
// page loads history, then follows the log from the node's last seq
// (lib/stream.js), resuming from the last seq it handled.
//
// This file wires the modules together and starts the page:
//   lib/    the API client, the event stream, the state, and helpers
//   views/  one module per part of the screen

import { api, whenUnauthorized } from "./lib/api.js";
import { handleEvent } from "./lib/events.js";
import { isolate, shortID } from "./lib/format.js";
import { setPresence } from "./lib/presence.js";
import { maybeMarkRead } from "./lib/read.js";
import { state } from "./lib/state.js";
import { configureStream, conn, setConn, startWebSocket } from "./lib/stream.js";
import { $, backoff, roomInHash, sleep } from "./lib/util.js";
import { bindSignOut, renderBanner, showSignIn } from "./views/banner.js";
import { bindComposer } from "./views/composer.js";
import { bindDrawers } from "./views/drawers.js";
import { loadPeers, refreshPeersSoon } from "./views/peers.js";
import { loadMembers, renderMembers } from "./views/members.js";
import { bindRoom, openRoom, showNoRoom } from "./views/room.js";
import { firstRoom, loadRooms, refreshRoomsSoon } from "./views/rooms.js";

// onReconnected refreshes what has no events of its own (the peer list),
// and what a failed start may have left empty.
function onReconnected() {
  refreshPeersSoon();
  refreshRoomsSoon();
  if (!state.room) {
    loadRooms()
      .then(() => {
        const first = firstRoom();
        if (first && !state.room) return openRoom(first);
      })
      .catch(() => {});
  }
}

// resync reloads everything after the event log lost our place.
async function resync() {
  const node = await api("GET", "/v1/node");
  state.seq = node.last_seq || 0;
  await loadRooms();
  if (state.room) await openRoom(state.room);
}

function bind() {
  whenUnauthorized(showSignIn);
  configureStream({
    handle: handleEvent,
    resync,
    onState(s, transport, was) {
      if (s === "connected" && (was === "reconnecting" || was === "offline")) onReconnected();
      renderBanner(s, transport);
    },
  });
  bindComposer();
  bindRoom();
  bindDrawers();
  bindSignOut();
  document.addEventListener("visibilitychange", () => {
    setPresence();
    maybeMarkRead();
  });
  window.addEventListener("focus", maybeMarkRead);
  window.addEventListener("online", () => {
    if (conn.state !== "connected" && !state.signedOut) startWebSocket();
  });
  setInterval(() => {
    if (state.signedOut) return;
    // Peers have no events of their own, and a member's arrival may have
    // none either: reload both now and then ("last seen" times too).
    loadPeers().catch(() => {});
    loadMembers().catch(() => renderMembers());
  }, 15000);
}

async function boot() {
  let node;
  for (let attempt = 0; ; attempt++) {
    try {
      node = await api("GET", "/v1/node");
      break;
    } catch (err) {
      if (state.signedOut) return;
      setConn(attempt >= 2 ? "offline" : "reconnecting", "");
      await sleep(backoff(attempt));
    }
  }
  state.me = node;
  state.seq = node.last_seq || 0;
  isolate($("me-name")).textContent = node.name || shortID(node.peer_id);
  $("me-name").title = node.peer_id;
  $("app").hidden = false;
  try {
    await loadRooms();
    const wanted = roomInHash();
    const first = state.rooms.has(wanted) ? wanted : firstRoom();
    if (first) await openRoom(first);
    else showNoRoom();
  } catch (err) {
    if (state.signedOut) return;
    // The stream's resync will load them when the node answers again.
  }
  loadPeers().catch(() => {});
  setPresence();
  startWebSocket();
}

bind();
boot();
