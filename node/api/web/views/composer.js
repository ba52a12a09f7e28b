// The composer: writing, the typing signal, and handing a text to
// views/pending.js to send. A text the node cannot take stays here, to be
// edited: one over the length limit is never sent, and one the node
// refuses for good comes back.

import { api } from "../lib/api.js";
import { state } from "../lib/state.js";
import { $, enc } from "../lib/util.js";
import { sendMessage, whenRefused } from "./pending.js";

// MAX_TEXT is the node's limit, in characters (code points).
const MAX_TEXT = 16000;

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

// autosize fits the composer to its text, up to 160 px. Its box sizing
// is border-box, so the height set must count the borders, which
// scrollHeight leaves out: without them an empty composer scrolls.
function autosize() {
  const ta = $("text");
  ta.style.height = "auto";
  const borders = ta.offsetHeight - ta.clientHeight;
  ta.style.height = `${Math.min(ta.scrollHeight + borders, 160)}px`;
}

let errorTimer = null;

// alertError shows an error under the composer for a few seconds.
export function alertError(err) {
  const el = $("send-error");
  el.textContent = err.message;
  el.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => (el.hidden = true), 5000);
}

// showSendError shows why a text was not sent until the user edits it.
function showSendError(message) {
  clearTimeout(errorTimer);
  const el = $("send-error");
  el.textContent = `Not sent: ${message}`;
  el.hidden = false;
}

function takeBack(text, err) {
  const ta = $("text");
  if (ta.value.trim()) return false;
  ta.value = text;
  autosize();
  showSendError(err.message);
  return true;
}

// bindComposer sends on submit and on Enter (Shift+Enter is a new line).
export function bindComposer() {
  whenRefused(takeBack);
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const ta = $("text");
    const text = ta.value.trim();
    if (!text || !state.room) return;
    const length = [...text].length;
    if (length > MAX_TEXT) {
      showSendError(`the message is ${length.toLocaleString("en")} characters; the limit is ${MAX_TEXT.toLocaleString("en")}`);
      return;
    }
    $("send-error").hidden = true;
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
    if (!$("send-error").textContent.startsWith("Not sent")) return;
    $("send-error").hidden = true; // the user edits what was refused
  });
}
