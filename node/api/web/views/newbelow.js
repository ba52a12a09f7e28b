// The "new messages below" cue: when the user has scrolled up to read
// older messages, a message that arrives at the end does not move the
// list (that would lose their place), so a button at the bottom of the
// list says how many arrived, and takes them there.

import { $ } from "../lib/util.js";
import { atBottom, scrollToBottom } from "./messages.js";

let unseen = 0;

// noteNewBelow counts n messages added below the visible part of the list.
export function noteNewBelow(n) {
  unseen += n;
  const b = $("new-below");
  b.textContent = unseen === 1 ? "1 new message below ↓" : `${unseen} new messages below ↓`;
  b.hidden = false;
}

// clearNewBelow hides the cue: the user is at the end, or in another room.
export function clearNewBelow() {
  unseen = 0;
  $("new-below").hidden = true;
}

export function bindNewBelow() {
  $("new-below").addEventListener("click", () => {
    scrollToBottom();
    clearNewBelow();
    $("messages").focus({ preventScroll: true });
  });
  $("messages").addEventListener("scroll", () => {
    if (unseen > 0 && atBottom()) clearNewBelow();
  }, { passive: true });
}
