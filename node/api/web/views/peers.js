// The peers list in the sidebar: who this node is connected to, and how.

import { api } from "../lib/api.js";
import { isolate, shortID } from "../lib/format.js";
import { state } from "../lib/state.js";
import { $, debounce } from "../lib/util.js";

export async function loadPeers() {
  const data = await api("GET", "/v1/peers");
  state.peers = data.peers || [];
  renderPeers();
}

// refreshPeersSoon reloads the peers: they have no events of their own.
export const refreshPeersSoon = debounce(() => loadPeers().catch(() => {}), 500);

// renderPeers draws the peers; with one's own node down, none: who it is
// connected to is not known.
export function renderPeers() {
  const ul = $("peers");
  ul.replaceChildren();
  const peers = state.nodeDown ? [] : state.peers;
  for (const p of peers) {
    const li = document.createElement("li");
    li.className = "peer";
    li.dataset.testid = "peer";
    li.dataset.peerId = p.peer_id;
    li.dataset.connection = p.connection;
    const name = isolate(document.createElement("span"));
    name.className = "name";
    name.textContent = p.name || shortID(p.peer_id);
    name.title = [p.peer_id, ...(p.addrs || [])].join("\n");
    const kind = document.createElement("span");
    kind.className = `link ${p.connection}`;
    kind.dataset.testid = "connection-kind";
    kind.textContent = p.connection === "relayed" ? "relayed" : "direct";
    kind.title = p.connection === "relayed"
      ? `Through relay ${p.relay ? shortID(p.relay) : "?"}: it cannot read your messages, but it sees when you talk`
      : "A direct connection";
    li.append(name, kind);
    ul.append(li);
  }
  $("peer-count").textContent = peers.length ? String(peers.length) : "";
  if (peers.length === 0) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = state.nodeDown ? "Unknown: your node is not answering" : "No peers connected";
    ul.append(li);
  }
}
