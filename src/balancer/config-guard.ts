import * as grpc from '@grpc/grpc-js';
import { logError } from '../trace';
import { InvalidHashPolicyConfig } from './config';

type LoadBalancer = grpc.experimental.LoadBalancer;
type LoadBalancerClass = new (helper: grpc.experimental.ChannelControlHelper) => LoadBalancer;
type PickResult = grpc.experimental.PickResult;

/**
 * Fails every call with the config error. DROP, not TRANSIENT_FAILURE: a config given in channel
 * options never changes, so `waitForReady` calls would otherwise wait forever.
 */
class InvalidConfigPicker implements grpc.experimental.Picker {
  private readonly result: PickResult;

  constructor(details: string) {
    this.result = {
      pickResultType: grpc.experimental.PickResultType.DROP,
      subchannel: null,
      status: { code: grpc.status.UNAVAILABLE, details, metadata: new grpc.Metadata() },
      onCallStarted: null,
      onCallEnded: null,
    };
  }

  pick(): PickResult {
    return this.result;
  }
}

/**
 * Wraps the policy so that an invalid config (an {@link InvalidHashPolicyConfig}) puts the channel
 * in TRANSIENT_FAILURE, its calls failing with UNAVAILABLE and the error, logged once at ERROR, as
 * grpc-go treats an invalid service config. After a valid config, an invalid update keeps the last
 * valid one (grpc-go keeps the previous service config too), and says so at ERROR.
 *
 * The policy itself is created on the first valid config, and its class is loaded (`load`, a
 * `require`) only then: registering costs only the small config class, and the policy, its pickers
 * and the rings load when a channel first uses them.
 */
export function configGuardedLoadBalancerClass(
  typeName: string,
  load: () => LoadBalancerClass,
): LoadBalancerClass {
  let policyClass: LoadBalancerClass | undefined;
  return class ConfigGuardedLoadBalancer implements LoadBalancer {
    private child: LoadBalancer | null = null;
    private lastValidConfig: grpc.experimental.TypedLoadBalancingConfig | null = null;
    private loggedError: string | null = null;

    constructor(private readonly helper: grpc.experimental.ChannelControlHelper) {}

    updateAddressList(
      endpointList: grpc.experimental.StatusOr<grpc.experimental.Endpoint[]>,
      lbConfig: grpc.experimental.TypedLoadBalancingConfig,
      channelOptions: grpc.ChannelOptions,
      resolutionNote: string,
    ): boolean {
      if (lbConfig instanceof InvalidHashPolicyConfig) {
        const error = lbConfig.error.message;
        if (this.child !== null && this.lastValidConfig !== null) {
          this.logOnce(error, `invalid load-balancing config update, keeping the previous one: ${error}`);
          return this.child.updateAddressList(
            endpointList,
            this.lastValidConfig,
            channelOptions,
            resolutionNote,
          );
        }
        this.logOnce(
          error,
          `invalid load-balancing config; every call on the channel fails until it is fixed: ${error}`,
        );
        const details = `invalid load-balancing config: ${error}`;
        this.helper.updateState(
          grpc.connectivityState.TRANSIENT_FAILURE,
          new InvalidConfigPicker(details),
          details,
        );
        return true;
      }
      this.loggedError = null;
      this.lastValidConfig = lbConfig;
      policyClass ??= load();
      this.child ??= new policyClass(this.helper);
      return this.child.updateAddressList(endpointList, lbConfig, channelOptions, resolutionNote);
    }

    exitIdle(): void {
      this.child?.exitIdle();
    }

    resetBackoff(): void {
      this.child?.resetBackoff();
    }

    destroy(): void {
      this.child?.destroy();
    }

    getTypeName(): string {
      return typeName;
    }

    private logOnce(error: string, line: string): void {
      if (this.loggedError === error) return;
      this.loggedError = error;
      logError('config', line);
    }
  };
}
