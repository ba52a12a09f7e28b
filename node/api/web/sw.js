// The service worker keeps the UI's own files in the browser, so that a
// reload while the node is down shows the page instead of the browser's
// error page; the page then says the node is not answering and retries
// by itself until it is back.
//
// Network first: while the node answers, every file comes from it (and
// refreshes the copy kept here), so an upgraded node serves its new UI at
// once; only when it does not answer is the kept copy used. The API
// (/v1/) and the sign-in page are never touched: their answers are never
// kept, and they go to the node or fail as they would without this.

const CACHE = "peerchat-shell-v1";

// SHELL is every file of the UI but the sign-in page and this one. A test
// (TestTheServiceWorkerKeepsEveryFileOfTheUI) checks it against the files
// the node embeds.
const SHELL = [
  "/",
  "/style.css",
  "/app.js",
  "/lib/api.js",
  "/lib/events.js",
  "/lib/format.js",
  "/lib/linkify.js",
  "/lib/outbox.js",
  "/lib/presence.js",
  "/lib/read.js",
  "/lib/session.js",
  "/lib/state.js",
  "/lib/stream.js",
  "/lib/util.js",
  "/views/address.js",
  "/views/announce.js",
  "/views/banner.js",
  "/views/composer.js",
  "/views/drawers.js",
  "/views/fold.js",
  "/views/joinoffer.js",
  "/views/members.js",
  "/views/messages.js",
  "/views/name.js",
  "/views/newbelow.js",
  "/views/offline.js",
  "/views/peers.js",
  "/views/pending.js",
  "/views/room.js",
  "/views/rooms.js",
  "/views/ticks.js",
  "/views/typing.js",
];

self.addEventListener("install", (e) => {
  e.waitUntil(
    caches.open(CACHE)
      .then((c) => c.addAll(SHELL.map((p) => new Request(p, { cache: "no-store" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// shellPath is the kept file that answers a request, or "".
function shellPath(req) {
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return "";
  if (req.mode === "navigate" && (url.pathname === "/" || url.pathname === "/index.html")) return "/";
  return SHELL.includes(url.pathname) ? url.pathname : "";
}

self.addEventListener("fetch", (e) => {
  const path = shellPath(e.request);
  if (!path) return; // the API, the sign-in page: straight to the node
  e.respondWith(
    fetch(e.request, { cache: "no-store" })
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(path, copy)).catch(() => {});
        }
        return res;
      })
      .catch(async () => (await caches.match(path)) || Response.error()),
  );
});
