/**
 * A Consul ACL token for the `grpc-consistent-hash.consul.token` channel option.
 * grpc-js traces channel options (and subchannel args) as JSON at `GRPC_TRACE=channel`/`subchannel`;
 * a plain string option would appear there. This object keeps the token in a private field and
 * serialises as `"<redacted>"`.
 */
export class ConsulToken {
  readonly #token: string;

  constructor(token: string) {
    if (typeof token !== 'string') throw new TypeError('createConsulToken: token must be a string');
    this.#token = token;
  }

  /** @internal */
  reveal(): string {
    return this.#token;
  }

  toJSON(): string {
    return '<redacted>';
  }

  toString(): string {
    return '<redacted>';
  }
}

/**
 * Wraps a Consul ACL token for the `grpc-consistent-hash.consul.token` channel option, so that
 * grpc-js's channel traces never show it.
 */
export function createConsulToken(token: string): ConsulToken {
  return new ConsulToken(token);
}
