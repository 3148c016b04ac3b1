/**
 * A stateful Consul HTTP API double for tests, on 127.0.0.1 with an ephemeral port.
 * Built from Consul's documented HTTP API (agent service/check endpoints, health service
 * endpoint, blocking queries, ACL answers), plus fault injection and request counters.
 * See docs/resolvers/consul.md (Testing) for what it implements and what it leaves out.
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import { parseGoDuration } from '../../src/go-duration';

/** What a token may do. Consul's real model is rule-based; the double keeps the three rights we need. */
export interface ConsulDoubleAclRights {
  serviceRead?: boolean;
  nodeRead?: boolean;
  serviceWrite?: boolean;
}

/** Settings for {@link ConsulDouble.start}. */
export interface ConsulDoubleOptions {
  /** The agent's datacenter (default `dc1`). */
  datacenter?: string;
  /** Further known datacenters; others answer 500 "No path to datacenter". */
  otherDatacenters?: string[];
  /** The agent's node name and address (defaults `double-node`, 127.0.0.1). */
  nodeName?: string;
  nodeAddress?: string;
  /** ACLs on: tokens and their rights; a token not listed gets 403 "ACL not found". */
  acl?: { tokens: Record<string, ConsulDoubleAclRights>; anonymous?: ConsulDoubleAclRights };
  /** Serve https with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Run registered gRPC checks against the real servers (default true). */
  runGrpcChecks?: boolean;
}

/** An injected fault for `GET /v1/health/service/...`. */
export type ConsulDoubleFault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'hang' }
  | { kind: 'malformed-json' }
  | { kind: 'wrong-shape' }
  | { kind: 'index-zero' }
  | { kind: 'immediate' }
  | { kind: 'slow'; delayMs: number };

/** Any registry fault a test can put the double through: a reply fault, refused connections, the index reset to 1. */
export type ConsulRegistryFault = ConsulDoubleFault | 'refused' | 'index-backwards';

export type CheckStatus = 'passing' | 'warning' | 'critical';

interface DoubleCheck {
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Type: 'ttl' | 'grpc' | '';
  ttlMs?: number;
  ttlTimer?: NodeJS.Timeout;
  grpcTarget?: string;
  grpcService?: string;
  intervalMs?: number;
  timeoutMs?: number;
  grpcTimer?: NodeJS.Timeout;
  grpcClient?: grpc.Client;
  deregisterAfterMs?: number;
  reapTimer?: NodeJS.Timeout;
}

interface DoubleService {
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  Port: number;
  Meta: Record<string, string>;
  Weights: { Passing: number; Warning: number };
  Datacenter: string;
  Node: { Node: string; Address: string; Datacenter: string };
  checkIds: string[];
  ModifyIndex: number;
  CreateIndex: number;
}

/** One request the double received. */
export interface RecordedRequest {
  method: string;
  /** Route template, e.g. `GET /v1/health/service/:name`. */
  route: string;
  path: string;
  query: URLSearchParams;
  /** The `X-Consul-Token` header, if any. */
  token: string | undefined;
  at: number;
}

interface Waiter {
  service: string;
  dc: string;
  minIndex: number;
  /** `force`: return now even if the index did not pass minIndex (index reset, listener closed). */
  wake: (force: boolean) => void;
}

const MAX_RECORDED = 10_000;
const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;
type Reply = { status: number; body: string; index?: number; headers?: Record<string, string> };

/** A service's own fields, as both the agent and the health endpoint show them. */
function serviceFields(s: DoubleService) {
  return {
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Address: s.Address,
    Port: s.Port,
    Meta: s.Meta,
    Weights: s.Weights,
  };
}

/** A check's own fields, as both the agent and the health endpoint show them. */
function checkFields(c: DoubleCheck) {
  return {
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    Type: c.Type,
  };
}

/** The Consul double. Create with {@link ConsulDouble.start}; always `await stop()`. */
export class ConsulDouble extends EventEmitter {
  private server: http.Server;
  private port = 0;
  private globalIndex = 1;
  /** Per service name (within a dc) modify index, as health blocking queries watch. */
  private readonly serviceIndex = new Map<string, number>();
  private readonly services = new Map<string, DoubleService>();
  private readonly checks = new Map<string, DoubleCheck>();
  private readonly waiters = new Set<Waiter>();
  private readonly pendingTimers = new Set<NodeJS.Timeout>();
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly counts = new Map<string, number>();
  private fault: ConsulDoubleFault | null = null;
  private listening = false;
  private stopped = false;
  private readonly datacenter: string;
  private readonly datacenters: Set<string>;
  private readonly node: { Node: string; Address: string };
  /** Every request received (the most recent 10,000). */
  readonly requests: RecordedRequest[] = [];

