// The messages still being sent: shown at the end of the list until the
// node stores them, retried with the same client_msg_id (so a retry after
// a lost answer never makes a duplicate), and given back to the composer
// when the node refuses them for good.

import { api } from "../lib/api.js";
import { isolate } from "../lib/format.js";
import { keepOutbox, keptOutbox } from "../lib/outbox.js";
import { pendingHere, state } from "../lib/state.js";
import { $, backoff, enc, newID, sleep } from "../lib/util.js";
import { addMessages, scrollToBottom } from "./messages.js";
import { assumeSent, paintTick } from "./ticks.js";

let giveBack = (text, err) => false; // set by the composer: takes a refused text back

// whenRefused sets how a text the node refused for good goes back to the
// composer; fn returns false when it cannot take it (the user is already
// writing something else).
export function whenRefused(fn) {
  giveBack = fn;
}

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
    retry.hidden = !p.retry;
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
      keepOutbox(state.pending);
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

export function sendMessage(text) {
  const p = { cid: newID(), room: state.room, text, state: "sending", error: "" };
  state.pending.set(p.cid, p);
  keepOutbox(state.pending);
  renderPending(p);
  $("empty").hidden = true;
  scrollToBottom();
  deliver(p);
}

// resumeOutbox sends again what a previous page of this tab had not sent
// when it was reloaded or closed.
export function resumeOutbox() {
  for (const { cid, room, text } of keptOutbox()) {
    if (state.pending.has(cid)) continue;
    const p = { cid, room, text, state: "sending", error: "" };
    state.pending.set(cid, p);
    renderPending(p);
    deliver(p);
  }
}

// outboxSize is how many messages a previous page left to send.
export function outboxSize() {
  return keptOutbox().length;
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
      if (!err.retry && p.room === state.room && giveBack(p.text, err)) {
        // Sending it again cannot help: back to the composer, to edit.
        state.pending.delete(p.cid);
        keepOutbox(state.pending);
        document.querySelector(`li[data-client-id="${CSS.escape(p.cid)}"]`)?.remove();
        $("empty").hidden = state.msgs.length > 0 || pendingHere().length > 0;
        return;
      }
      // A node that does not answer may be restarting: the message waits
      // for it as long as the page is open. Other retryable errors give up
      // after a few tries, with Retry offered.
      if (!err.retry || (attempt >= 8 && err.code !== "network")) {
        p.state = "failed";
        p.error = err.message;
        p.retry = err.retry; // Retry is offered only when it may work
        keepOutbox(state.pending);
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
  keepOutbox(state.pending);
  document.querySelector(`li[data-client-id="${CSS.escape(p.cid)}"]`)?.remove();
  assumeSent(m.id);
  if (m.room === state.room) addMessages([m]);
}

