// peerchat web UI. Plain JavaScript, no build step, no dependencies.
//
// It talks to the node's local API on the same origin. The sign-in link
// the node prints sets an HttpOnly cookie, which authorizes every fetch,
// WebSocket and long poll. Live updates come from the node's event log: the
// page loads history, then follows the log from the node's last seq, over
// WebSocket or, when that fails, long polling, resuming from the last seq
// it handled.

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// ---------- state ----------

const state = {
  me: null, // {peer_id, name}
  seq: 0, // the last event seq handled
  rooms: new Map(), // room → {room, peers, unread}
  room: null, // the open room
  roomGen: 0, // bumps when another room opens, to drop stale loads
  msgs: [], // messages of the open room, oldest first
  byId: new Map(), // id → message, open room
  more: false, // older messages exist
  loadingOlder: false,
  status: new Map(), // own message id → {status, delivered, read}
  pending: new Map(), // client_msg_id → {cid, room, text, state, error}
  typing: new Map(), // room → Map(peer_id → {name, until})
  members: [],
  peers: [],
  readPosted: new Map(), // room → the newest id marked read
  signedOut: false,
};

// ---------- the API ----------

class APIError extends Error {
  constructor(status, code, message, retry) {
    super(message);
    this.status = status;
    this.code = code;
    this.retry = retry;
  }
}

