import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { CredentialSource, type KubernetesConnection, type RequestCredentials } from './connection';
import { KubernetesError } from './errors';

/** One watch event (`{"type": ..., "object": ...}`), one line of the NDJSON stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  object: unknown;
}

/** Settings of {@link KubernetesClient.getJson}. */
export interface GetOptions {
  /** From sending to the end of the body. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Settings of {@link KubernetesClient.watch}. */
export interface WatchOptions {
  /** Until the response headers arrive. */
  headersTimeoutMs: number;
  /** The whole watch; the server should end it first (`timeoutSeconds`). */
  deadlineMs: number;
  signal?: AbortSignal;
  /** The headers said 200: the watch is established. */
  onOpen?: () => void;
  /** Events that arrived together (one network read), in order. */
  onEvents: (events: WatchEvent[]) => void;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Whether a URL host is a loopback address or `localhost`, where plain-HTTP bearer tokens are allowed. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host);
  return false;
}

/**
 * A small client for the part of the Kubernetes API that discovery uses: JSON GETs and watches
 * (newline-delimited JSON). Sockets are unref'd: an open watch never keeps a process alive.
 */
export class KubernetesClient {
  private readonly credentials: CredentialSource;
  private agent: http.Agent | null = null;
  /** The client certificate the agent was made with (an exec plugin may change it). */
  private agentIdentity = '';
  private closed = false;

  constructor(readonly connection: KubernetesConnection) {
    this.credentials = new CredentialSource(connection);
  }

  /** `https://host:port`, for messages. */
  get serverText(): string {
    return this.connection.server.origin;
  }

