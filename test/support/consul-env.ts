/**
 * Where the Consul tests run: against the in-process double, or against a real agent when
 * CONSUL_HTTP_ADDR is set (then the double-only fault tests are skipped with a message).
 */
import { randomBytes } from 'node:crypto';
import { ConsulDouble, type ConsulDoubleOptions } from './consul-double';

/** The real agent's address, when the run targets one. */
export const REAL_AGENT_ADDRESS: string | undefined = process.env['CONSUL_HTTP_ADDR'] || undefined;

/** The skip message of tests that need the double's fault injection. */
export const NEEDS_DOUBLE = REAL_AGENT_ADDRESS
  ? `needs the Consul double's fault injection; skipped because CONSUL_HTTP_ADDR=${REAL_AGENT_ADDRESS} targets a real agent`
  : false;

/** A Consul to test against. */
export interface ConsulUnderTest {
  /** `host:port`, for a `consul://` authority and `registerWithConsul({agent})`. */
  address: string;
  /** The double, or null for a real agent. */
  double: ConsulDouble | null;
  /** Stops the double (nothing for a real agent). */
  close(): Promise<void>;
}

/** Opens the real agent when CONSUL_HTTP_ADDR is set, else starts a double. */
export async function openConsul(options: ConsulDoubleOptions = {}): Promise<ConsulUnderTest> {
  if (REAL_AGENT_ADDRESS) {
    return { address: REAL_AGENT_ADDRESS.replace(/^https?:\/\//, ''), double: null, close: async () => {} };
  }
  const double = await ConsulDouble.start(options);
  return { address: double.address, double, close: () => double.stop() };
}

/** A service name no other test (or earlier run against a real agent) uses. */
export function uniqueServiceName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
