// Whether the user is looking at the node: online while any of its tabs
// in this browser is visible, away when none is. Every tab reports to the
// same node, so a tab that goes to the background must not say "away"
// while another one is in front: before it does, it asks the others over
// a BroadcastChannel (scoped, like storage, to this origin and profile).

import { api } from "./api.js";
import { newID } from "./util.js";

const ASK_WAIT = 500; // ms a hidden tab waits for a visible one to answer

const tab = newID();
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("peerchat-presence") : null;
const waiting = new Map(); // question id → resolve(true) when a visible tab answers

if (channel) {
  channel.onmessage = ({ data }) => {
    if (data?.ask && data.from !== tab && visible()) channel.postMessage({ answer: data.ask });
    if (data?.answer && waiting.has(data.answer)) waiting.get(data.answer)(true);
  };
}

function visible() {
  return document.visibilityState === "visible";
}

// anotherTabVisible asks the other tabs of this node whether one is in
// front, and waits a moment for an answer.
function anotherTabVisible() {
  if (!channel) return Promise.resolve(false);
  const ask = newID();
  return new Promise((resolve) => {
    const done = (v) => {
      waiting.delete(ask);
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => done(false), ASK_WAIT);
    waiting.set(ask, done);
    channel.postMessage({ ask, from: tab });
  });
}

let deciding = 0; // bumps on every visibility change, to drop stale decisions

// setPresence reports online when this tab is visible; when it is not,
// away unless another tab of the node is. document.body.dataset.presence
// shows what this tab last decided ("online", "away", or "other-tab").
export async function setPresence() {
  const run = ++deciding;
  let status = visible() ? "online" : "away";
  if (status === "away" && (await anotherTabVisible())) {
    if (run === deciding) document.body.dataset.presence = "other-tab";
    return; // that tab has said online
  }
  if (run !== deciding) return;
  document.body.dataset.presence = status;
  // Sent every time, not only on a change: another tab may have set
  // something else since this one last spoke.
  api("PUT", "/v1/presence", { status }).catch(() => {});
}
