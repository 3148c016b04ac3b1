import { EtcdAdmin, type EtcdServer, freePort, startEtcd } from './etcd-server';
import { PeerProxy } from './peer-proxy';

/**
 * A real multi-member etcd cluster on loopback whose peer traffic goes through {@link PeerProxy}s the
 * test controls, so one member can be cut off from its peers while clients still reach it.
 */
export class EtcdCluster {
  private constructor(
    readonly members: EtcdServer[],
    private readonly proxies: PeerProxy[],
    /** Each member's id in hex, as etcd writes it in `X-Server-From`. */
    readonly memberIds: string[],
  ) {}

  /** Starts `size` members (bounded start-up, as {@link startEtcd}); all or nothing. */
  static async start(size: number): Promise<EtcdCluster> {
    const peerPorts: number[] = [];
    while (peerPorts.length < size) {
      const port = await freePort();
      if (!peerPorts.includes(port)) peerPorts.push(port);
    }
    const proxies = await Promise.all(peerPorts.map((port) => PeerProxy.start(port)));
    const names = peerPorts.map((_, i) => `gch-${process.pid}-m${i}-${peerPorts[0]}`);
    const initialCluster = names.map((name, i) => `${name}=${proxies[i]!.url}`).join(',');
    const started = await Promise.allSettled(
      names.map((name, i) =>
        startEtcd({
          member: {
            name,
            peerPort: peerPorts[i]!,
            advertisePeerUrl: proxies[i]!.url,
            initialCluster,
            token: `gch-${process.pid}-${peerPorts[0]}`,
          },
        }),
      ),
    );
    const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(members.map((m) => m.destroy()));
      await Promise.all(proxies.map((p) => p.stop()));
      throw (failed as PromiseRejectedResult).reason;
    }
    const memberIds = await Promise.all(
      members.map(async (member) => {
        const admin = new EtcdAdmin(member.endpoint);
        try {
          const response = (await admin.call('KV', 'Range', { key: Buffer.from('gch-probe') })) as {
            header: { member_id: string };
          };
          return BigInt(response.header.member_id).toString(16);
        } finally {
          admin.close();
        }
      }),
    );
    return new EtcdCluster(members, proxies, memberIds);
  }

  /** Client endpoints, `host:port` each, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** Cuts member `index` off from its peers (both directions); clients still reach it. */
  isolate(index: number): void {
    const id = this.memberIds[index]!;
    this.proxies.forEach((proxy, i) => {
      proxy.block(i === index ? () => true : (c) => c.from === id);
    });
  }

  /**
   * Ends every partition, then waits (bounded) until every member serves a linearizable read again:
   * the member that was cut off comes back with a higher term and forces an election (etcd 3.4 has
   * no pre-vote by default), during which the cluster has no leader.
   */
  async heal(timeoutMs = 20_000): Promise<void> {
    for (const proxy of this.proxies) proxy.block(() => false);
    const deadline = Date.now() + timeoutMs;
    for (const member of this.members) {
      for (;;) {
        const admin = new EtcdAdmin(member.endpoint);
        try {
          await admin.call('KV', 'Range', { key: Buffer.from('gch-probe') }, 1000);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`etcd cluster not healthy after healing: ${error}`);
          await new Promise((r) => setTimeout(r, 100));
        } finally {
          admin.close();
        }
      }
    }
  }

  /** Stops every member and proxy and removes the data dirs. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.destroy()));
    await Promise.all(this.proxies.map((p) => p.stop()));
  }
}
