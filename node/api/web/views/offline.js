// The state of one's own node as the page sees it. When the node stops
// answering, what the page shows about others is stale: members are not
// shown online (nobody can say), nor peers connected, and the composer says that what is sent
// now waits in this page and goes out when the node is back (pending.js
// keeps retrying a send that failed for want of the node).

import { state } from "../lib/state.js";
import { $ } from "../lib/util.js";
import { renderMembers } from "./members.js";
import { renderPeers } from "./peers.js";

// setNodeReachable records whether the node answers, and redraws what
// depends on it.
export function setNodeReachable(reachable) {
  if (state.nodeDown === !reachable) return;
  state.nodeDown = !reachable;
  document.body.dataset.node = reachable ? "reachable" : "unreachable";
  const note = $("composer-note");
  note.textContent = reachable ? "" : "Your node is not answering. Messages you send wait here and go out when it is back.";
  note.hidden = reachable;
  renderMembers();
  renderPeers();
}
