// The outbox: the messages still being sent, kept in this tab's
// sessionStorage so that a reload (while one's own node is down, say)
// does not lose them. A reloaded page sends them again with their
// client_msg_id, so one that the node had stored before the reload is not
// stored twice: the node answers with the message it has.

const KEY = "peerchat-outbox";

// keepOutbox writes the messages being sent, in the order they were sent.
export function keepOutbox(pending) {
  const list = [...pending.values()].filter((p) => p.state === "sending").map(({ cid, room, text }) => ({ cid, room, text }));
  try {
    if (list.length) sessionStorage.setItem(KEY, JSON.stringify(list));
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage full or turned off: the messages live as long as the page
  }
}

// keptOutbox reads what a previous page of this tab left to send.
export function keptOutbox() {
  try {
    const list = JSON.parse(sessionStorage.getItem(KEY) || "[]");
    return Array.isArray(list) ? list.filter((p) => typeof p?.cid === "string" && typeof p.room === "string" && typeof p.text === "string") : [];
  } catch {
    return [];
  }
}