  private constructor(private readonly options: ConsulDoubleOptions) {
    super();
    this.datacenter = options.datacenter ?? 'dc1';
    this.datacenters = new Set([this.datacenter, ...(options.otherDatacenters ?? [])]);
    this.node = { Node: options.nodeName ?? 'double-node', Address: options.nodeAddress ?? '127.0.0.1' };
    this.server = this.createServer();
  }

  /** Starts a double on 127.0.0.1 with an ephemeral port. */
  static async start(options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const double = new ConsulDouble(options);
    await double.listen(0);
    return double;
  }

  /** `127.0.0.1:port`: use as a `consul://` authority or `CONSUL_HTTP_ADDR`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The current raft-like index (bumped on every change). */
  get index(): number {
    return this.globalIndex;
  }

  /** Health queries currently blocked (waiting for a change) or hung by a fault. */
  get blockedQueries(): number {
    return this.waiters.size + this.hanging.size;
  }

  /** Injects a fault into health queries (`null` clears it). Requests already hanging stay hung. */
  setFault(fault: ConsulDoubleFault | null): void {
    this.fault = fault;
  }

  /** Starts `fault`: a reply fault, the listener closed ('refused'), or every index reset to 1. */
  async startFault(fault: ConsulRegistryFault): Promise<void> {
    if (fault === 'refused') await this.closeListener();
    else if (fault === 'index-backwards') this.resetIndex(1);
    else this.setFault(fault);
  }

  /** Ends what {@link startFault} started (a reset index stays reset, as a rebuilt cluster's would). */
  async endFault(fault: ConsulRegistryFault): Promise<void> {
    if (fault === 'refused') await this.reopenListener();
    else this.setFault(null);
  }

  /** Requests received for a route, e.g. `GET /v1/health/service/:name`. */
  count(route: string): number {
    return this.counts.get(route) ?? 0;
  }

