// The composer: writing, sending (with retries that never duplicate),
// the messages still being sent, and the typing signal.

import { api } from "../lib/api.js";
import { isolate } from "../lib/format.js";
import { pendingHere, state } from "../lib/state.js";
import { $, backoff, enc, newID, sleep } from "../lib/util.js";
import { addMessages, scrollToBottom } from "./messages.js";
import { assumeSent, paintTick } from "./ticks.js";

// renderPendingAll redraws the open room's pending messages at the end of
// the list.
export function renderPendingAll() {
  for (const li of document.querySelectorAll("li[data-pending]")) li.remove();
  for (const p of pendingHere()) renderPending(p);
}

function renderPending(p) {
  let li = document.querySelector(`li[data-client-id="${CSS.escape(p.cid)}"]`);
  if (p.room !== state.room) return;
  if (!li) {
    li = document.createElement("li");
    li.className = "msg own pending";
    li.dataset.testid = "message";
    li.dataset.pending = "true";
    li.dataset.own = "true";
    li.dataset.clientId = p.cid;
    $("message-list").append(li);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const text = isolate(document.createElement("span"));
  text.className = "text";
  text.dataset.testid = "message-text";
  text.textContent = p.text;
  const meta = document.createElement("span");
  meta.className = "meta";
  if (p.state === "failed") {
    const err = document.createElement("span");
    err.className = "failed";
    err.textContent = `Not sent: ${p.error}`;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "text-button";
    retry.dataset.testid = "retry";
    retry.textContent = "Retry";
    retry.addEventListener("click", () => {
      p.state = "sending";
      renderPending(p);
      deliver(p);
    });
    const drop = document.createElement("button");
    drop.type = "button";
    drop.className = "text-button";
    drop.textContent = "Discard";
    drop.addEventListener("click", () => {
      state.pending.delete(p.cid);
      li.remove();
    });
    meta.append(err, retry, drop);
  } else {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.dataset.testid = "tick";
    paintTick(tick, { status: "pending" });
    meta.append(tick);
  }
  bubble.append(text, meta);
  li.replaceChildren(bubble);
}

function sendMessage(text) {
  const p = { cid: newID(), room: state.room, text, state: "sending", error: "" };
  state.pending.set(p.cid, p);
  renderPending(p);
  $("empty").hidden = true;
  scrollToBottom();
  deliver(p);
}

// deliver posts a pending message, retrying with the same client_msg_id so
// that a retry after a lost answer never makes a duplicate.
async function deliver(p) {
  for (let attempt = 0; state.pending.get(p.cid) === p && p.state === "sending"; attempt++) {
    try {
      const data = await api("POST", `/v1/rooms/${enc(p.room)}/messages`, { text: p.text, client_msg_id: p.cid });
      confirmPending(p, data.message);
      return;
    } catch (err) {
      if (state.pending.get(p.cid) !== p) return; // the event confirmed it
      if (!err.retry || attempt >= 8) {
        p.state = "failed";
        p.error = err.message;
        renderPending(p);
        return;
      }
      await sleep(backoff(attempt));
    }
  }
}

// confirmPending replaces a pending message with the stored one, whether
// the POST's answer or the event stream brought it first.
export function confirmPending(p, m) {
  if (state.pending.get(p.cid) !== p) return;
  state.pending.delete(p.cid);
  document.querySelector(`li[data-client-id="${CSS.escape(p.cid)}"]`)?.remove();
  assumeSent(m.id);
  if (m.room === state.room) addMessages([m]);
}

// Typing: the node sends at most one signal every 2 s and drops the rest,
// so the page pings at most once a second while there is text, with a
// trailing ping so that a short burst of keys is not lost.
const typingPing = { last: 0, lastInput: 0, timer: null };

function onComposerInput() {
  typingPing.lastInput = Date.now();
  pingTyping();
}

function pingTyping() {
  clearTimeout(typingPing.timer);
  typingPing.timer = null;
  const room = state.room;
  if (!room || !$("text").value.trim()) return; // sent or cleared: no more typing
  const wait = typingPing.last + 1000 - Date.now();
  if (wait > 0) {
    typingPing.timer = setTimeout(pingTyping, wait);
    return;
  }
  typingPing.last = Date.now();
  const inputAt = typingPing.lastInput;
  api("POST", `/v1/rooms/${enc(room)}/typing`)
    .then((r) => {
      // Dropped by the node's rate limit: try again while the user types.
      if (r && !r.sent && Date.now() - inputAt < 3000 && !typingPing.timer) {
        typingPing.timer = setTimeout(pingTyping, 1000);
      }
    })
    .catch(() => {});
}

function autosize() {
  const ta = $("text");
  ta.style.height = "auto";
  ta.style.height = `${Math.min(ta.scrollHeight, 160)}px`;
}

// alertError shows an error under the composer for a few seconds.
export function alertError(err) {
  const el = $("send-error");
  el.textContent = err.message;
  el.hidden = false;
  setTimeout(() => (el.hidden = true), 5000);
}

// bindComposer sends on submit and on Enter (Shift+Enter is a new line).
export function bindComposer() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const ta = $("text");
    const text = ta.value.trim();
    if (!text || !state.room) return;
    ta.value = "";
    autosize();
    clearTimeout(typingPing.timer);
    sendMessage(text);
  });
  const ta = $("text");
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  ta.addEventListener("input", () => {
    autosize();
    onComposerInput();
  });
}
