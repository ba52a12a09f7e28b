// On a phone the sidebar and the members panel are drawers over the chat.

import { $ } from "../lib/util.js";

export function closeDrawers() {
  document.body.classList.remove("show-sidebar", "show-members");
  $("scrim").hidden = true;
}

function toggleDrawer(cls) {
  const open = !document.body.classList.contains(cls);
  closeDrawers();
  if (open) {
    document.body.classList.add(cls);
    $("scrim").hidden = false;
  }
}

export function bindDrawers() {
  $("toggle-sidebar").addEventListener("click", () => toggleDrawer("show-sidebar"));
  $("toggle-members").addEventListener("click", () => toggleDrawer("show-members"));
  $("scrim").addEventListener("click", closeDrawers);
}
