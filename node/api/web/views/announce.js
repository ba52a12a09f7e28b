// New messages of the open room are announced to screen readers through a
// polite live region (#announcer): read when the reader is idle, never
// interrupting. History that loads (a room opening, paging back) is not
// announced, nor one's own messages: only what arrives live from others.

import { shortID } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $ } from "../lib/util.js";

// An announcement reads at most this many characters of a message.
const SAY_CHARS = 200;

// announceMessage says who wrote what in the open room.
export function announceMessage(m) {
  const chars = [...m.text];
  const text = chars.length > SAY_CHARS ? `${chars.slice(0, SAY_CHARS).join("")}…` : m.text;
  $("announcer").textContent = `${m.author_name || shortID(m.author)} in #${state.room}: ${text}`;
}

// nameMessagePane names the message list after the open room, for the
// reader's landmarks.
export function nameMessagePane() {
  $("messages").setAttribute("aria-label", state.room ? `Messages in #${state.room}` : "Messages");
}
