import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';

interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: unknown;
}

interface HttpResponse {
  header(name: string, value: string): unknown;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Lets into the jobs dashboard whoever knows the token in JOBS_DASHBOARD_TOKEN: a browser as
 * HTTP Basic credentials (any user name, the token as password; the browser asks once), a
 * script as `Authorization: Bearer <token>`. Without the variable, nobody gets in.
 * A real app would check its own session or roles here instead.
 */
@Injectable()
export class DashboardTokenGuard implements CanActivate {
  private readonly token = process.env.JOBS_DASHBOARD_TOKEN ?? '';

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    if (!this.token) throw new UnauthorizedException('Set JOBS_DASHBOARD_TOKEN to open the jobs dashboard.');
    const auth = String(req.headers.authorization ?? '');
    let user = 'token';
    let given = '';
    if (auth.startsWith('Bearer ')) given = auth.slice(7);
    else if (auth.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = decoded.slice(0, colon) || 'token';
      given = decoded.slice(colon + 1);
    }
    if (!given || !timingSafeEqual(digest(given), digest(this.token))) {
      http.getResponse<HttpResponse>().header('WWW-Authenticate', 'Basic realm="jobs dashboard", charset="UTF-8"');
      throw new UnauthorizedException('The jobs dashboard needs the token of JOBS_DASHBOARD_TOKEN.');
    }
    req.user = { id: user };
    return true;
  }
}
