// The gateway's REST API with the logged-in key (kept in sessionStorage, never in localStorage).

const KEY = "papertape.api_key";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? `${body.code}: ${body.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? `http_${status}`;
    this.field = body?.field ?? null;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") search.append(name, String(one));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** One request; the JSON answer, or an ApiError carrying the gateway's code. */
export async function request(method, path, { params, body, text = false, key } = {}) {
  const headers = { Authorization: `Bearer ${key ?? storedKey()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(`/api/v1${path}${query(params)}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!answer.ok) {
    let detail = null;
    try { detail = await answer.json(); } catch { detail = null; }
    throw new ApiError(answer.status, detail);
  }
  if (text) return answer.text();
  return answer.status === 204 ? null : answer.json();
}

export const get = (path, params, options = {}) => request("GET", path, { params, ...options });
export const post = (path, body) => request("POST", path, { body });
export const del = (path) => request("DELETE", path);

/** Path segments are escaped: a symbol or an id never changes the route. */
export const seg = (value) => encodeURIComponent(String(value));

/** A refusal as the trader should read it: the account's reason code and its message. */
export function refusal(error) {
  if (error instanceof ApiError) return `refused: ${error.message}${error.field ? ` (field ${error.field})` : ""}`;
  return `failed: ${error.message}`;
}
