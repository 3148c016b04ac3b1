import * as grpc from '@grpc/grpc-js';

/** Tracer name: enable with `GRPC_TRACE=consistent_hash GRPC_VERBOSITY=DEBUG`. */
export const TRACER_NAME = 'consistent_hash';

/** Debug trace line, shown only when the user enabled our tracer (and DEBUG verbosity). */
export function trace(component: string, text: string): void {
  grpc.experimental.trace(grpc.logVerbosity.DEBUG, TRACER_NAME, `${component} ${text}`);
}

/** Trace at INFO severity: still needs GRPC_TRACE=consistent_hash. */
export function traceInfo(component: string, text: string): void {
  grpc.experimental.trace(grpc.logVerbosity.INFO, TRACER_NAME, `${component} ${text}`);
}

/**
 * Logged at ERROR, grpc-js's default verbosity, so the user sees it without any setting.
 * Never pass secrets (tokens, passwords) or request keys here.
 */
export function logError(component: string, text: string): void {
  grpc.experimental.log(grpc.logVerbosity.ERROR, `${TRACER_NAME} ${component}: ${text}`);
}