  /** Resolves once `route` has been requested at least `n` times in total; rejects after `timeoutMs`. */
  waitForCount(route: string, n: number, timeoutMs = 10_000): Promise<void> {
    if (this.count(route) >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onRequest = () => {
        if (this.count(route) >= n) {
          clearTimeout(timer);
          this.off('request', onRequest);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.off('request', onRequest);
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${n} x ${route} (got ${this.count(route)})`),
        );
      }, timeoutMs);
      this.on('request', onRequest);
    });
  }

  /** Stops listening (clients get "connection refused"); state is kept. Open connections are cut. */
  async closeListener(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    this.wakeAll(true);
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Listens again on the same port, as an agent coming back. */
  async reopenListener(): Promise<void> {
    if (this.listening) return;
    this.server = this.createServer();
    await this.listen(this.port);
  }

  /**
   * Sets every index back to `value` (as a Consul cluster rebuilt from scratch): answers
   * now carry a lower X-Consul-Index. Blocked queries return at once.
   */
  resetIndex(value: number): void {
    this.globalIndex = value;
    for (const key of this.serviceIndex.keys()) this.serviceIndex.set(key, value);
    for (const s of this.services.values()) s.ModifyIndex = Math.min(s.ModifyIndex, value);
    this.wakeAll(true);
  }

  /** Forgets every agent service and check, as an agent restarted without its state. */
  simulateAgentRestart(): void {
    for (const id of [...this.services.keys()]) this.removeService(id);
  }

  /** Sets a check's status directly (as if the agent's check had run). */
  setCheckStatus(checkId: string, status: CheckStatus, output = ''): void {
    const check = this.checks.get(checkId);
    if (!check) throw new Error(`consul double: no check ${checkId}`);
    this.updateCheck(check, status, output);
  }

  /** A snapshot of the registered services, keyed by ID. */
  listServices(): Record<string, Readonly<DoubleService>> {
    return Object.fromEntries([...this.services].map(([id, s]) => [id, { ...s }]));
  }

  /** A snapshot of the checks, keyed by CheckID. */
  listChecks(): Record<string, { Status: CheckStatus; Output: string; ServiceID: string; Type: string }> {
    return Object.fromEntries(
      [...this.checks].map(([id, c]) => [
        id,
        { Status: c.Status, Output: c.Output, ServiceID: c.ServiceID, Type: c.Type },
      ]),
    );
  }

  /**
   * Adds a service instance directly to the catalog (e.g. on another node or datacenter),
   * with no checks, so it counts as passing.
   */
  addCatalogService(entry: {
    id: string;
    name: string;
    address?: string;
    port: number;
    tags?: string[];
    meta?: Record<string, string>;
    weight?: number;
    datacenter?: string;
    node?: { Node: string; Address: string };
  }): void {
    const dc = entry.datacenter ?? this.datacenter;
    this.datacenters.add(dc);
    const index = this.bump(entry.name, dc);
    this.services.set(entry.id, {
      ID: entry.id,
      Service: entry.name,
      Tags: entry.tags ?? [],
      Address: entry.address ?? '',
      Port: entry.port,
      Meta: entry.meta ?? {},
      Weights: { Passing: entry.weight ?? 1, Warning: 1 },
      Datacenter: dc,
      Node: { ...(entry.node ?? this.node), Datacenter: dc },
      checkIds: [],
      CreateIndex: index,
      ModifyIndex: index,
    });
  }

  /** Removes a service instance (as `PUT /v1/agent/service/deregister/<id>` does). */
  removeCatalogService(id: string): void {
    this.removeService(id);
  }

  /** Stops everything: listener, connections, check timers and clients. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const id of [...this.services.keys()]) this.removeService(id, false);
    for (const timer of this.pendingTimers) clearTimeout(timer);
    this.pendingTimers.clear();
    await this.closeListener();
    this.removeAllListeners();
  }

  // ---- internals ----

  private createServer(): http.Server {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.handle(req, res).catch((error: unknown) => {
        this.reply(res, { status: 500, body: `double error: ${(error as Error).message}` });
      });
    };
    const tls = this.options.tls;
    const server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert }, listener)
      : http.createServer(listener);
    server.keepAliveTimeout = 60_000;
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  private timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.pendingTimers.delete(t);
      fn();
    }, ms);
    this.pendingTimers.add(t);
    return t;
  }

  private clearTimer(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.pendingTimers.delete(t);
  }

  private bump(serviceName: string, dc: string): number {
    this.globalIndex++;
    this.serviceIndex.set(`${dc}/${serviceName}`, this.globalIndex);
    this.wakeAll();
    return this.globalIndex;
  }

  private wakeAll(force = false): void {
    for (const waiter of [...this.waiters]) waiter.wake(force);
  }

  private currentIndex(service: string, dc: string): number {
    return Math.max(1, this.serviceIndex.get(`${dc}/${service}`) ?? this.globalIndex);
  }

  private reply(res: http.ServerResponse, reply: Reply): void {
    if (res.writableEnded || res.destroyed) return;
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', ...reply.headers };
    if (reply.index !== undefined) headers['X-Consul-Index'] = String(reply.index);
    headers['X-Consul-KnownLeader'] = 'true';
    res.writeHead(reply.status, headers);
    res.end(reply.body);
  }

  private json(status: number, value: unknown, index?: number, headers?: Record<string, string>): Reply {
    return {
      status,
      body: JSON.stringify(value),
      ...(index !== undefined && { index }),
      headers: { ...headers, 'Content-Type': 'application/json' },
    };
  }

  /** The rights of a request's token, or a 403 reply when the token is unknown. */
  private rights(token: string | undefined): ConsulDoubleAclRights | Reply {
    const acl = this.options.acl;
    if (!acl) return { serviceRead: true, nodeRead: true, serviceWrite: true };
    if (token === undefined || token === '') return acl.anonymous ?? {};
    const rights = acl.tokens[token];
    if (!rights) return { status: 403, body: 'ACL not found' };
    return rights;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    const rawToken = req.headers['x-consul-token'];
    const token = Array.isArray(rawToken) ? rawToken[0] : rawToken;
    const path = url.pathname;
    const note = url.searchParams.get('note') ?? '';
    const body = await readBody(req);
    // Route templates: ":x" is the rest of the path after the prefix.
    const table: [string, (param: string) => Reply | Promise<Reply | null>][] = [
      ['GET /v1/health/service/:name', (n) => this.healthService(n, url.searchParams, token, res)],
      ['PUT /v1/agent/service/register', () => this.registerService(body, token)],
      ['PUT /v1/agent/service/deregister/:id', (id) => this.deregisterService(id, token)],
      ['PUT /v1/agent/check/pass/:id', (id) => this.ttlUpdate(id, 'passing', note, token)],
      ['PUT /v1/agent/check/warn/:id', (id) => this.ttlUpdate(id, 'warning', note, token)],
      ['PUT /v1/agent/check/fail/:id', (id) => this.ttlUpdate(id, 'critical', note, token)],
      ['GET /v1/agent/services', () => this.agentServices(token)],
      ['GET /v1/agent/checks', () => this.agentChecks(token)],
      ['GET /v1/status/leader', () => this.json(200, '127.0.0.1:8300')],
    ];
    let route = `${method} (unknown)`;
    let handler: () => Reply | Promise<Reply | null> = () => ({ status: 404, body: '404 page not found\n' });
    for (const [template, fn] of table) {
      const templatePath = template.slice(template.indexOf(' ') + 1);
      const colon = templatePath.indexOf(':');
      const prefix = colon < 0 ? templatePath : templatePath.slice(0, colon);
      const hit = colon < 0 ? path === prefix : path.startsWith(prefix) && path.length > prefix.length;
      if (!hit) continue;
      route = template;
      const param = decodeURIComponent(path.slice(prefix.length));
      handler = () => fn(param);
      break;
    }
    const expectedMethod = route.split(' ')[0];
    if (expectedMethod !== method && !route.includes('(unknown)')) {
      handler = () => ({ status: 405, body: `method ${method} not allowed` });
    }
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
    if (this.requests.length >= MAX_RECORDED) this.requests.shift();
    this.requests.push({ method, route, path, query: url.searchParams, token, at: Date.now() });
    this.emit('request', route);
    const reply = await handler();
    if (reply !== null) this.reply(res, reply);
  }

  /** `GET /v1/health/service/<name>`: passing, repeated tag, dc, index + wait blocking; faults. */
  private async healthService(
    name: string,
    query: URLSearchParams,
    token: string | undefined,
    res: http.ServerResponse,
  ): Promise<Reply | null> {
    const rights = this.rights(token);
    if ('status' in rights) return rights;
    const dc = query.get('dc') ?? this.datacenter;
    if (!this.datacenters.has(dc)) return { status: 500, body: 'No path to datacenter' };
    let waitMs = DEFAULT_WAIT_MS;
    const waitText = query.get('wait');
    if (waitText !== null) {
      const parsed = parseGoDuration(waitText);
      if (parsed === null) return { status: 400, body: `Invalid wait time: "${waitText}"` };
      waitMs = Math.min(parsed, MAX_WAIT_MS);
    }
    const indexText = query.get('index');
    let minIndex = 0;
    if (indexText !== null) {
      if (!/^\d+$/.test(indexText)) return { status: 400, body: `Invalid index: "${indexText}"` };
      minIndex = Number(indexText);
    }

    const fault = this.fault;
    if (fault?.kind === 'status') {
      return {
        status: fault.status,
        body: fault.body ?? 'injected failure',
        ...(fault.headers && { headers: fault.headers }),
      };
    }
    if (fault?.kind === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return null;
    }
    if (fault?.kind === 'slow') await this.delay(fault.delayMs);
    const answerAtOnce = fault?.kind === 'immediate' || fault?.kind === 'index-zero';

    if (!answerAtOnce && minIndex > 0 && this.currentIndex(name, dc) <= minIndex) {
      // Block until the index passes minIndex, or wait plus up to wait/16 of jitter.
      const jitter = Math.random() * (waitMs / 16);
      await new Promise<void>((resolve) => {
        const waiter: Waiter = {
          service: name,
          dc,
          minIndex,
          wake: (force) => {
            if (force || !this.listening || this.currentIndex(name, dc) > minIndex) finish();
          },
        };
        const finish = () => {
          this.waiters.delete(waiter);
          this.clearTimer(timer);
          res.off('close', finish);
          resolve();
        };
        const timer = this.timer(finish, waitMs + jitter);
        res.on('close', finish);
        this.waiters.add(waiter);
      });
      if (res.destroyed) return null;
    }
    if (this.fault?.kind === 'malformed-json') {
      return { status: 200, body: '[{"Node": {"Node": "broken"', index: this.currentIndex(name, dc) };
    }
    if (this.fault?.kind === 'wrong-shape') {
      return this.json(200, { Service: 'not an array' }, this.currentIndex(name, dc));
    }
    const index = this.fault?.kind === 'index-zero' ? 0 : this.currentIndex(name, dc);
    if (!rights.serviceRead || !rights.nodeRead) {
      // Consul filters what the token may not read: a 200 with an empty list.
      return this.json(200, [], index, { 'X-Consul-Results-Filtered-By-ACLs': 'true' });
    }
    const passingOnly =
      query.has('passing') && query.get('passing') !== 'false' && query.get('passing') !== '0';
    const tags = query.getAll('tag');
    const entries = [...this.services.values()]
      .filter((s) => s.Service === name && s.Datacenter === dc)
      .filter((s) => tags.every((t) => s.Tags.includes(t)))
      .map((s) => this.healthEntry(s))
      .filter((e) => !passingOnly || e.Checks.every((c) => c.Status === 'passing'));
    return this.json(200, entries, index);
  }

  private healthEntry(s: DoubleService) {
    const serfHealth = {
      Node: s.Node.Node,
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: 'passing',
      Output: 'Agent alive and reachable',
      ServiceID: '',
      ServiceName: '',
      Type: '',
    };
    return {
      Node: {
        ID: '',
        Node: s.Node.Node,
        Address: s.Node.Address,
        Datacenter: s.Datacenter,
        TaggedAddresses: {},
        Meta: {},
      },
      Service: {
        ...serviceFields(s),
        TaggedAddresses: {},
        EnableTagOverride: false,
        CreateIndex: s.CreateIndex,
        ModifyIndex: s.ModifyIndex,
      },
      Checks: [
        serfHealth,
        ...s.checkIds.map((id) => ({ Node: s.Node.Node, ...checkFields(this.checks.get(id)!) })),
      ],
    };
  }

  private registerService(body: string, token: string | undefined): Reply {
    let def: Record<string, unknown>;
    try {
      def = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      return { status: 400, body: 'Request decode failed: invalid character' };
    }
    if (typeof def !== 'object' || def === null || Array.isArray(def)) {
      return { status: 400, body: 'Request decode failed: expected an object' };
    }
    const name = def['Name'];
    if (typeof name !== 'string' || name === '') return { status: 400, body: 'Missing service name' };
    const rights = this.rights(token);
    if ('status' in rights) return rights;
    if (!rights.serviceWrite) {
      return { status: 403, body: `Permission denied: token lacks permission 'service:write' on "${name}"` };
    }
    const id = typeof def['ID'] === 'string' && def['ID'] !== '' ? (def['ID'] as string) : name;
    const port = def['Port'] ?? 0;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      return { status: 400, body: 'Request decode failed: Port' };
    }
    const weightsIn = (def['Weights'] ?? { Passing: 1, Warning: 1 }) as Record<string, unknown>;
    const passingWeight = weightsIn['Passing'] ?? 1;
    const warningWeight = weightsIn['Warning'] ?? 1;
    if (typeof passingWeight !== 'number' || passingWeight < 1) {
      return { status: 400, body: 'Invalid Weights Passing: must be greater than 0' };
    }
    if (typeof warningWeight !== 'number' || warningWeight < 0) {
      return { status: 400, body: 'Invalid Weights Warning: must be greater or equal than 0' };
    }
    const checkDefs: Record<string, unknown>[] = [];
    if (def['Check'] !== undefined && def['Check'] !== null)
      checkDefs.push(def['Check'] as Record<string, unknown>);
    if (Array.isArray(def['Checks'])) checkDefs.push(...(def['Checks'] as Record<string, unknown>[]));
    const newChecks: DoubleCheck[] = [];
    for (const [i, cd] of checkDefs.entries()) {
      const checkId =
        typeof cd['CheckID'] === 'string' && cd['CheckID'] !== ''
          ? (cd['CheckID'] as string)
          : checkDefs.length > 1
            ? `service:${id}:${i + 1}`
            : `service:${id}`;
      const base: DoubleCheck = {
        CheckID: checkId,
        Name: typeof cd['Name'] === 'string' ? (cd['Name'] as string) : `Service '${name}' check`,
        Status: (cd['Status'] as CheckStatus | undefined) ?? 'critical',
        Output: '',
        ServiceID: id,
        ServiceName: name,
        Type: '',
      };
      const dcsa = cd['DeregisterCriticalServiceAfter'];
      if (typeof dcsa === 'string') {
        const ms = parseGoDuration(dcsa);
        if (ms === null)
          return { status: 400, body: `Invalid check: DeregisterCriticalServiceAfter "${dcsa}"` };
        base.deregisterAfterMs = ms;
      }
      if (typeof cd['TTL'] === 'string' && cd['TTL'] !== '') {
        const ttl = parseGoDuration(cd['TTL'] as string);
        if (ttl === null || ttl <= 0)
          return { status: 400, body: `Invalid check: TTL "${String(cd['TTL'])}"` };
        base.Type = 'ttl';
        base.ttlMs = ttl;
      } else if (typeof cd['GRPC'] === 'string' && cd['GRPC'] !== '') {
        const interval =
          typeof cd['Interval'] === 'string' ? parseGoDuration(cd['Interval'] as string) : null;
        if (interval === null || interval <= 0) {
          return { status: 400, body: 'Invalid check: Interval must be > 0 for a GRPC check' };
        }
        const timeout = typeof cd['Timeout'] === 'string' ? parseGoDuration(cd['Timeout'] as string) : 10_000;
        if (timeout === null)
          return { status: 400, body: `Invalid check: Timeout "${String(cd['Timeout'])}"` };
        const grpcText = cd['GRPC'] as string;
        const slash = grpcText.indexOf('/');
        base.Type = 'grpc';
        base.grpcTarget = slash < 0 ? grpcText : grpcText.slice(0, slash);
        base.grpcService = slash < 0 ? '' : grpcText.slice(slash + 1);
        base.intervalMs = interval;
        base.timeoutMs = timeout;
      } else {
        return {
          status: 400,
          body: 'Invalid check: TTL or GRPC must be specified (the double supports only these)',
        };
      }
      newChecks.push(base);
    }
    if (this.services.has(id)) this.removeService(id, false);
    const index = this.bump(name, this.datacenter);
    this.services.set(id, {
      ID: id,
      Service: name,
      Tags: Array.isArray(def['Tags']) ? (def['Tags'] as string[]) : [],
      Address: typeof def['Address'] === 'string' ? (def['Address'] as string) : '',
      Port: port,
      Meta: (def['Meta'] as Record<string, string> | undefined) ?? {},
      Weights: { Passing: passingWeight, Warning: warningWeight },
      Datacenter: this.datacenter,
      Node: { ...this.node, Datacenter: this.datacenter },
      checkIds: newChecks.map((c) => c.CheckID),
      CreateIndex: index,
      ModifyIndex: index,
    });
    for (const check of newChecks) {
      this.checks.set(check.CheckID, check);
      if (check.Type === 'ttl') this.armTtl(check);
      if (check.Type === 'grpc' && this.options.runGrpcChecks !== false) this.runGrpcCheck(check);
      if (check.Status === 'critical') this.armReaper(check);
    }
    return { status: 200, body: '' };
  }

  private deregisterService(id: string, token: string | undefined): Reply {
    const rights = this.rights(token);
    if ('status' in rights) return rights;
    if (!rights.serviceWrite)
      return { status: 403, body: "Permission denied: token lacks permission 'service:write'" };
    this.removeService(id);
    return { status: 200, body: '' };
  }

  private removeService(id: string, notify = true): void {
    const s = this.services.get(id);
    if (!s) return;
    this.services.delete(id);
    for (const checkId of s.checkIds) {
      const c = this.checks.get(checkId);
      if (!c) continue;
      this.clearTimer(c.ttlTimer);
      this.clearTimer(c.grpcTimer);
      this.clearTimer(c.reapTimer);
      c.grpcClient?.close();
      this.checks.delete(checkId);
    }
    if (notify) this.bump(s.Service, s.Datacenter);
  }

  private ttlUpdate(checkId: string, status: CheckStatus, note: string, token: string | undefined): Reply {
    const rights = this.rights(token);
    if ('status' in rights) return rights;
    const check = this.checks.get(checkId);
    if (!check) {
      return {
        status: 404,
        body: `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
      };
    }
    if (!rights.serviceWrite)
      return { status: 403, body: "Permission denied: token lacks permission 'service:write'" };
    if (check.Type !== 'ttl')
      return { status: 500, body: `CheckID "${checkId}" does not have associated TTL` };
    this.updateCheck(check, status, note);
    this.armTtl(check);
    return { status: 200, body: '' };
  }

  private agentServices(token: string | undefined): Reply {
    const rights = this.rights(token);
    if ('status' in rights) return rights;
    const out: Record<string, unknown> = {};
    if (rights.serviceRead) {
      for (const s of this.services.values()) {
        if (s.Node.Node !== this.node.Node || s.Datacenter !== this.datacenter) continue;
        out[s.ID] = serviceFields(s);
      }
    }
    return this.json(200, out);
  }

  private agentChecks(token: string | undefined): Reply {
    const rights = this.rights(token);
    if ('status' in rights) return rights;
    const out: Record<string, unknown> = {};
    if (rights.serviceRead) {
      for (const c of this.checks.values()) {
        out[c.CheckID] = checkFields(c);
      }
    }
    return this.json(200, out);
  }

  private updateCheck(check: DoubleCheck, status: CheckStatus, output: string): void {
    const changed = check.Status !== status || check.Output !== output;
    check.Status = status;
    check.Output = output;
    if (status === 'critical') this.armReaper(check);
    else {
      this.clearTimer(check.reapTimer);
      check.reapTimer = undefined;
    }
    if (changed && this.services.has(check.ServiceID)) {
      const s = this.services.get(check.ServiceID)!;
      s.ModifyIndex = this.bump(s.Service, s.Datacenter);
    }
  }

  /** A TTL check turns critical when not updated within its TTL. */
  private armTtl(check: DoubleCheck): void {
    this.clearTimer(check.ttlTimer);
    check.ttlTimer = this.timer(() => {
      check.ttlTimer = undefined;
      if (this.checks.get(check.CheckID) === check) this.updateCheck(check, 'critical', 'TTL expired');
    }, check.ttlMs!);
  }

  /** DeregisterCriticalServiceAfter (real Consul enforces at least 1m and reaps every 30 s; the double is exact). */
  private armReaper(check: DoubleCheck): void {
    if (check.deregisterAfterMs === undefined || check.reapTimer !== undefined) return;
    check.reapTimer = this.timer(() => {
      check.reapTimer = undefined;
      if (this.checks.get(check.CheckID) === check && check.Status === 'critical')
        this.removeService(check.ServiceID);
    }, check.deregisterAfterMs);
  }

  /** Calls grpc.health.v1.Health/Check on the target every Interval, as the agent does. */
  private runGrpcCheck(check: DoubleCheck): void {
    if (this.stopped || this.checks.get(check.CheckID) !== check) return;
    if (!check.grpcClient) {
      const HealthClient = grpc.makeGenericClientConstructor(
        healthServiceDefinition as unknown as grpc.ServiceDefinition,
        'Health',
      );
      check.grpcClient = new HealthClient(check.grpcTarget!, grpc.credentials.createInsecure());
    }
    const client = check.grpcClient as grpc.Client & {
      check(
        req: { service: string },
        opts: grpc.CallOptions,
        cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
      ): void;
    };
    client.check(
      { service: check.grpcService ?? '' },
      { deadline: Date.now() + check.timeoutMs! },
      (err, res) => {
        if (this.checks.get(check.CheckID) !== check) return;
        if (err)
          this.updateCheck(
            check,
            'critical',
            `gRPC check ${check.grpcTarget}: ${err.details || err.message}`,
          );
        else if (res?.status === 'SERVING')
          this.updateCheck(check, 'passing', `gRPC check ${check.grpcTarget}: SERVING`);
        else
          this.updateCheck(
            check,
            'critical',
            `gRPC check ${check.grpcTarget}: ${res?.status ?? 'no status'}`,
          );
        this.clearTimer(check.grpcTimer);
        check.grpcTimer = this.timer(() => this.runGrpcCheck(check), check.intervalMs!);
      },
    );
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.timer(resolve, ms));
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
