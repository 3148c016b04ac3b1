import type { ConsulTarget } from './target';

/** Timeout for a non-blocking query (the first one, or after an index reset). */
const NON_BLOCKING_TIMEOUT_MS = 10_000;

/** HTTP timeout for a query: Consul may hold it for wait + wait/16, so allow that plus slack. */
export function queryTimeoutMs(waitMs: number, blocking: boolean): number {
  if (!blocking) return NON_BLOCKING_TIMEOUT_MS;
  const slack = Math.min(5000, Math.max(1000, waitMs / 16));
  return Math.ceil(waitMs + waitMs / 16 + slack);
}

/** The health query path: index 0 (first query, or after a reset) asks without blocking. */
export function healthQueryPath(target: ConsulTarget, index: number): string {
  const params = new URLSearchParams();
  if (target.passing) params.set('passing', 'true');
  for (const tag of target.tags) params.append('tag', tag);
  if (target.dc !== undefined) params.set('dc', target.dc);
  if (target.near !== undefined) params.set('near', target.near);
  if (target.filter !== undefined) params.set('filter', target.filter);
  if (target.stale) params.set('stale', '');
  if (target.consistent) params.set('consistent', '');
  if (index > 0) {
    params.set('index', String(index));
    params.set('wait', target.wait);
  }
  return `/v1/health/service/${encodeURIComponent(target.service)}?${params.toString()}`;
}
