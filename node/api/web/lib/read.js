// How far the user has read the open room, as the page tells the node.

import { isOwn, state } from "./state.js";
import { api } from "./api.js";
import { enc } from "./util.js";
import { atBottom } from "../views/messages.js";
import { refreshRoomsSoon } from "../views/rooms.js";

// maybeMarkRead marks the open room read up to its newest message of
// another author, when the user can see it: the page is visible and the
// list is scrolled to the bottom.
export function maybeMarkRead() {
  const room = state.room;
  if (!room || document.visibilityState !== "visible" || !atBottom()) return;
  let newest = null;
  for (let i = state.msgs.length - 1; i >= 0; i--) {
    if (!isOwn(state.msgs[i])) {
      newest = state.msgs[i];
      break;
    }
  }
  if (!newest || state.readPosted.get(room) === newest.id) return;
  state.readPosted.set(room, newest.id);
  api("POST", `/v1/rooms/${enc(room)}/read`, { up_to: newest.id })
    .then(refreshRoomsSoon)
    .catch(() => {
      if (state.readPosted.get(room) === newest.id) state.readPosted.delete(room);
    });
}
