import type * as grpc from '@grpc/grpc-js';

type LoadBalancer = grpc.experimental.LoadBalancer;
type LoadBalancerClass = new (helper: grpc.experimental.ChannelControlHelper) => LoadBalancer;

/**
 * A stand-in load-balancer class that loads the real one (`load`, a `require`) when grpc-js first
 * creates the policy for a channel. The policy, its pickers and the rings then cost nothing at
 * start-up; registering only needs the (small) config class.
 */
export function lazyLoadBalancerClass(load: () => LoadBalancerClass): LoadBalancerClass {
  let real: LoadBalancerClass | undefined;
  return class LazyLoadBalancer implements LoadBalancer {
    private readonly inner: LoadBalancer;

    constructor(helper: grpc.experimental.ChannelControlHelper) {
      real ??= load();
      this.inner = new real(helper);
    }

    updateAddressList(
      endpointList: grpc.experimental.StatusOr<grpc.experimental.Endpoint[]>,
      lbConfig: grpc.experimental.TypedLoadBalancingConfig,
      channelOptions: grpc.ChannelOptions,
      resolutionNote: string,
    ): boolean {
      return this.inner.updateAddressList(endpointList, lbConfig, channelOptions, resolutionNote);
    }

    exitIdle(): void {
      this.inner.exitIdle();
    }

    resetBackoff(): void {
      this.inner.resetBackoff();
    }

    destroy(): void {
      this.inner.destroy();
    }

    getTypeName(): string {
      return this.inner.getTypeName();
    }
  };
}
