// The connection banner at the top, the sign-in notice that replaces the
// app when the node does not know this browser, and signing out.

import { api } from "../lib/api.js";
import { forgetSession } from "../lib/session.js";
import { state } from "../lib/state.js";
import { setConn, stopStream } from "../lib/stream.js";
import { $ } from "../lib/util.js";

const TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline: the node is not answering. Retrying…",
  "signed-out": "Not signed in",
};

// renderBanner shows the connection's state and transport.
export function renderBanner(s, transport) {
  $("banner").dataset.state = s;
  $("banner-text").textContent = TEXT[s];
  const t = $("transport");
  t.dataset.transport = transport;
  t.textContent = transport === "websocket" ? "WebSocket" : transport === "long-polling" ? "long polling" : "";
}

// showSignIn stops everything and says how to sign in: the page cannot do
// it by itself.
export function showSignIn() {
  if (state.signedOut) return;
  state.signedOut = true;
  forgetSession(); // the node no longer knows it
  stopStream();
  setConn("signed-out", "");
  $("app").hidden = true;
  $("signin").hidden = false;
}

// signOut ends the session on the node, so that it is worth nothing even
// to someone who copied it, then forgets it here.
async function signOut() {
  try {
    await api("DELETE", "/v1/session");
  } catch {
    // Unreachable node: the session is forgotten here all the same, and
    // ends on the node when it expires.
  }
  showSignIn();
}

export function bindSignOut() {
  $("sign-out").addEventListener("click", () => signOut());
}
