import type { DashboardResponse } from './http-shapes.js';

/**
 * Sent with every dashboard answer. The page loads its own modules and styles only: no inline
 * script or style, no other origin, no framing, no form posts.
 */
const HEADERS: ReadonlyArray<[string, string]> = [
  [
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
  ],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['X-Frame-Options', 'DENY'],
  ['Cache-Control', 'no-store'],
];

export function setSecurityHeaders(res: DashboardResponse): void {
  for (const [name, value] of HEADERS) res.header(name, value);
}
