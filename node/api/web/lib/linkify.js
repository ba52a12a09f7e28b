// Links in message text. A message is someone else's text: it is never
// parsed as HTML. It is cut into text nodes and links that this module
// builds itself, and only three kinds of address become links: http,
// https and mailto. Anything else (javascript:, data:, file:, …) stays
// plain text, so a link can never run code or open a local file.
//
// A "#room" in the text becomes a link to that room of the page itself
// (href="#room"): views/room.js opens it, or offers to join it.

import { enc } from "./util.js";

const SAFE = new Set(["http:", "https:", "mailto:"]);

// Candidates: an address that starts with a safe scheme, or a #room at
// the start of the text or after a space or an opening bracket. Room
// names follow protocol.ValidateRoomName: 1 to 64 of letters, digits,
// '-', '_' and '.'.
const CANDIDATE = /\b(?:https?:\/\/|mailto:)[^\s<>"]+|(?<=^|[\s([{])#[A-Za-z0-9._-]{1,64}(?![A-Za-z0-9_-])/gi;

// TRAILING is punctuation that ends a sentence rather than an address.
const TRAILING = /[.,;:!?'")\]}]+$/;

// safeURL returns the normalized address when it parses and its scheme is
// one of SAFE, or "".
export function safeURL(text) {
  let u;
  try {
    u = new URL(text);
  } catch {
    return "";
  }
  if (!SAFE.has(u.protocol)) return "";
  if (u.protocol !== "mailto:" && !u.hostname) return "";
  return u.href;
}

// trimTrailing drops sentence punctuation from the end of an address,
// but keeps a closing bracket that has its opening one inside it, as in
// https://en.wikipedia.org/wiki/Go_(programming_language).
function trimTrailing(s) {
  let end = s.length;
  while (end > 0) {
    const c = s[end - 1];
    if (!TRAILING.test(c)) break;
    if (c === ")" && count(s.slice(0, end), "(") >= count(s.slice(0, end), ")")) break;
    end--;
  }
  return s.slice(0, end);
}

function count(s, c) {
  return s.split(c).length - 1;
}

// linkify appends text to el as text nodes and links.
export function linkify(el, text) {
  let last = 0;
  for (const m of text.matchAll(CANDIDATE)) {
    let raw = m[0];
    if (raw.startsWith("#")) {
      raw = trimTrailing(raw);
      if (raw.length < 2 || raw === "#." || raw === "#..") continue;
      el.append(text.slice(last, m.index), roomLink(raw.slice(1)));
      last = m.index + raw.length;
      continue;
    }
    raw = trimTrailing(raw);
    const href = safeURL(raw);
    if (!href) continue;
    const a = document.createElement("a");
    a.href = href;
    a.textContent = raw;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.dataset.testid = "link";
    el.append(text.slice(last, m.index), a);
    last = m.index + raw.length;
  }
  el.append(text.slice(last));
}

function roomLink(room) {
  const a = document.createElement("a");
  a.href = `#${enc(room)}`;
  a.textContent = `#${room}`;
  a.className = "room-link";
  a.dataset.testid = "room-link";
  a.dataset.room = room;
  return a;
}