async function api(method, path, body, { signal } = {}) {
  const init = { method, headers: {}, cache: "no-store", credentials: "same-origin", signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new APIError(0, "network", "the node is not answering", true);
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    if (res.status === 401) showSignIn();
    throw new APIError(res.status, e.code || `http_${res.status}`, e.message || res.statusText, e.retry ?? res.status >= 500);
  }
  return data;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const backoff = (n) => Math.min(10000, 500 * 2 ** Math.min(n, 5)) * (0.8 + Math.random() * 0.4);

// newID makes a client_msg_id. crypto.randomUUID needs a secure context;
// getRandomValues works everywhere.
function newID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// debounce returns fn delayed until calls stop for ms.
function debounce(fn, ms) {
  let t = null;
  return () => {
    clearTimeout(t);
    t = setTimeout(fn, ms);
  };
}

// ---------- the connection banner ----------

const conn = { state: "connecting", transport: "" };

function setConn(s, transport = conn.transport) {
  const was = conn.state;
  conn.state = s;
  if (s === "connected" && (was === "reconnecting" || was === "offline")) onReconnected();
  conn.transport = transport;
  const banner = $("banner");
  banner.dataset.state = s;
  const text = {
    connecting: "Connecting…",
    connected: "Connected",
    reconnecting: "Reconnecting…",
    offline: "Offline: the node is not answering. Retrying…",
    "signed-out": "Not signed in",
  }[s];
  $("banner-text").textContent = text;
  const t = $("transport");
  t.dataset.transport = transport;
  t.textContent = transport === "websocket" ? "WebSocket" : transport === "long-polling" ? "long polling" : "";
}

// onReconnected refreshes what has no events of its own (the peer list),
// and what a failed start may have left empty.
function onReconnected() {
  refreshPeersSoon();
  refreshRoomsSoon();
  if (!state.room) {
    loadRooms()
      .then(() => {
        const first = [...state.rooms.keys()].sort()[0];
        if (first && !state.room) return openRoom(first);
      })
      .catch(() => {});
  }
}

function showSignIn() {
  if (state.signedOut) return;
  state.signedOut = true;
  stopStream();
  setConn("signed-out", "");
  $("app").hidden = true;
  $("signin").hidden = false;
}

// ---------- the event stream: WebSocket first, long polling as fallback ----------

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

function stopStream() {
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
function startWebSocket({ probe = false } = {}) {
  if (state.signedOut) return;
  let gen = probe ? null : stopStream();
  if (!probe && conn.state !== "connected") setConn(conn.state === "connecting" ? "connecting" : "reconnecting", "websocket");
  let ws;
  try {
    ws = new WebSocket(wsURL());
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
    handleEvent(ev);
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
      resync().then(() => startWebSocket(), () => startPolling());
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
async function startPolling() {
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
      for (const ev of data.events) handleEvent(ev);
    } catch (err) {
      if (gen !== stream.gen || state.signedOut) return;
      if (err.status === 410 || err.status === 400) {
        // The log no longer holds our seq (or the node was reset).
        try {
          await resync();
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

// resync reloads everything after the event log lost our place.
async function resync() {
  const node = await api("GET", "/v1/node");
  state.seq = node.last_seq || 0;
  await loadRooms();
  if (state.room) await openRoom(state.room);
}

// ---------- events ----------

function handleEvent(ev) {
  if (typeof ev.seq === "number") {
    if (ev.seq <= state.seq) return; // seen (transports overlap on a switch)
    state.seq = ev.seq;
  }
  switch (ev.type) {
    case "message":
      onMessage(ev.message);
      break;
    case "typing":
      onTyping(ev);
      break;
    case "presence":
      onPresence(ev);
      break;
    case "receipt":
      onReceipt(ev);
      break;
    case "message.status":
      setStatus(ev.id, ev.status, ev);
      break;
  }
}

const refreshRoomsSoon = debounce(() => loadRooms().catch(() => {}), 250);
const refreshMembersSoon = debounce(() => loadMembers().catch(() => {}), 300);
const refreshPeersSoon = debounce(() => loadPeers().catch(() => {}), 500);

function isOwn(m) {
  return state.me && m.author === state.me.peer_id;
}

function onMessage(m) {
  if (!m) return;
  if (isOwn(m)) {
    if (m.client_msg_id && state.pending.has(m.client_msg_id)) confirmPending(state.pending.get(m.client_msg_id), m);
  } else {
    clearTyping(m.room, m.author);
  }
  if (m.room === state.room) addMessages([m]);
  if (!state.rooms.has(m.room) || !isOwn(m)) refreshRoomsSoon();
  maybeMarkRead();
}

function onTyping(ev) {
  if (state.me && ev.peer_id === state.me.peer_id) return;
  let until = Date.parse(ev.until);
  // The node computes until from its own clock; cap it in case the
  // browser's clock disagrees, so an indicator can never stick.
  until = Math.min(until, Date.now() + 10000);
  let room = state.typing.get(ev.room);
  if (!room) state.typing.set(ev.room, (room = new Map()));
  if (until > Date.now()) room.set(ev.peer_id, { name: ev.name, until });
  else room.delete(ev.peer_id);
  renderTyping();
}

function clearTyping(room, peer) {
  const m = state.typing.get(room);
  if (m && m.delete(peer)) renderTyping();
}

function onPresence(ev) {
  const mem = state.members.find((m) => m.peer_id === ev.peer_id);
  if (mem) {
    mem.status = ev.status;
    if (ev.last_seen) mem.last_seen = ev.last_seen;
    if (ev.name) mem.name = ev.name;
    renderMembers();
  } else if (state.room && (!state.me || ev.peer_id !== state.me.peer_id)) {
    refreshMembersSoon();
  }
  refreshPeersSoon();
}

function onReceipt(ev) {
  if (ev.room !== state.room) {
    if (state.me && ev.peer_id === state.me.peer_id) refreshRoomsSoon();
    return;
  }
  const mem = state.members.find((m) => m.peer_id === ev.peer_id);
  if (state.me && ev.peer_id === state.me.peer_id) {
    refreshRoomsSoon(); // read elsewhere: the unread count fell
    return;
  }
  if (ev.kind === "read" && mem) mem.read_up_to = ev.up_to;
  if (!mem) refreshMembersSoon();
  markOwnUpTo(ev.up_to, ev.kind === "read" ? "read" : "delivered");
}

// markOwnUpTo raises the status of the own messages at or before id.
function markOwnUpTo(id, status) {
  const upTo = state.byId.get(id);
  if (!upTo) return;
  for (const m of state.msgs) {
    if (compareMsgs(m, upTo) > 0) break;
    if (isOwn(m)) setStatus(m.id, status);
  }
}

// ---------- ticks ----------

const RANK = { pending: 0, queued: 1, sent: 2, delivered: 3, read: 4 };
const TICK = { pending: "◷", queued: "◷", sent: "✓", delivered: "✓✓", read: "✓✓" };
const TICK_TITLE = {
  pending: "Sending…",
  queued: "Queued: no peer is online; it goes out on the next sync",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
};

// setStatus records a status the node reported. Statuses only move
// forward, except over an assumed one (see assumeSent).
function setStatus(id, status, counts) {
  if (!(status in RANK)) return;
  const cur = state.status.get(id);
  if (cur && !cur.assumed && RANK[cur.status] > RANK[status]) return;
  const next = { status, delivered: counts?.delivered ?? cur?.delivered, read: counts?.read ?? cur?.read };
  state.status.set(id, next);
  const li = document.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  if (li) paintTick(li.querySelector("[data-testid=tick]"), next);
}

// assumeSent shows an own message as sent until the node says more (or
// less: "queued" when no peer was there to take it).
function assumeSent(id) {
  if (!state.status.has(id)) state.status.set(id, { status: "sent", assumed: true });
}

function paintTick(el, st) {
  if (!el) return;
  el.dataset.status = st.status;
  el.textContent = TICK[st.status];
  let title = TICK_TITLE[st.status];
  if (st.read > 1 || st.delivered > 1) title += ` (delivered to ${st.delivered ?? 0}, read by ${st.read ?? 0})`;
  el.title = title;
}

// ---------- rooms ----------

async function loadRooms() {
  const data = await api("GET", "/v1/rooms");
  state.rooms = new Map(data.rooms.map((r) => [r.room, r]));
  renderRooms();
}

function renderRooms() {
  const ul = $("rooms");
  ul.replaceChildren();
  let unread = 0;
  for (const r of state.rooms.values()) unread += r.unread || 0;
  document.title = unread > 0 ? `(${unread}) peerchat` : "peerchat";
  const names = [...state.rooms.keys()].sort();
  for (const name of names) {
    const r = state.rooms.get(name);
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "room";
    b.dataset.testid = "room";
    b.dataset.room = name;
    if (name === state.room) b.setAttribute("aria-current", "true");
    const n = document.createElement("span");
    n.className = "room-name";
    n.textContent = `# ${name}`;
    b.append(n);
    if (r.unread > 0 && name !== state.room) {
      const u = document.createElement("span");
      u.className = "unread";
      u.dataset.testid = "unread";
      u.textContent = r.unread > 99 ? "99+" : String(r.unread);
      u.title = `${r.unread} unread`;
      b.append(u);
    }
    b.title = `${r.peers} peer${r.peers === 1 ? "" : "s"} connected in this room`;
    b.addEventListener("click", () => {
      closeDrawers();
      if (name !== state.room) openRoom(name);
    });
    li.append(b);
    ul.append(li);
  }
}

async function joinRoom(name) {
  await api("PUT", `/v1/rooms/${enc(name)}`);
  await loadRooms();
  await openRoom(name);
}

async function leaveRoom() {
  const room = state.room;
  if (!room || !confirm(`Leave #${room}? Its history stays on this node.`)) return;
  await api("DELETE", `/v1/rooms/${enc(room)}`);
  await loadRooms();
  const next = [...state.rooms.keys()].sort()[0];
  if (next) await openRoom(next);
  else showNoRoom();
}

function showNoRoom() {
  state.room = null;
  state.msgs = [];
  state.byId.clear();
  state.members = [];
  $("message-list").replaceChildren();
  $("room-title").textContent = "No room";
  $("composer").hidden = true;
  $("leave").hidden = true;
  $("load-older").hidden = true;
  $("empty").hidden = true;
  $("no-room").hidden = false;
  renderMembers();
  renderTyping();
  history.replaceState(null, "", location.pathname);
}

// ---------- messages ----------

function compareMsgs(a, b) {
  if (a.lamport !== b.lamport) return a.lamport - b.lamport;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

async function openRoom(room) {
  const gen = ++state.roomGen;
  state.room = room;
  state.msgs = [];
  state.byId.clear();
  state.more = false;
  state.members = [];
  $("message-list").replaceChildren();
  $("room-title").textContent = `# ${room}`;
  $("composer").hidden = false;
  $("leave").hidden = false;
  $("no-room").hidden = true;
  $("empty").hidden = true;
  $("load-older").hidden = true;
  if (location.hash !== `#${enc(room)}`) history.replaceState(null, "", `#${enc(room)}`);
  renderRooms();
  renderTyping();
  renderMembers();
  renderPendingAll();
  const [hist, members] = await Promise.all([
    api("GET", `/v1/rooms/${enc(room)}/messages?limit=50`),
    api("GET", `/v1/rooms/${enc(room)}/members`).catch(() => ({ members: [] })),
  ]);
  if (gen !== state.roomGen) return;
  state.more = hist.more;
  state.members = members.members;
  addMessages(hist.messages, { stick: true });
  applyMemberMarkers();
  renderMembers();
  $("load-older").hidden = !state.more;
  $("empty").hidden = state.msgs.length > 0 || state.pending.size > 0;
  scrollToBottom();
  maybeMarkRead();
}

// applyMemberMarkers draws read ticks on loaded own messages from the
// members' read markers.
function applyMemberMarkers() {
  for (const mem of state.members) {
    if (state.me && mem.peer_id === state.me.peer_id) continue;
    if (mem.read_up_to) markOwnUpTo(mem.read_up_to, "read");
  }
}

async function loadOlder() {
  if (!state.room || !state.more || state.loadingOlder || state.msgs.length === 0) return;
  state.loadingOlder = true;
  const gen = state.roomGen;
  const btn = $("load-older");
  btn.disabled = true;
  btn.textContent = "Loading…";
  try {
    const data = await api("GET", `/v1/rooms/${enc(state.room)}/messages?limit=50&before=${enc(state.msgs[0].id)}`);
    if (gen !== state.roomGen) return;
    const box = $("messages");
    const fromBottom = box.scrollHeight - box.scrollTop;
    state.more = data.more;
    addMessages(data.messages, { stick: false });
    applyMemberMarkers();
    box.scrollTop = box.scrollHeight - fromBottom; // keep the view still
  } finally {
    state.loadingOlder = false;
    btn.disabled = false;
    btn.textContent = "Load older messages";
    btn.hidden = !state.more;
  }
}

function atBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 48;
}

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

// addMessages puts messages of the open room in order, skipping those
// already shown.
function addMessages(list, { stick } = {}) {
  const wasAtBottom = atBottom();
  const ul = $("message-list");
  let own = false;
  for (const m of list) {
    if (m.room !== state.room || state.byId.has(m.id)) continue;
    state.byId.set(m.id, m);
    let i = state.msgs.length;
    while (i > 0 && compareMsgs(state.msgs[i - 1], m) > 0) i--;
    state.msgs.splice(i, 0, m);
    const li = renderMessage(m);
    const next = ul.querySelector(`li[data-id="${CSS.escape(state.msgs[i + 1]?.id ?? "")}"]`) ??
      ul.querySelector("li[data-pending]");
    ul.insertBefore(li, next);
    regroup(i);
    regroup(i + 1);
    if (isOwn(m)) own = true;
  }
  $("empty").hidden = state.msgs.length > 0 || pendingHere().length > 0;
  if (stick || own || wasAtBottom) scrollToBottom();
}

function regroup(i) {
  const m = state.msgs[i];
  if (!m) return;
  const li = document.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
  const prev = state.msgs[i - 1];
  const cont = prev && prev.author === m.author && Date.parse(m.sent_at) - Date.parse(prev.sent_at) < 5 * 60000 &&
    sameDay(prev.sent_at, m.sent_at);
  li?.classList.toggle("cont", Boolean(cont));
  const day = !prev || !sameDay(prev.sent_at, m.sent_at);
  li?.classList.toggle("new-day", day);
  if (li) li.dataset.day = day ? dayLabel(m.sent_at) : "";
}

function renderMessage(m) {
  const own = isOwn(m);
  const li = document.createElement("li");
  li.className = `msg ${own ? "own" : "other"}`;
  li.dataset.testid = "message";
  li.dataset.id = m.id;
  li.dataset.author = m.author;
  li.dataset.own = String(own);
  if (!own) {
    const a = document.createElement("div");
    a.className = "author";
    a.textContent = m.author_name || shortID(m.author);
    a.title = m.author;
    li.append(a);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const text = document.createElement("span");
  text.className = "text";
  text.dataset.testid = "message-text";
  text.textContent = m.text;
  const meta = document.createElement("span");
  meta.className = "meta";
  const time = document.createElement("time");
  time.dateTime = m.sent_at;
  time.textContent = clock(m.sent_at);
  time.title = new Date(m.sent_at).toLocaleString();
  meta.append(time);
  if (own) {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.dataset.testid = "tick";
    assumeSent(m.id);
    paintTick(tick, state.status.get(m.id));
    meta.append(tick);
  }
  bubble.append(text, meta);
  li.append(bubble);
  return li;
}

// ---------- sending ----------

function pendingHere() {
  return [...state.pending.values()].filter((p) => p.room === state.room);
}

function renderPendingAll() {
  for (const li of document.querySelectorAll("li[data-pending]")) li.remove();
  for (const p of pendingHere()) renderPending(p);
}

function renderPending(p) {
  let li = document.querySelector(`li[data-client-id="${CSS.escape(p.cid)}"]`);
  if (p.room !== state.room) return;
  if (!li) {
    li = document.createElement("li");
    li.className = "msg own pending";
    li.dataset.testid = "message";
    li.dataset.pending = "true";
    li.dataset.own = "true";
    li.dataset.clientId = p.cid;
    $("message-list").append(li);
  }
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const text = document.createElement("span");
  text.className = "text";
  text.dataset.testid = "message-text";
  text.textContent = p.text;
  const meta = document.createElement("span");
  meta.className = "meta";
  if (p.state === "failed") {
    const err = document.createElement("span");
    err.className = "failed";
    err.textContent = `Not sent: ${p.error}`;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "text-button";
    retry.dataset.testid = "retry";
    retry.textContent = "Retry";
    retry.addEventListener("click", () => {
      p.state = "sending";
      renderPending(p);
      deliver(p);
    });
    const drop = document.createElement("button");
    drop.type = "button";
    drop.className = "text-button";
    drop.textContent = "Discard";
    drop.addEventListener("click", () => {
      state.pending.delete(p.cid);
      li.remove();
    });
    meta.append(err, retry, drop);
  } else {
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.dataset.testid = "tick";
    paintTick(tick, { status: "pending" });
    meta.append(tick);
  }
  bubble.append(text, meta);
  li.replaceChildren(bubble);
}

function sendMessage(text) {
  const p = { cid: newID(), room: state.room, text, state: "sending", error: "" };
  state.pending.set(p.cid, p);
  renderPending(p);
  $("empty").hidden = true;
  scrollToBottom();
  deliver(p);
}

// deliver posts a pending message, retrying with the same client_msg_id so
// that a retry after a lost answer never makes a duplicate.
async function deliver(p) {
  for (let attempt = 0; state.pending.get(p.cid) === p && p.state === "sending"; attempt++) {
    try {
      const data = await api("POST", `/v1/rooms/${enc(p.room)}/messages`, { text: p.text, client_msg_id: p.cid });
      confirmPending(p, data.message);
      return;
    } catch (err) {
      if (state.pending.get(p.cid) !== p) return; // the event confirmed it
      if (!err.retry || attempt >= 8) {
        p.state = "failed";
        p.error = err.message;
        renderPending(p);
        return;
      }
      await sleep(backoff(attempt));
    }
  }
}

function confirmPending(p, m) {
  if (state.pending.get(p.cid) !== p) return;
  state.pending.delete(p.cid);
  document.querySelector(`li[data-client-id="${CSS.escape(p.cid)}"]`)?.remove();
  assumeSent(m.id);
  if (m.room === state.room) addMessages([m]);
}

// Typing: the node sends at most one signal every 2 s and drops the rest,
// so the page pings at most once a second while there is text, with a
// trailing ping so that a short burst of keys is not lost.
const typingPing = { last: 0, lastInput: 0, timer: null };

function onComposerInput() {
  typingPing.lastInput = Date.now();
  pingTyping();
}

function pingTyping() {
  clearTimeout(typingPing.timer);
  typingPing.timer = null;
  const room = state.room;
  if (!room || !$("text").value.trim()) return; // sent or cleared: no more typing
  const wait = typingPing.last + 1000 - Date.now();
  if (wait > 0) {
    typingPing.timer = setTimeout(pingTyping, wait);
    return;
  }
  typingPing.last = Date.now();
  const inputAt = typingPing.lastInput;
  api("POST", `/v1/rooms/${enc(room)}/typing`)
    .then((r) => {
      // Dropped by the node's rate limit: try again while the user types.
      if (r && !r.sent && Date.now() - inputAt < 3000 && !typingPing.timer) {
        typingPing.timer = setTimeout(pingTyping, 1000);
      }
    })
    .catch(() => {});
}

// ---------- read markers and presence ----------

function maybeMarkRead() {
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

let presenceSent = "";
function setPresence() {
  const status = document.visibilityState === "visible" ? "online" : "away";
  if (status === presenceSent) return;
  presenceSent = status;
  api("PUT", "/v1/presence", { status }).catch(() => {
    presenceSent = "";
  });
}

// ---------- typing ----------

let typingTimer = null;
function renderTyping() {
  clearTimeout(typingTimer);
  const el = $("typing");
  const now = Date.now();
  const room = state.typing.get(state.room);
  const names = [];
  let next = Infinity;
  if (room) {
    for (const [peer, t] of room) {
      if (t.until <= now) {
        room.delete(peer);
        continue;
      }
      names.push(t.name || shortID(peer));
      next = Math.min(next, t.until);
    }
  }
  if (names.length === 0) {
    el.hidden = true;
    el.textContent = "";
    return;
  }
  names.sort();
  el.textContent =
    names.length === 1 ? `${names[0]} is typing…`
    : names.length === 2 ? `${names[0]} and ${names[1]} are typing…`
    : `${names.length} people are typing…`;
  el.hidden = false;
  typingTimer = setTimeout(renderTyping, next - now + 20);
}

// ---------- members and peers ----------

async function loadMembers() {
  const room = state.room;
  if (!room) return;
  const data = await api("GET", `/v1/rooms/${enc(room)}/members`);
  if (room !== state.room) return;
  state.members = data.members;
  applyMemberMarkers();
  renderMembers();
}

function renderMembers() {
  const ul = $("members");
  ul.replaceChildren();
  const order = { online: 0, away: 1, offline: 2 };
  const list = [...state.members].sort((a, b) => {
    const ma = state.me && a.peer_id === state.me.peer_id ? -1 : order[a.status] ?? 3;
    const mb = state.me && b.peer_id === state.me.peer_id ? -1 : order[b.status] ?? 3;
    return ma - mb || (a.name || "").localeCompare(b.name || "");
  });
  let online = 0;
  for (const m of list) {
    if (m.status === "online") online++;
    const li = document.createElement("li");
    li.className = "member";
    li.dataset.testid = "member";
    li.dataset.peerId = m.peer_id;
    li.dataset.status = m.status;
    const dot = document.createElement("span");
    dot.className = `presence ${m.status}`;
    dot.title = m.status;
    const who = document.createElement("div");
    who.className = "who";
    const name = document.createElement("span");
    name.className = "name";
    const me = state.me && m.peer_id === state.me.peer_id;
    name.textContent = (m.name || shortID(m.peer_id)) + (me ? " (you)" : "");
    name.title = m.peer_id;
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.dataset.testid = "member-status";
    sub.textContent =
      m.status === "online" ? "online"
      : m.status === "away" ? `away${m.last_seen ? ` · seen ${ago(m.last_seen)}` : ""}`
      : m.last_seen ? `last seen ${ago(m.last_seen)}` : "offline";
    who.append(name, sub);
    li.append(dot, who);
    ul.append(li);
  }
  $("member-count").textContent = state.members.length ? `${online}/${state.members.length} online` : "";
}

async function loadPeers() {
  const data = await api("GET", "/v1/peers");
  state.peers = data.peers || [];
  renderPeers();
}

function renderPeers() {
  const ul = $("peers");
  ul.replaceChildren();
  for (const p of state.peers) {
    const li = document.createElement("li");
    li.className = "peer";
    li.dataset.testid = "peer";
    li.dataset.peerId = p.peer_id;
    li.dataset.connection = p.connection;
    const name = document.createElement("span");
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
  $("peer-count").textContent = state.peers.length ? String(state.peers.length) : "";
  if (state.peers.length === 0) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "No peers connected";
    ul.append(li);
  }
}

// ---------- formatting ----------

function shortID(id) {
  return id ? `${id.slice(0, 4)}…${id.slice(-6)}` : "?";
}

function sameDay(a, b) {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

function clock(t) {
  return timeFmt.format(new Date(t));
}

function dayLabel(t) {
  const d = new Date(t);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return "Today";
  const y = new Date(today);
  y.setDate(today.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return "Yesterday";
  return dayFmt.format(d);
}

function ago(t) {
  const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  if (s < 10) return "just now";
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `on ${new Date(t).toLocaleDateString()}`;
}

// ---------- layout on a phone ----------

function closeDrawers() {
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

// ---------- start ----------

function bind() {
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const ta = $("text");
    const text = ta.value.trim();
    if (!text || !state.room) return;
    ta.value = "";
    autosize();
    clearTimeout(typingPing.timer);
    sendMessage(text);
  });
  const ta = $("text");
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  ta.addEventListener("input", () => {
    autosize();
    onComposerInput();
  });
  $("join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("join-name");
    const name = input.value.trim().replace(/^#/, "");
    const errEl = $("join-error");
    errEl.hidden = true;
    try {
      await joinRoom(name);
      input.value = "";
      closeDrawers();
    } catch (err) {
      errEl.textContent = err.message;
      errEl.hidden = false;
    }
  });
  $("leave").addEventListener("click", () => leaveRoom().catch((err) => alertError(err)));
  $("load-older").addEventListener("click", () => loadOlder());
  const box = $("messages");
  box.addEventListener("scroll", () => {
    if (box.scrollTop < 80) loadOlder();
    maybeMarkRead();
  }, { passive: true });
  $("toggle-sidebar").addEventListener("click", () => toggleDrawer("show-sidebar"));
  $("toggle-members").addEventListener("click", () => toggleDrawer("show-members"));
  $("scrim").addEventListener("click", closeDrawers);
  document.addEventListener("visibilitychange", () => {
    setPresence();
    maybeMarkRead();
  });
  window.addEventListener("focus", maybeMarkRead);
  window.addEventListener("hashchange", () => {
    const room = decodeURIComponent(location.hash.slice(1));
    if (room && room !== state.room && state.rooms.has(room)) openRoom(room);
  });
  window.addEventListener("online", () => {
    if (conn.state !== "connected" && !state.signedOut) startWebSocket();
  });
  setInterval(() => {
    renderMembers(); // "last seen" times
    if (!state.signedOut) loadPeers().catch(() => {});
  }, 15000);
}

function autosize() {
  const ta = $("text");
  ta.style.height = "auto";
  ta.style.height = `${Math.min(ta.scrollHeight, 160)}px`;
}

function alertError(err) {
  const el = $("send-error");
  el.textContent = err.message;
  el.hidden = false;
  setTimeout(() => (el.hidden = true), 5000);
}

async function boot() {
  let node;
  for (let attempt = 0; ; attempt++) {
    try {
      node = await api("GET", "/v1/node");
      break;
    } catch (err) {
      if (state.signedOut) return;
      setConn(attempt >= 2 ? "offline" : "reconnecting", "");
      await sleep(backoff(attempt));
    }
  }
  state.me = node;
  state.seq = node.last_seq || 0;
  $("me-name").textContent = node.name || shortID(node.peer_id);
  $("me-name").title = node.peer_id;
  $("app").hidden = false;
  try {
    await loadRooms();
    const wanted = decodeURIComponent(location.hash.slice(1));
    const first = state.rooms.has(wanted) ? wanted : [...state.rooms.keys()].sort()[0];
    if (first) await openRoom(first);
    else showNoRoom();
  } catch (err) {
    if (state.signedOut) return;
    // The stream's resync will load them when the node answers again.
  }
  loadPeers().catch(() => {});
  setPresence();
  startWebSocket();
}

bind();
boot();
