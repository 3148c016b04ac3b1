import type * as grpc from '@grpc/grpc-js';

/** Channel option carrying {@link EtcdCredentials} for the `etcd:` resolver. */
export const ETCD_CREDENTIALS_OPTION = 'grpc-consistent-hash.etcd.credentials';

/** TLS material for talking to etcd (PEM contents, not paths), or ready-made channel credentials. */
export type EtcdTls =
  | { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer }
  | grpc.ChannelCredentials;

/**
 * Credentials for the `etcd:` resolver, passed as the channel option {@link ETCD_CREDENTIALS_OPTION}.
 * The password lives in a private field: grpc-js traces channel options as JSON, and this object
 * serialises without it.
 */
export class EtcdCredentials {
  readonly username: string | undefined;
  readonly tls: boolean | EtcdTls | undefined;
  readonly #password: string | undefined;

  constructor(options: { username?: string; password?: string; tls?: boolean | EtcdTls }) {
    this.username = options.username;
    this.#password = options.password;
    this.tls = options.tls;
  }

  /** @internal */
  revealPassword(): string | undefined {
    return this.#password;
  }

  toJSON(): object {
    return { username: this.username, password: this.#password === undefined ? undefined : '<redacted>' };
  }
}

/** Creates the value of the {@link ETCD_CREDENTIALS_OPTION} channel option. */
export function createEtcdCredentials(options: {
  username?: string;
  password?: string;
  tls?: boolean | EtcdTls;
}): EtcdCredentials {
  return new EtcdCredentials(options);
}
