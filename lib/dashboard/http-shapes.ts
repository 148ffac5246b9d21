/**
 * The little of a request and a response the dashboard reads, shared by Express and Fastify
 * (a Fastify reply and an Express response both have `header()`).
 */
export interface DashboardRequest {
  method: string;
  url: string;
  originalUrl?: string;
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  user?: unknown;
}

export interface DashboardResponse {
  header(name: string, value: string): unknown;
}

/** Who did it, for the audit log: the authenticated user's id (or name) when a guard set `req.user`, and the address. */
export function whoIs(req: DashboardRequest): { user: string; ip: string } {
  const u = req.user;
  let user = 'anonymous';
  if (typeof u === 'string') user = u;
  else if (typeof u === 'object' && u !== null) {
    const r = u as Record<string, unknown>;
    const id = r.id ?? r.sub ?? r.username ?? r.name ?? r.email;
    if (typeof id === 'string' || typeof id === 'number') user = String(id);
  }
  return { user, ip: req.ip ?? 'unknown' };
}

export function headerValue(req: DashboardRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
