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
import { setPresence } from "./lib/presence.js";
import { maybeMarkRead } from "./lib/read.js";
import { state } from "./lib/state.js";
import { configureStream, conn, setConn, startWebSocket } from "./lib/stream.js";
import { $, backoff, roomInHash, sleep } from "./lib/util.js";
import { bindAddress, renderAddress } from "./views/address.js";
import { bindSignOut, renderBanner, showSignIn } from "./views/banner.js";
import { bindComposer } from "./views/composer.js";
import { bindDrawers } from "./views/drawers.js";
import { bindJoinOffer } from "./views/joinoffer.js";
import { bindName, renderMe } from "./views/name.js";
import { bindNewBelow } from "./views/newbelow.js";
import { setNodeReachable } from "./views/offline.js";
import { loadPeers, refreshPeersSoon } from "./views/peers.js";
import { loadMembers, renderMembers } from "./views/members.js";
import { outboxSize, resumeOutbox } from "./views/pending.js";
import { bindRoom, followHash, openRoom, showNoRoom } from "./views/room.js";
import { firstRoom, loadRooms, refreshRoomsSoon } from "./views/rooms.js";

// onReconnected refreshes what has no events of its own (the peer list),
// and what a failed start may have left empty.
function onReconnected() {
  refreshPeersSoon();
  refreshRoomsSoon();
  loadMembers().catch(() => {});
  loadMe().catch(() => {});
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

// loadMe reloads what the node says of itself: its addresses change when
// it gets a relay reservation.
async function loadMe() {
  const node = await api("GET", "/v1/node");
  state.me = { ...state.me, ...node };
  renderMe();
  renderAddress();
}

// registerServiceWorker keeps the page's files in the browser (sw.js), so
// that a reload while the node is down still shows the page, which then
// retries by itself instead of leaving the browser's error page.
function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}

function bind() {
  whenUnauthorized(showSignIn);
  configureStream({
    handle: handleEvent,
    resync,
    onState(s, transport, was) {
      if (s === "connected" && (was === "reconnecting" || was === "offline")) onReconnected();
      setNodeReachable(s !== "offline");
      renderBanner(s, transport);
    },
  });
  bindComposer();
  bindRoom();
  bindDrawers();
  bindSignOut();
  bindNewBelow();
  bindAddress();
  bindJoinOffer();
  bindName();
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
    loadMe().catch(() => {});
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
      $("boot-offline").hidden = attempt < 2;
      const waiting = outboxSize();
      $("boot-outbox").hidden = waiting === 0;
      $("boot-outbox").textContent = waiting === 1 ? "1 message waits to be sent." : `${waiting} messages wait to be sent.`;
      await sleep(backoff(attempt));
    }
  }
  $("boot-offline").hidden = true;
  state.me = node;
  renderMe();
  renderAddress();
  state.seq = node.last_seq || 0;
  $("app").hidden = false;
  try {
    await loadRooms();
    const wanted = roomInHash();
    const first = state.rooms.has(wanted) ? wanted : firstRoom();
    if (first) await openRoom(first);
    else showNoRoom();
    if (wanted && !state.rooms.has(wanted)) {
      history.replaceState(null, "", `#${encodeURIComponent(wanted)}`);
      followHash(); // offers to join it
    }
  } catch (err) {
    if (state.signedOut) return;
    // The stream's resync will load them when the node answers again.
  }
  resumeOutbox();
  loadPeers().catch(() => {});
  setPresence();
  startWebSocket();
}

registerServiceWorker();
bind();
boot();
