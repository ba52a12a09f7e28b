// The client of the node's local API. Every request goes to the same
// origin with the page's session as its bearer token (lib/session.js);
// the API token itself is never kept by the page.

import { loadSession } from "./session.js";

export class APIError extends Error {
  constructor(status, code, message, retry) {
    super(message);
    this.status = status;
    this.code = code;
    this.retry = retry;
  }
}

let unauthorized = () => {};

// whenUnauthorized sets what a 401 does: the page cannot sign itself in,
// so it shows how to.
export function whenUnauthorized(fn) {
  unauthorized = fn;
}

// api sends one request and returns its JSON answer, or throws an
// APIError: code "network" with retry set when the node did not answer.
export async function api(method, path, body, { signal } = {}) {
  const init = { method, headers: {}, cache: "no-store", credentials: "omit", signal };
  const session = loadSession();
  if (session) init.headers.Authorization = `Bearer ${session}`;
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
    if (res.status === 401) unauthorized();
    throw new APIError(res.status, e.code || `http_${res.status}`, e.message || res.statusText, e.retry ?? res.status >= 500);
  }
  return data;
}
