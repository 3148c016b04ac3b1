import type { Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';

/*
 * grpc-js keeps an HTTP/2 session referenced while it has an active call (transport.ts:
 * `session.ref()` on the first active call), and an etcd Watch stream is an active call that never
 * ends. So a resolver's watch would keep the process alive forever, although an idle channel must not.
 * grpc-js has no option for this; its extension point is the channel credentials, which hand every
 * new connection's socket to a connector (`_createSecureConnector`, part of grpc-js 1.14's public
 * `ChannelCredentials` class). This wrapper delegates everything to the real credentials and unrefs
 * the socket for good, so `session.ref()` cannot make it hold the process. Calls in flight still
 * complete; only process exit no longer waits for etcd.
 */

type SecureConnector = ReturnType<grpc.ChannelCredentials['_createSecureConnector']>;

function unrefForGood(socket: Socket): void {
  socket.unref();
  // Http2Session#ref() calls socket.ref(); make that a no-op on this socket only.
  socket.ref = function ref(this: Socket) {
    return this;
  };
}

/** Channel credentials that behave as `inner`, except that their connections never hold the process. */
export class UnrefChannelCredentials extends grpc.ChannelCredentials {
  constructor(private readonly inner: grpc.ChannelCredentials) {
    super();
  }

  override compose(callCredentials: grpc.CallCredentials): grpc.ChannelCredentials {
    return new UnrefChannelCredentials(this.inner.compose(callCredentials));
  }

  _isSecure(): boolean {
    return this.inner._isSecure();
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other instanceof UnrefChannelCredentials && this.inner._equals(other.inner);
  }

  _createSecureConnector(
    ...args: Parameters<grpc.ChannelCredentials['_createSecureConnector']>
  ): SecureConnector {
    const connector = this.inner._createSecureConnector(...args);
    return {
      connect: async (socket) => {
        unrefForGood(socket);
        const result = await connector.connect(socket);
        if (result.socket !== socket) unrefForGood(result.socket);
        return result;
      },
      waitForReady: () => connector.waitForReady(),
      getCallCredentials: () => connector.getCallCredentials(),
      destroy: () => connector.destroy(),
    };
  }
}
