import * as http from 'node:http';
import * as https from 'node:https';
import { agentToString, type ConsulAgentAddress } from './agent';

/** A Consul HTTP API answer. */
export interface ConsulHttpResponse {
  status: number;
  /** `X-Consul-Index`, parsed; `undefined` when absent or not a number. */
  index: number | undefined;
  /** `Retry-After` (delay-seconds or an HTTP date), in ms; `undefined` when absent or unreadable. */
  retryAfterMs: number | undefined;
  body: string;
}

/** `Retry-After` as RFC 9110 §10.2.3 writes it (seconds, or an HTTP date) → ms from `now`. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** One Consul HTTP request. */
export interface ConsulHttpRequest {
  method: 'GET' | 'PUT';
  /** Path and query, e.g. `/v1/health/service/web?passing=1`. */
  path: string;
  body?: unknown;
  token?: string;
  /** Overall timeout in ms, from sending to the end of the body. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A failed Consul request; the message names the agent and the cause, never the token. */
export class ConsulHttpError extends Error {
  override readonly name = 'ConsulHttpError';
  constructor(
    message: string,
    /** HTTP status, when the agent answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * A small Consul HTTP client over node:http(s), with one keep-alive agent per client so that
 * `close()` releases every socket (a long-poll must not keep a process alive after destroy).
 */
export class ConsulHttpClient {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  /**
   * @param unrefSockets let the process exit while a request is in flight (a resolver's long-poll
   *   must not keep a process alive; grpc-js keeps it alive while calls are pending)
   */
  constructor(
    readonly address: ConsulAgentAddress,
    ca?: string | Buffer,
    private readonly unrefSockets = false,
  ) {
    if (address.scheme === 'https') {
      this.transport = https;
      this.agent = new https.Agent({ keepAlive: true, maxSockets: 4, ...(ca !== undefined && { ca }) });
    } else {
      this.transport = http;
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    }
  }

  /** `scheme://host:port`, for messages. */
  get addressString(): string {
    return agentToString(this.address);
  }

  /** Sends a request; rejects with {@link ConsulHttpError} on transport errors, timeouts and aborts. */
  request(req: ConsulHttpRequest): Promise<ConsulHttpResponse> {
    const where = `Consul at ${this.addressString}`;
    return new Promise((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(new ConsulHttpError(`${where}: request aborted`));
        return;
      }
      const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
      const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
      if (req.token !== undefined) headers['X-Consul-Token'] = req.token;
      if (payload !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = payload.length;
      }
      let settled = false;
      const finish = (error: ConsulHttpError | null, value?: ConsulHttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (error) {
          request.destroy();
          reject(error);
        } else resolve(value!);
      };
      const onAbort = () => finish(new ConsulHttpError(`${where}: request aborted`));
      const request = this.transport.request({
        host: this.address.host,
        port: this.address.port,
        method: req.method,
        path: req.path,
        headers,
        agent: this.agent,
      });
      const timer = setTimeout(
        () => finish(new ConsulHttpError(`${where}: no answer within ${req.timeoutMs} ms`)),
        req.timeoutMs,
      );
      if (this.unrefSockets) {
        timer.unref();
        // The keep-alive agent re-refs a socket on reuse, so unref on every request.
        request.on('socket', (socket) => socket.unref());
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error: NodeJS.ErrnoException) =>
        finish(new ConsulHttpError(`${where}: ${error.code ?? error.message}`)),
      );
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            finish(new ConsulHttpError(`${where}: response larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error) => finish(new ConsulHttpError(`${where}: ${error.message}`)));
        response.on('aborted', () => finish(new ConsulHttpError(`${where}: connection closed mid-response`)));
        response.on('end', () => {
          const rawIndex = response.headers['x-consul-index'];
          const indexText = Array.isArray(rawIndex) ? rawIndex[0] : rawIndex;
          const index = indexText !== undefined && /^\d+$/.test(indexText) ? Number(indexText) : undefined;
          const retryAfter = response.headers['retry-after'];
          finish(null, {
            status: response.statusCode ?? 0,
            index,
            retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      request.end(payload);
    });
  }

  /** Releases every socket of this client. */
  close(): void {
    this.agent.destroy();
  }
}

/** Consul's error body, shortened for a message; `secret` (the token) is redacted if echoed. */
export function describeConsulError(status: number, body: string, secret: string | undefined): string {
  let text = body.trim().replace(/\s+/g, ' ');
  if (secret) text = text.split(secret).join('<redacted>');
  if (text.length > 200) text = `${text.slice(0, 200)}...`;
  return `HTTP ${status}${text ? `: ${text}` : ''}`;
}
