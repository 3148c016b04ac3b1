/**
 * A stateful Kubernetes API double for EndpointSlices (`discovery.k8s.io/v1`), on 127.0.0.1 with an
 * ephemeral port, following the documented API semantics:
 * - list (with `labelSelector`, `limit`/`continue`) and watch (`watch=1`, `resourceVersion`,
 *   `allowWatchBookmarks`, `timeoutSeconds`) as newline-delimited JSON; a watch without a
 *   resourceVersion (or "0") starts with ADDED events for what exists;
 * - one resourceVersion counter for every write; compaction makes older versions answer 410 Gone,
 *   as an HTTP 410 or as a 200 with an ERROR event whose object is a Status with code 410;
 * - bearer tokens with per-namespace rights: 401 and 403 with `Status` bodies as the API server
 *   writes them;
 * - create/replace/delete (POST, PUT, DELETE) and the discovery documents kubectl reads;
 * - fault switches (down, hang, 500, garbage, reset), a request log, and ending open watches.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** An EndpointSlice as stored (any JSON object with metadata.name). */
export type StoredSlice = Record<string, unknown> & {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
};

/** A fault for every API request: `down` refuses connections, `reset` drops them, `hang` never answers. */
export type KubernetesFault = 'down' | 'hang' | 'status-500' | 'garbage' | 'reset';

/** One request the double received. */
export interface KubernetesRequest {
  method: string;
  /** `list`, `watch`, `get`, `create`, `replace`, `delete` or `discovery`. */
  verb: string;
  path: string;
  query: URLSearchParams;
  /** The status answered (0 when the request was dropped or hung). */
  status: number;
  at: number;
}

/** Settings for {@link KubernetesApiDouble.start}. */
export interface KubernetesDoubleOptions {
  /** Bearer tokens and the namespaces each may read (`'*'`: all). Absent: no authentication. */
  tokens?: Record<string, readonly string[] | '*'>;
  /** Serve https with this key and certificate (PEM); with `clientCa`, require a client certificate it issued. */
  tls?: { key: string | Buffer; cert: string | Buffer; clientCa?: string | Buffer };
  /** How a too-old resourceVersion of a watch is answered (default `event`, as the API server does). */
  goneAs?: 'http' | 'event';
  /** Send BOOKMARK events this often to watches that allow them (default 1000 ms; 0: never by itself). */
  bookmarkIntervalMs?: number;
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  namespace: string;
  object: StoredSlice;
}

interface OpenWatch {
  namespace: string;
  /** The label selector as the client sent it. */
  labelSelector: string | null;
  selector: (labels: Record<string, string> | undefined) => boolean;
  res: http.ServerResponse;
  bookmarks: boolean;
  end: () => void;
}

const GROUP = 'discovery.k8s.io';
const GROUP_VERSION = `${GROUP}/v1`;
const COLLECTION = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices(?:\/([^/]+))?$/;
const MAX_HISTORY = 100_000;
const MAX_RECORDED = 10_000;

function status(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details !== undefined && { details }),
    code,
  });
}

/** Parses an equality-based label selector (`a=b,c==d,e!=f,g,!h`); returns null when malformed. */
export function parseLabelSelector(
  text: string,
): ((labels: Record<string, string> | undefined) => boolean) | null {
  const terms: ((labels: Record<string, string>) => boolean)[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const notEqual = /^([\w./-]+)\s*!=\s*([\w.-]*)$/.exec(term);
    const equal = /^([\w./-]+)\s*==?\s*([\w.-]*)$/.exec(term);
    const absent = /^!([\w./-]+)$/.exec(term);
    const present = /^([\w./-]+)$/.exec(term);
    if (notEqual) terms.push((l) => l[notEqual[1]!] !== notEqual[2]);
    else if (equal) terms.push((l) => l[equal[1]!] === equal[2]);
    else if (absent) terms.push((l) => !(absent[1]! in l));
    else if (present) terms.push((l) => present[1]! in l);
    else return null;
  }
  return (labels) => terms.every((t) => t(labels ?? {}));
}

