// The message list of the open room: messages in history order, grouped
// by author and day.

import { clock, dayLabel, isolate, sameDay, shortID } from "../lib/format.js";
import { compareMsgs, isOwn, pendingHere, state } from "../lib/state.js";
import { linkify } from "../lib/linkify.js";
import { $ } from "../lib/util.js";
import { announceMessage } from "./announce.js";
import { fold, isLong } from "./fold.js";
import { clearNewBelow, noteNewBelow } from "./newbelow.js";
import { assumeSent, paintTick } from "./ticks.js";

export function atBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
}

export function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// clearMessages empties the list, for another room.
export function clearMessages() {
  state.msgs = [];
  state.byId.clear();
  $("message-list").replaceChildren();
  clearNewBelow();
}

// addMessages puts messages of the open room in order, skipping those
// already shown. stick true scrolls to the end (a room's history as it
// opens), false keeps the view still (paging back); left out, the
// messages are live ones. Others' live messages that land at the end are
// announced to screen readers, and while the user is scrolled up they
// raise the "new messages below" cue instead of moving the list.
export function addMessages(list, { stick } = {}) {
  const wasAtBottom = atBottom();
  const ul = $("message-list");
  let own = false;
  let below = 0;
  const live = [];
  for (const m of list) {
    if (m.room !== state.room || state.byId.has(m.id)) continue;
    state.byId.set(m.id, m);
    let i = state.msgs.length;
    while (i > 0 && compareMsgs(state.msgs[i - 1], m) > 0) i--;
    state.msgs.splice(i, 0, m);
    const li = renderMessage(m);
    const next = ul.querySelector(`li[data-id="${CSS.escape(state.msgs[i + 1]?.id ?? "")}"]`) ??
      ul.querySelector("li[data-pending]");
    ul.insertBefore(li, next);
    regroup(i);
    regroup(i + 1);
    if (isOwn(m)) own = true;
    else if (i === state.msgs.length - 1) {
      below++;
      live.push(m);
    }
  }
  $("empty").hidden = state.msgs.length > 0 || pendingHere().length > 0;
  if (stick || own || wasAtBottom) scrollToBottom();
  else if (below > 0 && stick === undefined) noteNewBelow(below);
  if (stick === undefined && live.length > 0) announceMessage(live.at(-1));
}

// regroup marks message i as a continuation of its author's previous one,
// or as the first of a new day.
function regroup(i) {
  const m = state.msgs[i];
  if (!m) return;
  const li = document.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
  const prev = state.msgs[i - 1];
  const cont = prev && prev.author === m.author && Date.parse(m.sent_at) - Date.parse(prev.sent_at) < 5 * 60000 &&
    sameDay(prev.sent_at, m.sent_at);
  li?.classList.toggle("cont", Boolean(cont));
  const day = !prev || !sameDay(prev.sent_at, m.sent_at);
  li?.classList.toggle("new-day", day);
  if (li) li.dataset.day = day ? dayLabel(m.sent_at) : "";
}

function renderMessage(m) {
  const own = isOwn(m);
  const li = document.createElement("li");
  li.className = `msg ${own ? "own" : "other"}`;
  li.dataset.testid = "message";
  li.dataset.id = m.id;
  li.dataset.author = m.author;
  li.dataset.own = String(own);
  if (!own) {
    const a = isolate(document.createElement("div"));
    a.className = "author";
    a.textContent = m.author_name || shortID(m.author);
    a.title = m.author;
    li.append(a);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const text = isolate(document.createElement("span"));
  text.className = "text";
  text.dataset.testid = "message-text";
  linkify(text, m.text);
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = document.createElement("time");
  time.dateTime = m.sent_at;
  time.textContent = clock(m.sent_at);
  time.title = new Date(m.sent_at).toLocaleString();
  meta.append(time);
  if (own) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.dataset.testid = "tick";
    assumeSent(m.id);
    paintTick(tick, state.status.get(m.id));
    meta.append(tick);
  }
  bubble.append(text);
  if (isLong(m.text)) bubble.append(fold(text));
  bubble.append(meta);
  li.append(bubble);
  return li;
}
