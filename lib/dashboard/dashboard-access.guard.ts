import { ForbiddenException, Inject, Injectable, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { JOBS_DASHBOARD_OPTIONS, type ResolvedDashboardOptions } from './dashboard.options.js';
import { NO_DASHBOARD_HEADER, NO_GUARDS, NOT_JSON, READ_ONLY, REFUSED_BY } from './dashboard.messages.js';
import { headerValue, type DashboardRequest, type DashboardResponse } from './http-shapes.js';
import { setSecurityHeaders } from './security-headers.js';

/**
 * Runs on every dashboard route: sets the security headers, refuses everything while no guard
 * is configured, runs the configured guards in order, and lets an action (POST) through only
 * when the dashboard is not read-only and the request carries a JSON body and the
 * `X-Jobs-Dashboard` header, which a cross-site form, image or script cannot send.
 */
@Injectable()
export class DashboardAccessGuard implements CanActivate {
  private readonly instances = new Map<Type<CanActivate>, Promise<CanActivate>>();

  constructor(
    @Inject(JOBS_DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<DashboardRequest>();
    setSecurityHeaders(http.getResponse<DashboardResponse>());
    if (this.options.guards.length === 0) throw new ForbiddenException(NO_GUARDS);
    for (const type of this.options.guards) {
      const guard = await this.instance(type);
      const verdict = guard.canActivate(context);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict, { defaultValue: false }) : await verdict;
      if (!allowed) throw new ForbiddenException(REFUSED_BY(type.name));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (this.options.readOnly) throw new ForbiddenException(READ_ONLY);
      const contentType = headerValue(req, 'content-type') ?? '';
      if (!/^application\/json\s*(;|$)/i.test(contentType)) throw new ForbiddenException(NOT_JSON);
      if (headerValue(req, 'x-jobs-dashboard') !== '1') throw new ForbiddenException(NO_DASHBOARD_HEADER);
    }
    return true;
  }

  /** The guard as provided in the app (when it is), else one built here with its dependencies injected. */
  private instance(type: Type<CanActivate>): Promise<CanActivate> {
    let found = this.instances.get(type);
    if (!found) {
      found = this.lookUp(type);
      this.instances.set(type, found);
      found.catch(() => this.instances.delete(type));
    }
    return found;
  }

  private async lookUp(type: Type<CanActivate>): Promise<CanActivate> {
    try {
      return this.moduleRef.get(type, { strict: false });
    } catch {
      return this.moduleRef.create(type);
    }
  }
}
