import type * as grpc from '@grpc/grpc-js';

type GrpcUri = grpc.experimental.GrpcUri;

/** A resolver class as grpc-js constructs it. */
export type ResolverConstructor = new (
  target: GrpcUri,
  listener: grpc.experimental.ResolverListener,
  options: grpc.ChannelOptions,
) => grpc.experimental.Resolver;

/** What grpc-js's `registerResolver` takes: a resolver class with a static `getDefaultAuthority`. */
export interface ResolverClass extends ResolverConstructor {
  getDefaultAuthority(target: GrpcUri): string;
}

/**
 * A stand-in resolver class that loads the real one (`load`, a `require`) when grpc-js first
 * constructs a resolver for the scheme. Registering a scheme then costs nothing at start-up, and a
 * user who never uses the scheme never loads its resolver, client or protos.
 * @param defaultAuthority the channel's default authority for a target (grpc-js asks before it
 *   constructs the resolver); it may load the real module too.
 */
export function lazyResolverClass(
  load: () => ResolverConstructor,
  defaultAuthority: (target: GrpcUri) => string,
): ResolverClass {
  let real: ResolverConstructor | undefined;
  return class LazyResolver implements grpc.experimental.Resolver {
    private readonly inner: grpc.experimental.Resolver;

    constructor(target: GrpcUri, listener: grpc.experimental.ResolverListener, options: grpc.ChannelOptions) {
      real ??= load();
      this.inner = new real(target, listener, options);
    }

    static getDefaultAuthority(target: GrpcUri): string {
      return defaultAuthority(target);
    }

    updateResolution(): void {
      this.inner.updateResolution();
    }

    destroy(): void {
      this.inner.destroy();
    }
  };
}
