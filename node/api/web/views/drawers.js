// On a phone the sidebar and the members panel are drawers over the chat
// (below 680 px and 980 px wide, as style.css lays them out). A closed
// drawer is off screen, and also inert: Tab does not walk into it and a
// screen reader does not read it. An open one takes the focus and keeps it,
// as a dialog does: what is behind the scrim is inert meanwhile. Escape or
// the scrim close it, and the focus goes back to its button. Each button
// says whether its drawer is open (aria-expanded).

import { $ } from "../lib/util.js";

const DRAWERS = [
  { cls: "show-sidebar", panel: "sidebar", button: "toggle-sidebar", media: matchMedia("(max-width: 680px)") },
  { cls: "show-members", panel: "members-panel", button: "toggle-members", media: matchMedia("(max-width: 980px)") },
];

// sync makes each panel inert when it is a closed drawer, everything but
// the open drawer inert while one is open, and each button tell its
// drawer's state.
function sync() {
  const isOpen = (d) => document.body.classList.contains(d.cls);
  const modal = DRAWERS.some((d) => d.media.matches && isOpen(d));
  for (const d of DRAWERS) {
    $(d.panel).inert = !isOpen(d) && (d.media.matches || modal);
    $(d.button).setAttribute("aria-expanded", String(isOpen(d)));
  }
  document.querySelector("main.chat").inert = modal;
}

// closeDrawers closes any open drawer, and gives the focus back to its
// button (the rest of the page was inert while it was open).
export function closeDrawers() {
  const closing = DRAWERS.filter((d) => document.body.classList.contains(d.cls));
  for (const d of closing) document.body.classList.remove(d.cls);
  $("scrim").hidden = true;
  sync();
  const back = closing.find((d) => d.media.matches);
  if (back) $(back.button).focus();
}

function toggleDrawer(d) {
  const open = !document.body.classList.contains(d.cls);
  closeDrawers();
  if (!open) {
    $(d.button).focus();
    return;
  }
  document.body.classList.add(d.cls);
  $("scrim").hidden = false;
  sync();
  const first = $(d.panel).querySelector("button:not([hidden]), input, [href], [tabindex]:not([tabindex='-1'])");
  (first || $(d.panel)).focus();
}

export function bindDrawers() {
  for (const d of DRAWERS) {
    $(d.button).setAttribute("aria-controls", d.panel);
    $(d.button).addEventListener("click", () => toggleDrawer(d));
    d.media.addEventListener("change", sync);
  }
  $("scrim").addEventListener("click", closeDrawers);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && DRAWERS.some((d) => document.body.classList.contains(d.cls))) closeDrawers();
  });
  sync();
}
