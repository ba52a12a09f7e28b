// Small helpers every module uses: DOM lookup, timing and IDs.

export const $ = (id) => document.getElementById(id);
export const enc = encodeURIComponent;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// backoff is the wait before retry n: exponential up to 10 s, with jitter so
// that many pages do not retry in step.
export const backoff = (n) => Math.min(10000, 500 * 2 ** Math.min(n, 5)) * (0.8 + Math.random() * 0.4);

// newID makes a client_msg_id. crypto.randomUUID needs a secure context;
// getRandomValues works everywhere.
export function newID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// roomInHash is the room the address's #fragment names, or "" when it
// names none or is malformed (a lone % makes decodeURIComponent throw).
export function roomInHash() {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return "";
  }
}

// debounce returns fn delayed until calls stop for ms.
export function debounce(fn, ms) {
  let t = null;
  return () => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}