  /**
   * GETs `path` and parses the JSON body.
   * @throws KubernetesError with the HTTP status and the API's Status message
   */
  async getJson(path: string, options: GetOptions): Promise<unknown> {
    const chunks: string[] = [];
    let size = 0;
    await this.stream(path, options.timeoutMs, options.timeoutMs, options.signal, undefined, (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES)
        throw new KubernetesError(
          `${this.serverText}: response larger than ${MAX_BODY_BYTES} bytes`,
          undefined,
          'malformed',
        );
      chunks.push(chunk);
    });
    const body = chunks.join('');
    try {
      return JSON.parse(body);
    } catch {
      throw new KubernetesError(
        `${this.serverText}: GET ${shortPath(path)}: malformed JSON (${body.length} bytes)`,
        undefined,
        'malformed',
      );
    }
  }

  /**
   * Watches `path` (which must ask for `watch=1`), calling `onEvents` as lines arrive. Resolves when
   * the server ends the stream; rejects on an error status, a transport failure, a malformed line
   * or the deadline.
   */
  async watch(path: string, options: WatchOptions): Promise<void> {
    let pending = '';
    await this.stream(
      path,
      options.headersTimeoutMs,
      options.deadlineMs,
      options.signal,
      options.onOpen,
      (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop()!;
        if (pending.length > MAX_LINE_BYTES) {
          throw new KubernetesError(
            `${this.serverText}: watch event larger than ${MAX_LINE_BYTES} bytes`,
            undefined,
            'malformed',
          );
        }
        const events: WatchEvent[] = [];
        for (const line of lines) {
          if (line.trim() === '') continue;
          const event = parseEvent(line);
          if (event === null) {
            throw new KubernetesError(
              `${this.serverText}: malformed watch event (${line.length} bytes, not {"type","object"} JSON)`,
              undefined,
              'malformed',
            );
          }
          events.push(event);
        }
        if (events.length > 0) options.onEvents(events);
      },
    );
    if (pending.trim() !== '')
      throw new KubernetesError(
        `${this.serverText}: watch stream ended inside an event`,
        undefined,
        'malformed',
      );
  }

  /** Closes every socket; later requests fail. */
  close(): void {
    this.closed = true;
    this.agent?.destroy();
    this.agent = null;
  }

  private agentFor(credentials: RequestCredentials): http.Agent {
    const c = this.connection;
    const identity = credentials.cert?.toString('base64') ?? '';
    if (this.agent !== null && this.agentIdentity === identity) return this.agent;
    this.agent?.destroy();
    this.agentIdentity = identity;
    this.agent =
      c.server.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 4,
            ...(c.ca !== undefined && { ca: c.ca }),
            ...(credentials.cert !== undefined && { cert: credentials.cert, key: credentials.key }),
            rejectUnauthorized: !c.insecureSkipTlsVerify,
            ...(c.tlsServerName !== undefined && { servername: c.tlsServerName }),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 4 });
    return this.agent;
  }

  /**
   * One GET: resolves at the end of a 2xx body, passing its chunks to `onData` (which may throw a
   * KubernetesError to abort); rejects with a KubernetesError naming the server, the path and the
   * cause (for an error status: the status and the API's Status message).
   */
  private async stream(
    path: string,
    headersTimeoutMs: number,
    deadlineMs: number,
    signal: AbortSignal | undefined,
    onOpen: (() => void) | undefined,
    onData: (chunk: string) => void,
  ): Promise<void> {
    const server = this.connection.server;
    const where = `${this.serverText}: GET ${shortPath(path)}`;
    if (this.closed) throw new KubernetesError(`${where}: client closed`);
    const credentials = await this.credentials.current();
    if (credentials.token !== undefined && server.protocol === 'http:' && !isLoopbackHost(server.hostname)) {
      throw new KubernetesError(
        `refusing to send a bearer token over plain http:// to ${server.host}: anyone on the path could read it; use https:// (plain http is allowed only to a loopback host, as with kubectl proxy)`,
        undefined,
        'config',
      );
    }
    if (signal?.aborted) throw new KubernetesError(`${where}: aborted`);
    const headers: http.OutgoingHttpHeaders = {
      Accept: 'application/json',
      'User-Agent': 'grpc-consistent-hash',
    };
    if (credentials.token !== undefined) headers['Authorization'] = `Bearer ${credentials.token}`;
    const transport = server.protocol === 'https:' ? https : http;
    const agent = this.agentFor(credentials);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error: KubernetesError | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(headersTimer);
        clearTimeout(deadlineTimer);
        signal?.removeEventListener('abort', onAbort);
        if (error === null) resolve();
        else {
          request.destroy();
          reject(error);
        }
      };
      const onAbort = () => settle(new KubernetesError(`${where}: aborted`));
      const request = transport.request({
        host: server.hostname.replace(/^\[|\]$/g, ''),
        port: server.port || (server.protocol === 'https:' ? 443 : 80),
        method: 'GET',
        path: `${server.pathname.replace(/\/$/, '')}${path}`,
        headers,
        agent,
      });
      const headersTimer = setTimeout(
        () => settle(new KubernetesError(`${where}: no answer within ${headersTimeoutMs} ms`)),
        headersTimeoutMs,
      );
      const deadlineTimer = setTimeout(
        () => settle(new KubernetesError(`${where}: not finished within ${deadlineMs} ms`)),
        deadlineMs,
      );
      headersTimer.unref();
      deadlineTimer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      // The keep-alive agent re-refs a socket on reuse, so unref on every request.
      request.on('socket', (socket) => socket.unref());
      request.on('error', (error: NodeJS.ErrnoException) =>
        settle(new KubernetesError(`${where}: ${describeTransportError(error)}`)),
      );
      request.on('response', (res) => {
        clearTimeout(headersTimer);
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        if (status === 401) this.credentials.invalidate();
        const errorBody: string[] = [];
        let errorSize = 0;
        res.setEncoding('utf8');
        if (ok) onOpen?.();
        res.on('data', (chunk: string) => {
          if (settled) return;
          if (!ok) {
            errorSize += chunk.length;
            if (errorSize <= 64 * 1024) errorBody.push(chunk);
            return;
          }
          try {
            onData(chunk);
          } catch (error) {
            settle(
              error instanceof KubernetesError ? error : new KubernetesError(`${where}: ${String(error)}`),
            );
          }
        });
        res.on('end', () =>
          settle(
            ok
              ? null
              : new KubernetesError(`${where}: ${describeStatus(status, errorBody.join(''))}`, status),
          ),
        );
        const lost = () => settle(new KubernetesError(`${where}: connection lost mid-response`));
        res.on('error', lost);
        res.on('aborted', lost);
        res.on('close', () => {
          if (!res.complete) lost();
        });
      });
      request.end();
    });
  }
}

function parseEvent(line: string): WatchEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const { type, object } = value as { type?: unknown; object?: unknown };
  if (typeof type !== 'string' || object === null || typeof object !== 'object') return null;
  return { type, object };
}

/** `401 Unauthorized: <the Status message>`; the message is the API's own, which names the resource and user. */
export function describeStatus(status: number, body: string): string {
  const reason = http.STATUS_CODES[status] ?? 'HTTP error';
  let message = '';
  try {
    const parsed = JSON.parse(body) as { kind?: unknown; message?: unknown };
    if (parsed.kind === 'Status' && typeof parsed.message === 'string') message = parsed.message;
  } catch {
    message = body.trim().replace(/\s+/g, ' ');
  }
  if (message.length > 300) message = `${message.slice(0, 300)}...`;
  return `${status} ${reason}${message && message !== reason ? `: ${message}` : ''}`;
}

function describeTransportError(error: NodeJS.ErrnoException): string {
  const code = error.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  if (code === 'ECONNRESET') return 'connection reset (ECONNRESET)';
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO|TLS|SSL/.test(code)) {
    return `TLS: ${error.message} (${code}; check the cluster's certificate-authority)`;
  }
  return code ?? error.message;
}

/** A path for messages: the query decoded (it holds no secrets), cut short if long. */
function shortPath(path: string): string {
  let text = path;
  try {
    text = decodeURIComponent(path);
  } catch {
    // Not percent-encoded text: shown as it is.
  }
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
