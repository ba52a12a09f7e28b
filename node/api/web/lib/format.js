// How IDs, times, dates and user text read on screen.

// bdi wraps a string someone else chose (a name, a room, a message) in a
// <bdi>, which isolates its direction: bidi controls in it (U+202E and
// friends) cannot reorder the page's own words around it.
export function bdi(text) {
  const e = document.createElement("bdi");
  e.textContent = text;
  return e;
}

// isolate marks an element that holds only user text the same way.
export function isolate(el) {
  el.dir = "auto";
  return el;
}

export function shortID(id) {
  return id ? `${id.slice(0, 4)}…${id.slice(-6)}` : "?";
}

export function sameDay(a, b) {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

export function clock(t) {
  return timeFmt.format(new Date(t));
}

export function dayLabel(t) {
  const d = new Date(t);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return "Today";
  const y = new Date(today);
  y.setDate(today.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return "Yesterday";
  return dayFmt.format(d);
}

export function ago(t) {
  const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  if (s < 10) return "just now";
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `on ${new Date(t).toLocaleDateString()}`;
}
