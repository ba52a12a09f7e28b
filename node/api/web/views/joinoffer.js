// A link to a room this node has not joined (a "#room" in a message, or
// an address with #room) offers to join it: joining is never done behind
// the user's back, since it announces them to the room's members.

import { bdi } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $, enc } from "../lib/util.js";

let offered = "";
let join = async (room) => {}; // set by views/room.js

// whenJoinAccepted sets what accepting an offer does.
export function whenJoinAccepted(fn) {
  join = fn;
}

// offerJoin shows the offer for room.
export function offerJoin(room) {
  offered = room;
  $("join-offer-text").replaceChildren("You have not joined # ", bdi(room), ".");
  $("join-offer-yes").textContent = `Join #${room}`;
  $("join-offer").hidden = false;
  $("join-offer-yes").focus();
}

// dismissJoinOffer hides the offer and puts the open room back in the
// address bar.
export function dismissJoinOffer() {
  offered = "";
  $("join-offer").hidden = true;
  const hash = state.room ? `#${enc(state.room)}` : "";
  if (location.hash !== hash) history.replaceState(null, "", location.pathname + hash);
}

export function bindJoinOffer() {
  $("join-offer-yes").addEventListener("click", async () => {
    const room = offered;
    if (!room) return;
    $("join-offer-yes").disabled = true;
    try {
      await join(room);
      dismissJoinOffer();
    } catch (err) {
      $("join-offer-text").replaceChildren(`Could not join # `, bdi(room), `: ${err.message}`);
    } finally {
      $("join-offer-yes").disabled = false;
    }
  });
  $("join-offer-no").addEventListener("click", dismissJoinOffer);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("join-offer").hidden) dismissJoinOffer();
  });
}
