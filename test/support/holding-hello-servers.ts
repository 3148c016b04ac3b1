import type * as grpc from '@grpc/grpc-js';
import type { SayReply, SayRequest } from '../../example/hello-service';
import { type RunningHelloServer, startHelloServer } from './hello-servers';

/** A hello server that holds `Say` calls whose text starts with "hold" until released. */
export interface HoldingServer {
  readonly running: RunningHelloServer;
  /** Held calls in progress right now. */
  active: number;
  /** The most held calls this server had in progress at once. */
  maxActive: number;
  /** Held calls received since the last reset. */
  received: number;
}

/** Servers that hold calls, and the one switch that releases them all. */
export interface HoldingServers {
  readonly servers: HoldingServer[];
  /** Answers every held call now. */
  releaseAll(): void;
  /** Zeroes the counters (between rounds). */
  resetCounts(): void;
  /** Held calls received by all servers together. */
  totalReceived(): number;
  stopAll(): Promise<void>;
}

/** Starts `count` holding servers on 127.0.0.1 ephemeral ports, ids `server-0`, ... */
export async function startHoldingServers(count: number): Promise<HoldingServers> {
  const pending = new Set<() => void>();
  const servers: HoldingServer[] = [];
  for (let i = 0; i < count; i++) {
    const serverId = `server-${i}`;
    const state = { active: 0, maxActive: 0, received: 0 } as HoldingServer;
    const say = (
      call: grpc.ServerUnaryCall<SayRequest, SayReply>,
      callback: grpc.sendUnaryData<SayReply>,
    ) => {
      const reply = { text: call.request.text, serverId };
      if (!call.request.text.startsWith('hold')) {
        callback(null, reply);
        return;
      }
      state.active++;
      state.received++;
      state.maxActive = Math.max(state.maxActive, state.active);
      let done = false;
      const finish = (answer: boolean) => {
        if (done) return;
        done = true;
        state.active--;
        pending.delete(release);
        if (answer) callback(null, reply);
      };
      const release = () => finish(true);
      pending.add(release);
      call.on('cancelled', () => finish(false));
    };
    const running = await startHelloServer({ serverId, say });
    Object.assign(state, { running });
    servers.push(state);
  }
  return {
    servers,
    releaseAll() {
      for (const release of [...pending]) release();
    },
    resetCounts() {
      for (const s of servers) {
        s.maxActive = s.active;
        s.received = 0;
      }
    },
    totalReceived: () => servers.reduce((sum, s) => sum + s.received, 0),
    async stopAll() {
      for (const release of [...pending]) release();
      await Promise.all(servers.map((s) => s.running.stop()));
    },
  };
}
