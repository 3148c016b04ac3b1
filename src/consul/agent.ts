import { readFileSync } from 'node:fs';

/*
 * Where the Consul agent is and how to talk to it, chosen as Consul's own tools choose it
 * (CONSUL_HTTP_ADDR, CONSUL_HTTP_SSL, CONSUL_CACERT). Shared by the `consul:` resolver and
 * `registerWithConsul`, so both find the same agent from the same environment. Errors are plain
 * `Error`s naming the source and value; each caller wraps them in its own error type.
 */

const DEFAULT_AGENT = '127.0.0.1:8500';

/** Where and how to reach the Consul HTTP API. */
export interface ConsulAgentAddress {
  scheme: 'http' | 'https';
  /** Host without brackets (an IPv6 host is raw). */
  host: string;
  port: number;
}

/** Go's strconv.ParseBool, which Consul's tools use for flags like CONSUL_HTTP_SSL. */
export function parseGoBool(value: string): boolean | null {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return null;
}

/** `host[:port]` (IPv6 in brackets) → host and port; `what` names the source in errors. */
export function parseHostPort(
  text: string,
  defaultPort: number,
  what: string,
): { host: string; port: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw new Error(`${what} "${text}": unterminated "[" in IPv6 address`);
    host = text.slice(1, end);
    const after = text.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new Error(`${what} "${text}": expected ":port" after "]"`);
      portText = after.slice(1);
    }
    if (!host.includes(':')) throw new Error(`${what} "${text}": brackets are only for IPv6 addresses`);
  } else {
    const parts = text.split(':');
    if (parts.length > 2) {
      throw new Error(`${what} "${text}": an IPv6 address must be in brackets, as [::1]:8500`);
    }
    host = parts[0] ?? '';
    portText = parts[1];
  }
  if (host === '' || /[\s/?#@]/.test(host)) throw new Error(`${what} "${text}": invalid host`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new Error(`${what} "${text}": port must be an integer in 1..65535, got "${portText}"`);
    }
    port = Number(portText);
  }
  return { host, port };
}

/**
 * Parses an agent address as `CONSUL_HTTP_ADDR` spells it: `host:port`, `http://host:port`
 * or `https://host:port`. Returns the address and the scheme if one was written.
 */
export function parseAgentAddress(
  text: string,
  what: string,
): { host: string; port: number; scheme: 'http' | 'https' | undefined } {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  let scheme: 'http' | 'https' | undefined;
  let rest = text;
  if (match) {
    const written = match[1]!.toLowerCase();
    if (written !== 'http' && written !== 'https') {
      throw new Error(`${what} "${text}": scheme "${written}" is not supported (use http or https)`);
    }
    scheme = written;
    rest = match[2]!.replace(/\/$/, '');
  }
  const defaultPort = scheme === 'https' ? 8501 : 8500;
  return { ...parseHostPort(rest, defaultPort, what), scheme };
}

/**
 * The agent to talk to, chosen as Consul's own tools choose it: `written` (a target's authority or
 * registration's `agent` option), else `CONSUL_HTTP_ADDR` (an empty value counts as unset), else
 * 127.0.0.1:8500; https when `scheme` says so, else when the address was written with `https://`, else
 * when `CONSUL_HTTP_SSL` is true. Shared by the resolver and `registerWithConsul`, so both find the
 * same agent from the same environment.
 * @param how `what` names `written` in errors; `schemeAllowed` lets it start with `http(s)://`
 *   (`CONSUL_HTTP_ADDR` always may)
 * @throws Error naming the source and value
 */
export function resolveConsulAgent(
  written: string | undefined,
  how: { what: string; schemeAllowed: boolean; scheme?: 'http' | 'https' | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ConsulAgentAddress {
  const parsed =
    written !== undefined
      ? how.schemeAllowed
        ? parseAgentAddress(written, how.what)
        : { ...parseHostPort(written, 8500, how.what), scheme: undefined }
      : env['CONSUL_HTTP_ADDR']
        ? parseAgentAddress(env['CONSUL_HTTP_ADDR'], 'CONSUL_HTTP_ADDR')
        : parseAgentAddress(DEFAULT_AGENT, 'default agent');
  const scheme = how.scheme ?? parsed.scheme ?? schemeFromConsulHttpSsl(env) ?? 'http';
  return { scheme, host: parsed.host, port: parsed.port };
}

/** The scheme `CONSUL_HTTP_SSL` asks for; undefined when it is unset or empty. */
function schemeFromConsulHttpSsl(env: NodeJS.ProcessEnv): 'http' | 'https' | undefined {
  const value = env['CONSUL_HTTP_SSL'];
  if (!value) return undefined;
  const ssl = parseGoBool(value);
  if (ssl === null) throw new Error(`CONSUL_HTTP_SSL must be true or false, got "${value}"`);
  return ssl ? 'https' : 'http';
}

/** The contents of the CA file named by `CONSUL_CACERT`; undefined when it is unset or empty. */
export function readConsulCaFile(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const file = env['CONSUL_CACERT'];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`CONSUL_CACERT "${file}": cannot read: ${(error as Error).message}`);
  }
}

/** `scheme://host:port` of an agent, for messages (never contains a token). */
export function agentToString(agent: ConsulAgentAddress): string {
  const host = agent.host.includes(':') ? `[${agent.host}]` : agent.host;
  return `${agent.scheme}://${host}:${agent.port}`;
}
