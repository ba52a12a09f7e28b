// The sign-in page. The node's link carries the API token in the fragment
// (/auth#token=…), which the browser never sends anywhere. This page takes
// it out of the address bar at once, exchanges it for a session
// (POST /auth), keeps the session, and moves on to the UI: the token is
// not kept by the browser, and the session is kept where only this origin
// (this port) can read it.

import { saveSession } from "./lib/session.js";

const status = document.getElementById("auth-status");
const form = document.getElementById("auth-form");

async function signIn(token) {
  status.textContent = "Signing in…";
  let res;
  try {
    res = await fetch("/auth", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    status.textContent = "The node is not answering. Is it running?";
    form.hidden = false;
    return;
  }
  const data = await res.json().catch(() => null);
  if (!res.ok || !data?.session) {
    status.textContent = data?.error?.message || `Sign-in failed (${res.status}).`;
    form.hidden = false;
    return;
  }
  saveSession(data.session);
  location.replace("/");
}

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token");
// Out of the address bar, and out of this page's history entry, before
// anything else happens.
history.replaceState(null, "", location.pathname);
form.addEventListener("submit", (e) => {
  e.preventDefault();
  signIn(document.getElementById("auth-token").value.trim());
});
if (token) signIn(token);
else {
  status.textContent = "Sign in to this node.";
  form.hidden = false;
}
