// One's own address, to give to a friend so that their node can reach
// this one (peerchat --bootstrap ADDRESS), with a button that copies it.
// GET /v1/node lists the node's addresses, each with its peer ID. An
// address through a relay (/p2p-circuit) works from anywhere the relay
// does, so it is the one to give when there is one; otherwise the node's
// listen addresses are all there is, and a non-loopback one is the best
// guess of which one a friend can reach.

import { state } from "../lib/state.js";
import { $ } from "../lib/util.js";

// bestAddresses orders addrs by how likely another machine reaches them.
export function bestAddresses(addrs) {
  const rank = (a) => (a.includes("/p2p-circuit") ? 0 : /\/ip[46]\/(127\.|::1\/)/.test(a) ? 2 : 1);
  return [...addrs].sort((a, b) => rank(a) - rank(b));
}

// renderAddress shows the best of the node's addresses, and all of them
// under "All addresses".
export function renderAddress() {
  const addrs = bestAddresses(state.me?.addrs || []);
  $("address").hidden = addrs.length === 0;
  if (addrs.length === 0) return;
  const relayed = addrs[0].includes("/p2p-circuit");
  $("address-hint").textContent = relayed
    ? "Through a relay: give it to a friend to connect from anywhere."
    : "No relay address yet: this is where your node listens.";
  $("address-text").textContent = addrs[0];
  const list = $("address-list");
  list.replaceChildren(...addrs.map((a) => {
    const li = document.createElement("li");
    li.textContent = a;
    return li;
  }));
  $("address-more").hidden = addrs.length < 2;
}

let copiedTimer = null;

// copy writes the address to the clipboard. navigator.clipboard needs a
// secure context, which a page on 127.0.0.1 or localhost is; on another
// host name the text is selected and copied the old way.
async function copy() {
  const text = $("address-text").textContent;
  const button = $("copy-address");
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    const range = document.createRange();
    range.selectNodeContents($("address-text"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = document.execCommand("copy") ? "Copied" : "Press Ctrl+C";
  }
  clearTimeout(copiedTimer);
  copiedTimer = setTimeout(() => (button.textContent = "Copy"), 3000);
}

export function bindAddress() {
  $("copy-address").addEventListener("click", () => copy());
}
