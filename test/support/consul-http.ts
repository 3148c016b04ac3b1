/** Small direct Consul HTTP calls for test assertions (never used by the code under test). */
import { waitFor } from './hello-servers';

/** `GET /v1/health/service/<name>[?passing]`: the instance IDs and their addresses. */
export async function healthInstances(
  address: string,
  service: string,
  passing = true,
  token = process.env['CONSUL_HTTP_TOKEN'],
): Promise<{ id: string; address: string; port: number; status: string[] }[]> {
  const response = await fetch(
    `http://${address}/v1/health/service/${encodeURIComponent(service)}${passing ? '?passing=true' : ''}`,
    { headers: token ? { 'X-Consul-Token': token } : {} },
  );
  if (response.status !== 200)
    throw new Error(`health query: HTTP ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as {
    Service: { ID: string; Address: string; Port: number };
    Checks: { Status: string }[];
  }[];
  return body.map((e) => ({
    id: e.Service.ID,
    address: e.Service.Address,
    port: e.Service.Port,
    status: e.Checks.map((c) => c.Status),
  }));
}

/** `PUT /v1/agent/service/deregister/<id>`, for cleanup after tests against a real agent. */
export async function deregisterInstance(
  address: string,
  id: string,
  token = process.env['CONSUL_HTTP_TOKEN'],
): Promise<void> {
  await fetch(`http://${address}/v1/agent/service/deregister/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: token ? { 'X-Consul-Token': token } : {},
  });
}

/**
 * Polls the health endpoint every 50 ms until `service` has `count` instances (passing ones only
 * when `passing`); rejects naming `what` after `timeoutMs`.
 */
export function waitForInstanceCount(
  address: string,
  service: string,
  count: number,
  what: string,
  timeoutMs: number,
  passing = true,
): Promise<void> {
  return waitFor(
    async () => (await healthInstances(address, service, passing)).length === count,
    what,
    timeoutMs,
    50,
  );
}
