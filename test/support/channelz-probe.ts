import * as grpc from '@grpc/grpc-js';

// The channelz handlers answer synchronously; calling them in process reads the channel's own view
// of its subchannels without a channelz server.
type Handlers = ReturnType<typeof grpc.getChannelzHandlers>;
type HandlerCall<K extends keyof Handlers> = Parameters<Handlers[K]>[0];

/** What the probe needs of a channel (`client.getChannel()`). */
export interface ChannelzChannel {
  getChannelzRef(): { readonly id: number };
}

interface SubchannelView {
  readonly id: number;
  /** The subchannel's address, `host:port` (or a unix path). */
  readonly address: string;
  /** `READY`, `IDLE`, `CONNECTING`, `TRANSIENT_FAILURE` or `SHUTDOWN`. */
  readonly state: string;
}

function callHandler<K extends keyof Handlers>(name: K, request: object): unknown {
  let result: unknown;
  let error: unknown = null;
  const handler = grpc.getChannelzHandlers()[name] as (
    call: HandlerCall<K>,
    callback: (err: unknown, value?: unknown) => void,
  ) => void;
  handler({ request } as HandlerCall<K>, (err, value) => {
    error = err;
    result = value;
  });
  if (error) throw new Error(`channelz ${String(name)}: ${(error as { details?: string }).details}`);
  return result;
}

/** The subchannels a channel currently holds, with their states, from channelz. */
export function channelSubchannels(channel: ChannelzChannel): SubchannelView[] {
  const channelId = channel.getChannelzRef().id;
  const reply = callHandler('GetChannel', { channel_id: String(channelId) }) as {
    channel: { subchannel_ref: { subchannel_id: number; name: string }[] };
  };
  const out: SubchannelView[] = [];
  for (const ref of reply.channel.subchannel_ref) {
    try {
      const sub = callHandler('GetSubchannel', { subchannel_id: String(ref.subchannel_id) }) as {
        subchannel: { data: { state: { state: string } } };
      };
      out.push({ id: ref.subchannel_id, address: ref.name, state: sub.subchannel.data.state.state });
    } catch {
      // Unregistered between the two reads: it is gone.
    }
  }
  return out;
}

/** Address → state of a channel's subchannels (the last one wins if an address appears twice). */
export function subchannelStates(channel: ChannelzChannel): Map<string, string> {
  return new Map(channelSubchannels(channel).map((s) => [s.address, s.state]));
}

/** The highest subchannel id the channels reference: ids only grow, so it bounds how many were created. */
export function highestSubchannelId(channels: readonly ChannelzChannel[]): number {
  let highest = 0;
  for (const channel of channels) {
    for (const s of channelSubchannels(channel)) highest = Math.max(highest, s.id);
  }
  return highest;
}

/** How many subchannels with ids 1..`maxId` are still registered (alive) in the process. */
export function liveSubchannelCount(maxId: number): number {
  let live = 0;
  for (let id = 1; id <= maxId; id++) {
    try {
      callHandler('GetSubchannel', { subchannel_id: String(id) });
      live++;
    } catch {
      // NOT_FOUND: never created, or unregistered.
    }
  }
  return live;
}
