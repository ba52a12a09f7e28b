// The browser session with this node. It lives in localStorage, which the
// browser scopes to the origin, port included: a server on another port of
// the same host cannot read it, and never gets it sent, unlike a cookie
// (cookies ignore ports). Two nodes in one browser each keep their own.

const KEY = "peerchat-session";

export function loadSession() {
  try {
    return localStorage.getItem(KEY) || "";
  } catch {
    return ""; // storage turned off: the page asks to sign in
  }
}

export function saveSession(id) {
  localStorage.setItem(KEY, id);
}

export function forgetSession() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}
