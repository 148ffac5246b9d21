// The page talks to the JSON API next to it (relative to <base>), and to nothing else.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, body.message ?? `${res.status} ${res.statusText}`);
  return body;
}

export function get(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return request(`api/${path}${qs ? `?${qs}` : ''}`);
}

/** An action: POST with a JSON body and the header the API requires of every action. */
export function post(path, body = {}) {
  return request(`api/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Jobs-Dashboard': '1' },
    body: JSON.stringify(body),
  });
}

export const enc = encodeURIComponent;
