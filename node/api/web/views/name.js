// One's own display name, shown at the top of the sidebar; a click on it
// opens a form to change it (PUT /v1/name). The node checks the name (1 to
// 64 characters, no control characters) and says why it refuses one; it
// keeps the name for its next start and announces it to the rooms at once.

import { api } from "../lib/api.js";
import { isolate, shortID } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $ } from "../lib/util.js";

// renderMe shows the name the node uses.
export function renderMe() {
  const me = state.me;
  if (!me) return;
  const b = isolate($("me-name"));
  b.textContent = me.name || shortID(me.peer_id);
  b.title = `${me.peer_id}\nChange your display name`;
  // Started with --name: that name comes back at the next start.
  const hint = $("name-hint");
  hint.textContent = me.name_from_config
    ? "This node was started with --name, which wins at its next start: the name set here lasts until then."
    : "";
  hint.hidden = !me.name_from_config;
}

function openForm(open) {
  $("name-form").hidden = !open;
  $("me-name").setAttribute("aria-expanded", String(open));
  $("name-error").hidden = true;
  if (open) {
    $("name-input").value = state.me?.name || "";
    $("name-input").focus();
    $("name-input").select();
  } else {
    $("me-name").focus();
  }
}

async function save() {
  const err = $("name-error");
  err.hidden = true;
  try {
    const res = await api("PUT", "/v1/name", { name: $("name-input").value });
    state.me = { ...state.me, name: res.name, name_from_config: res.name_from_config };
    renderMe();
    openForm(false);
  } catch (e) {
    err.textContent = `Not saved: ${e.message}`;
    err.hidden = false;
  }
}

export function bindName() {
  $("me-name").addEventListener("click", () => openForm($("name-form").hidden));
  $("name-cancel").addEventListener("click", () => openForm(false));
  $("name-form").addEventListener("submit", (e) => {
    e.preventDefault();
    save();
  });
  $("name-form").addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      openForm(false);
    }
  });
}