/** The Kubernetes API double; see the module comment. */
export class KubernetesApiDouble {
  /** Every request, in order (capped). */
  readonly requests: KubernetesRequest[] = [];
  goneAs: 'http' | 'event';
  private readonly slices = new Map<string, StoredSlice>();
  private readonly history: HistoryEntry[] = [];
  private resourceVersion = 1000;
  private compactedBefore = 0;
  private fault: KubernetesFault | null = null;
  private tokens: Record<string, readonly string[] | '*'> | undefined;
  private readonly watches = new Set<OpenWatch>();
  private readonly watchWaiters = new Set<(watch: OpenWatch) => void>();
  private readonly sockets = new Set<Socket>();
  private readonly bookmarkTimer: NodeJS.Timeout | null;
  private port = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly scheme: 'http' | 'https',
    options: KubernetesDoubleOptions,
  ) {
    this.tokens = options.tokens;
    this.goneAs = options.goneAs ?? 'event';
    const interval = options.bookmarkIntervalMs ?? 1000;
    this.bookmarkTimer = interval > 0 ? setInterval(() => this.sendBookmarks(), interval) : null;
    this.bookmarkTimer?.unref();
    server.on('connection', (socket: Socket) => {
      if (this.fault === 'down') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => this.handle(req, res));
  }

  /** Starts a double on 127.0.0.1 with an ephemeral port. */
  static async start(options: KubernetesDoubleOptions = {}): Promise<KubernetesApiDouble> {
    const server = options.tls
      ? https.createServer({
          key: options.tls.key,
          cert: options.tls.cert,
          ...(options.tls.clientCa !== undefined && {
            ca: options.tls.clientCa,
            requestCert: true,
            rejectUnauthorized: true,
          }),
        })
      : http.createServer();
    const double = new KubernetesApiDouble(server, options.tls ? 'https' : 'http', options);
    await double.listen(0);
    return double;
  }

  /** `http(s)://127.0.0.1:<port>`. */
  get url(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  /** The resourceVersion of the last write. */
  get currentResourceVersion(): number {
    return this.resourceVersion;
  }

  /** Number of watches open now. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Resolves once a watch of `service`'s slices is open (at once if one is); rejects after `timeoutMs`. */
  whenWatched(service: string, timeoutMs: number): Promise<void> {
    const selector = `kubernetes.io/service-name=${service}`;
    const open = (w: OpenWatch) => w.labelSelector === selector;
    if ([...this.watches].some(open)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchWaiters.delete(waiter);
        reject(new Error(`no watch of ${service} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (w: OpenWatch) => {
        if (!open(w)) return;
        clearTimeout(timer);
        this.watchWaiters.delete(waiter);
        resolve();
      };
      this.watchWaiters.add(waiter);
    });
  }

  /** The list and watch requests for `service` (by its label selector) since `sinceMs`. */
  requestsFor(service: string, sinceMs = 0): KubernetesRequest[] {
    const selector = `kubernetes.io/service-name=${service}`;
    return this.requests.filter((r) => r.at >= sinceMs && r.query.get('labelSelector') === selector);
  }

  /** Replaces the accepted tokens (a rotation: the old token stops working). */
  setTokens(tokens: Record<string, readonly string[] | '*'>): void {
    this.tokens = tokens;
  }

  /** Creates or replaces a slice; returns its new resourceVersion. */
  applySlice(namespace: string, slice: StoredSlice): number {
    const key = `${namespace}/${slice.metadata.name}`;
    const type = this.slices.has(key) ? 'MODIFIED' : 'ADDED';
    const rv = ++this.resourceVersion;
    const stored: StoredSlice = {
      ...slice,
      kind: 'EndpointSlice',
      apiVersion: GROUP_VERSION,
      metadata: { ...slice.metadata, namespace, resourceVersion: String(rv) },
    };
    this.slices.set(key, stored);
    this.record({ rv, type, namespace, object: stored });
    return rv;
  }

  /** Deletes a slice; returns whether it existed. */
  deleteSlice(namespace: string, name: string): boolean {
    const key = `${namespace}/${name}`;
    const old = this.slices.get(key);
    if (old === undefined) return false;
    this.slices.delete(key);
    const rv = ++this.resourceVersion;
    this.record({
      rv,
      type: 'DELETED',
      namespace,
      object: { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } },
    });
    return true;
  }

  /** Forgets history up to now: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.compactedBefore = this.resourceVersion;
    this.history.length = 0;
  }

  /** Ends every open watch normally (as the API server does at `timeoutSeconds` or on restart). */
  endWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watches) {
      if (w.bookmarks) {
        this.writeEvent(w.res, {
          type: 'BOOKMARK',
          object: {
            kind: 'EndpointSlice',
            apiVersion: GROUP_VERSION,
            metadata: { resourceVersion: String(this.resourceVersion) },
          },
        });
      }
    }
  }

  /** Sets (or clears, with null) the fault. `down` closes the listener and drops every connection. */
  async setFault(fault: KubernetesFault | null): Promise<void> {
    const wasDown = this.fault === 'down';
    this.fault = fault;
    if (fault === 'down' && !wasDown) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.dropConnections();
      });
    } else if (fault !== 'down' && wasDown) {
      await this.listen(this.port);
    }
  }

  /** Stops the double and drops every connection. */
  async stop(): Promise<void> {
    if (this.bookmarkTimer !== null) clearInterval(this.bookmarkTimer);
    this.fault = 'down';
    await new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
      this.dropConnections();
    });
  }

  private dropConnections(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private record(entry: HistoryEntry): void {
    this.history.push(entry);
    if (this.history.length > MAX_HISTORY) {
      this.history.shift();
      this.compactedBefore = this.history[0]!.rv - 1;
    }
    for (const w of this.watches) {
      if (w.namespace === entry.namespace && w.selector(entry.object.metadata.labels)) {
        this.writeEvent(w.res, { type: entry.type, object: entry.object });
      }
    }
  }

  private writeEvent(res: http.ServerResponse, event: object): void {
    if (!res.destroyed) res.write(`${JSON.stringify(event)}\n`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    const match = COLLECTION.exec(url.pathname);
    const watching = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
    let verb = 'discovery';
    if (match) {
      if (method === 'GET') verb = match[2] !== undefined ? 'get' : watching ? 'watch' : 'list';
      else verb = { POST: 'create', PUT: 'replace', DELETE: 'delete' }[method] ?? method.toLowerCase();
    }
    const entry: KubernetesRequest = {
      method,
      verb,
      path: url.pathname,
      query: url.searchParams,
      status: 0,
      at: Date.now(),
    };
    if (this.requests.length < MAX_RECORDED) this.requests.push(entry);
    const reply = (code: number, body: string) => {
      entry.status = code;
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(body);
    };
    switch (this.fault) {
      case 'hang':
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'status-500':
        reply(500, status(500, 'InternalError', 'Internal error occurred: the double was told to fail'));
        return;
      case 'garbage':
        if (verb === 'watch') {
          entry.status = 200;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"type":"ADDED","object":\n<html>oops</html>\n');
        } else reply(200, '<html>oops</html>');
        return;
      default:
        break;
    }
    if (!match) {
      this.discovery(url.pathname, reply);
      return;
    }
    const namespace = decodeURIComponent(match[1]!);
    if (this.tokens !== undefined) {
      const header = req.headers.authorization ?? '';
      const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
      const rights = token === undefined ? undefined : this.tokens[token];
      if (rights === undefined) {
        reply(401, status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      if (rights !== '*' && !rights.includes(namespace)) {
        const apiVerb =
          verb === 'get' || verb === 'list' || verb === 'watch' ? verb : verb === 'replace' ? 'update' : verb;
        reply(
          403,
          status(
            403,
            'Forbidden',
            `endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:test:client" cannot ${apiVerb} resource "endpointslices" in API group "discovery.k8s.io" in the namespace "${namespace}"`,
            { group: GROUP, kind: 'endpointslices' },
          ),
        );
        return;
      }
    }
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    if (method === 'GET' && name === undefined) {
      if (watching) this.watch(namespace, url.searchParams, res, entry);
      else this.list(namespace, url.searchParams, reply);
      return;
    }
    if (method === 'GET') {
      const slice = this.slices.get(`${namespace}/${name}`);
      if (slice) reply(200, JSON.stringify(slice));
      else reply(404, status(404, 'NotFound', `endpointslices.discovery.k8s.io "${name}" not found`));
      return;
    }
    if (method === 'DELETE') {
      if (this.deleteSlice(namespace, name!)) {
        reply(
          200,
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, group: GROUP, kind: 'endpointslices' },
          }),
        );
      } else reply(404, status(404, 'NotFound', `endpointslices.discovery.k8s.io "${name}" not found`));
      return;
    }
    if (method === 'POST' || method === 'PUT') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let slice: StoredSlice;
        try {
          slice = JSON.parse(Buffer.concat(chunks).toString('utf8')) as StoredSlice;
        } catch {
          reply(400, status(400, 'BadRequest', 'the body is not JSON'));
          return;
        }
        const sliceName = slice?.metadata?.name;
        if (typeof sliceName !== 'string' || (name !== undefined && name !== sliceName)) {
          reply(422, status(422, 'Invalid', 'metadata.name is missing or differs from the URL'));
          return;
        }
        const exists = this.slices.has(`${namespace}/${sliceName}`);
        if (method === 'POST' && exists) {
          reply(
            409,
            status(409, 'AlreadyExists', `endpointslices.discovery.k8s.io "${sliceName}" already exists`),
          );
          return;
        }
        if (method === 'PUT' && !exists) {
          reply(404, status(404, 'NotFound', `endpointslices.discovery.k8s.io "${sliceName}" not found`));
          return;
        }
        this.applySlice(namespace, slice);
        reply(method === 'POST' ? 201 : 200, JSON.stringify(this.slices.get(`${namespace}/${sliceName}`)));
      });
      return;
    }
    reply(405, status(405, 'MethodNotAllowed', `${method} is not supported by the double`));
  }

  private matching(
    namespace: string,
    selector: (labels: Record<string, string> | undefined) => boolean,
  ): StoredSlice[] {
    return [...this.slices.values()]
      .filter((s) => s.metadata.namespace === namespace && selector(s.metadata.labels))
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  }

  private list(namespace: string, query: URLSearchParams, reply: (code: number, body: string) => void): void {
    const selector = parseLabelSelector(query.get('labelSelector') ?? '');
    if (selector === null) {
      reply(400, status(400, 'BadRequest', `unable to parse requirement: ${query.get('labelSelector')}`));
      return;
    }
    const all = this.matching(namespace, selector);
    const limit = Number(query.get('limit') ?? '0');
    let start = 0;
    let rv = this.resourceVersion;
    const token = query.get('continue');
    if (token) {
      let parsed: { rv: number; start: number };
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { rv: number; start: number };
      } catch {
        reply(400, status(400, 'BadRequest', 'continue key is not valid'));
        return;
      }
      if (parsed.rv < this.compactedBefore) {
        reply(
          410,
          status(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result.',
          ),
        );
        return;
      }
      start = parsed.start;
      rv = parsed.rv;
    }
    const end = limit > 0 ? Math.min(all.length, start + limit) : all.length;
    const next =
      end < all.length ? Buffer.from(JSON.stringify({ rv, start: end })).toString('base64') : undefined;
    reply(
      200,
      JSON.stringify({
        kind: 'EndpointSliceList',
        apiVersion: GROUP_VERSION,
        metadata: { resourceVersion: String(rv), ...(next !== undefined && { continue: next }) },
        items: all.slice(start, end),
      }),
    );
  }

  private watch(
    namespace: string,
    query: URLSearchParams,
    res: http.ServerResponse,
    entry: KubernetesRequest,
  ): void {
    const selector = parseLabelSelector(query.get('labelSelector') ?? '');
    if (selector === null) {
      entry.status = 400;
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(status(400, 'BadRequest', 'unable to parse the label selector'));
      return;
    }
    const rvText = query.get('resourceVersion') ?? '';
    const from = rvText === '' || rvText === '0' ? null : Number(rvText);
    const gone = from !== null && (!Number.isInteger(from) || from < this.compactedBefore);
    const goneStatus = status(
      410,
      'Expired',
      `too old resource version: ${rvText} (${this.compactedBefore})`,
    );
    if (gone && this.goneAs === 'http') {
      entry.status = 410;
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(goneStatus);
      return;
    }
    entry.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (gone) {
      this.writeEvent(res, { type: 'ERROR', object: JSON.parse(goneStatus) });
      res.end();
      return;
    }
    if (from === null) {
      for (const slice of this.matching(namespace, selector))
        this.writeEvent(res, { type: 'ADDED', object: slice });
    } else {
      for (const h of this.history) {
        if (h.rv > from && h.namespace === namespace && selector(h.object.metadata.labels)) {
          this.writeEvent(res, { type: h.type, object: h.object });
        }
      }
    }
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '1800');
    const watch: OpenWatch = {
      namespace,
      labelSelector: query.get('labelSelector'),
      selector,
      res,
      bookmarks: query.get('allowWatchBookmarks') === 'true',
      end: () => {
        clearTimeout(timer);
        this.watches.delete(watch);
        if (!res.destroyed) res.end();
      },
    };
    const timer = setTimeout(() => watch.end(), Math.max(0, timeoutSeconds) * 1000);
    timer.unref();
    res.on('close', () => {
      clearTimeout(timer);
      this.watches.delete(watch);
    });
    this.watches.add(watch);
    for (const waiter of [...this.watchWaiters]) waiter(watch);
  }

  /** The discovery documents kubectl reads before it lists a resource. */
  private discovery(path: string, reply: (code: number, body: string) => void): void {
    const documents: Record<string, object> = {
      '/version': { major: '1', minor: '30', gitVersion: 'v1.30.0-double', platform: 'linux/amd64' },
      '/api': {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.port}` }],
      },
      '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [] },
      '/apis': {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [
          {
            name: GROUP,
            versions: [{ groupVersion: GROUP_VERSION, version: 'v1' }],
            preferredVersion: { groupVersion: GROUP_VERSION, version: 'v1' },
          },
        ],
      },
      [`/apis/${GROUP_VERSION}`]: {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: GROUP_VERSION,
        resources: [
          {
            name: 'endpointslices',
            singularName: 'endpointslice',
            namespaced: true,
            kind: 'EndpointSlice',
            verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          },
        ],
      },
    };
    const document = documents[path.replace(/\/$/, '') || '/'];
    if (document) reply(200, JSON.stringify(document));
    else reply(404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }
}
