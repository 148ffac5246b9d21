/** User-facing text of the dashboard, in one place. */

export const NO_GUARDS =
  'The jobs dashboard is closed: no guard is configured. Pass guards that decide who may see it, e.g. ' +
  'JobsDashboardModule.forRoot({ guards: [AdminGuard] }), where AdminGuard implements CanActivate ' +
  '(checks a session, a token, a role). Every route answers 403 until then.';

export const REFUSED_BY = (guard: string) => `The jobs dashboard refused this request: guard ${guard} did not allow it.`;

export const READ_ONLY = 'The jobs dashboard is read-only (readOnly: true): actions are refused.';

export const NOT_JSON = 'Dashboard actions need a JSON body: send Content-Type: application/json.';

export const NO_DASHBOARD_HEADER = 'Dashboard actions need the header X-Jobs-Dashboard: 1 (cross-site requests cannot send it).';
