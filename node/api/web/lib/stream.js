// The event stream: the page follows the node's event log from the last
// seq it handled, over WebSocket first and long polling as the fallback.
// The first long poll after a start or a failure is a plain poll (timeout
// 0), which shows the connection state at once. While on long polling, a
// WebSocket probe runs now and then and takes over once it is open.
//
// The stream knows nothing of views: app.js hands it what to do with an
// event, how to resync when the log lost its place, and where to show the
// connection's state.

import { api } from "./api.js";
import { loadSession } from "./session.js";
import { state } from "./state.js";
import { backoff, sleep } from "./util.js";

const hooks = {
  handle: (ev) => {}, // one event from the log
  resync: async () => {}, // reload everything and set state.seq anew
  onState: (s, transport, was) => {}, // the connection changed
};

// configureStream sets the hooks above.
export function configureStream(h) {
  Object.assign(hooks, h);
}

// conn is the connection's state: connecting, connected, reconnecting,
// offline or signed-out; and its transport: websocket or long-polling.
export const conn = { state: "connecting", transport: "" };

export function setConn(s, transport = conn.transport) {
  const was = conn.state;
  conn.state = s;
  conn.transport = transport;
  hooks.onState(s, transport, was);
}

const stream = {
  gen: 0, // bumps to stop the running transport
  ws: null,
  abort: null, // AbortController of the running long poll
  drops: [], // times of recent WebSocket drops
  wsFailures: 0,
  probeTimer: null,
};

const WS_OPEN_TIMEOUT = 5000;
const WS_PROBE_EVERY = 60000;

// stopStream ends whichever transport runs and returns the new generation.
export function stopStream() {
  stream.gen++;
  if (stream.abort) stream.abort.abort();
  stream.abort = null;
  if (stream.ws) {
    const ws = stream.ws;
    stream.ws = null;
    ws.close();
  }
  clearTimeout(stream.probeTimer);
  return stream.gen;
}

function wsURL() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/v1/events/ws?since=${state.seq}`;
}

// startWebSocket streams events over a WebSocket. A probe runs beside
// long polling and takes over only once it is open.
export function startWebSocket({ probe = false } = {}) {
  if (state.signedOut) return;
  let gen = probe ? null : stopStream();
  if (!probe && conn.state !== "connected") setConn(conn.state === "connecting" ? "connecting" : "reconnecting", "websocket");
  let ws;
  try {
    // A WebSocket cannot carry headers: the session goes as a
    // subprotocol, which the node answers with the plain "peerchat".
    ws = new WebSocket(wsURL(), ["peerchat", `peerchat-session.${loadSession()}`]);
  } catch {
    if (!probe) startPolling();
    return;
  }
  if (!probe) stream.ws = ws;
  let opened = false;
  const openTimer = setTimeout(() => {
    if (!opened) ws.close();
  }, WS_OPEN_TIMEOUT);
  ws.onopen = () => {
    clearTimeout(openTimer);
    if (probe) {
      if (state.signedOut || conn.transport !== "long-polling") {
        ws.close();
        return;
      }
      gen = stopStream(); // ends long polling
      stream.ws = ws;
    } else if (gen !== stream.gen) {
      ws.close();
      return;
    }
    opened = true;
    stream.wsFailures = 0;
    setConn("connected", "websocket");
  };
  ws.onmessage = (e) => {
    if (gen === null || gen !== stream.gen) return;
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch {
      return;
    }
    hooks.handle(ev);
  };
  ws.onclose = (e) => {
    clearTimeout(openTimer);
    if (gen === null) {
      // A failed probe: stay on long polling and try again later.
      if (conn.transport === "long-polling" && !state.signedOut) scheduleProbe();
      return;
    }
    if (gen !== stream.gen) return;
    stream.ws = null;
    if (e.code === 1008 && String(e.reason).includes("gone")) {
      hooks.resync().then(() => startWebSocket(), () => startPolling());
      return;
    }
    if (!opened) {
      // Refused, blocked by a proxy, or the node is down: long polling
      // works through all of these, or tells which one it is.
      startPolling();
      return;
    }
    const now = Date.now();
    stream.drops = stream.drops.filter((t) => now - t < 60000);
    stream.drops.push(now);
    if (stream.drops.length >= 3) {
      startPolling(); // WebSocket keeps dropping
      return;
    }
    setConn("reconnecting", "websocket");
    setTimeout(() => {
      if (gen === stream.gen) startWebSocket();
    }, backoff(stream.drops.length - 1));
  };
}

function scheduleProbe() {
  clearTimeout(stream.probeTimer);
  stream.probeTimer = setTimeout(() => startWebSocket({ probe: true }), WS_PROBE_EVERY);
}

// startPolling follows the event log by long polling until another
// transport takes over.
export async function startPolling() {
  if (state.signedOut) return;
  const gen = stopStream();
  setConn(conn.state === "connected" ? "reconnecting" : conn.state, "long-polling");
  scheduleProbe();
  let failures = 0;
  let ok = false; // the last request succeeded
  while (gen === stream.gen) {
    const ctl = new AbortController();
    stream.abort = ctl;
    const guard = setTimeout(() => ctl.abort(), 40000); // a stuck request
    // The first request after a start or a failure returns at once, to
    // show the connection state; then each one waits for events.
    const timeout = ok ? 25 : 0;
    try {
      const data = await api("GET", `/v1/events?since=${state.seq}&timeout=${timeout}`, undefined, { signal: ctl.signal });
      if (gen !== stream.gen) return;
      failures = 0;
      ok = true;
      setConn("connected", "long-polling");
      for (const ev of data.events) hooks.handle(ev);
    } catch (err) {
      if (gen !== stream.gen || state.signedOut) return;
      if (err.status === 410 || err.status === 400) {
        // The log no longer holds our seq (or the node was reset).
        try {
          await hooks.resync();
          continue;
        } catch {
          // fall through to a retry
        }
      }
      failures++;
      ok = false;
      setConn(failures >= 3 ? "offline" : "reconnecting", "long-polling");
      await sleep(backoff(failures - 1));
    } finally {
      clearTimeout(guard);
    }
  }
}
