// On a phone the sidebar and the members panel are drawers over the chat
// (below 680 px and 980 px wide, as style.css lays them out). A closed
// drawer is off screen, and also inert: Tab does not walk into it and a
// screen reader does not read it. An open one takes the focus; Escape, the
// scrim or its button close it, and the focus goes back to the button.
// Each button says whether its drawer is open (aria-expanded).

import { $ } from "../lib/util.js";

const DRAWERS = [
  { cls: "show-sidebar", panel: "sidebar", button: "toggle-sidebar", media: matchMedia("(max-width: 680px)") },
  { cls: "show-members", panel: "members-panel", button: "toggle-members", media: matchMedia("(max-width: 980px)") },
];

// sync makes each panel inert when it is a closed drawer, and each button
// tell its drawer's state.
function sync() {
  for (const d of DRAWERS) {
    const open = document.body.classList.contains(d.cls);
    $(d.panel).inert = d.media.matches && !open;
    $(d.button).setAttribute("aria-expanded", String(open));
  }
}

// closeDrawers closes any open drawer; the focus goes back to its button
// when it was inside.
export function closeDrawers() {
  for (const d of DRAWERS) {
    if (!document.body.classList.contains(d.cls)) continue;
    document.body.classList.remove(d.cls);
    if ($(d.panel).contains(document.activeElement) && d.media.matches) {
      sync();
      $(d.button).focus();
    }
  }
  $("scrim").hidden = true;
  sync();
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
