import type * as grpc from '@grpc/grpc-js';
import { readConsulCaFile } from '../../consul/agent';
import { ConsulToken } from '../../consul/token';

/**
 * Channel option: the Consul ACL token (else `CONSUL_HTTP_TOKEN`). Sent only as `X-Consul-Token`.
 * Pass `createConsulToken(token)`: grpc-js traces channel options, and a plain string would show there.
 */
export const CONSUL_TOKEN_OPTION = 'grpc-consistent-hash.consul.token';
/** Channel option: PEM CA certificate(s) (string or Buffer) for an https agent (else the file `CONSUL_CACERT`). */
export const CONSUL_CA_OPTION = 'grpc-consistent-hash.consul.ca';
/** Channel option: steady-state health queries per second (default 1; burst 2). */
export const CONSUL_QUERIES_PER_SECOND_OPTION = 'grpc-consistent-hash.consul.queries_per_second';
/** Channel option: first retry delay after an error in ms (default 1000). */
export const CONSUL_INITIAL_BACKOFF_OPTION = 'grpc-consistent-hash.consul.initial_backoff_ms';
/** Channel option: retry delay cap after errors in ms (default 30000). */
export const CONSUL_MAX_BACKOFF_OPTION = 'grpc-consistent-hash.consul.max_backoff_ms';

/** The token to send: the channel option, else `CONSUL_HTTP_TOKEN`; undefined when neither. */
export function resolveConsulToken(
  options: grpc.ChannelOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const option = options[CONSUL_TOKEN_OPTION];
  if (option !== undefined) {
    // Only a ConsulToken: grpc-js prints channel options as JSON in its channel and subchannel
    // traces, so a plain string here would end up in the logs.
    if (!(option instanceof ConsulToken)) {
      throw new Error(
        `channel option "${CONSUL_TOKEN_OPTION}" must be createConsulToken(token) (a plain ${typeof option} would appear in grpc-js's traces)`,
      );
    }
    const token = option.reveal();
    return token === '' ? undefined : token;
  }
  return env['CONSUL_HTTP_TOKEN'] || undefined;
}

/** CA certificates for https: the channel option, else the file named by `CONSUL_CACERT`. */
export function resolveConsulCa(
  options: grpc.ChannelOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | Buffer | undefined {
  const fromOption = options[CONSUL_CA_OPTION];
  if (fromOption !== undefined) {
    if (typeof fromOption !== 'string' && !Buffer.isBuffer(fromOption)) {
      throw new Error(`channel option "${CONSUL_CA_OPTION}" must be a PEM string or a Buffer`);
    }
    return fromOption;
  }
  return readConsulCaFile(env);
}

/** A positive number channel option, or its default. */
export function positiveNumberOption(
  options: grpc.ChannelOptions,
  key: string,
  defaultValue: number,
): number {
  const value = options[key];
  if (value === undefined) return defaultValue;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new Error(`channel option "${key}" must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}
