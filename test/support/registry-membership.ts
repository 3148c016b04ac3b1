/** How a test changes a registry's members, and waits until a client routes as the new ring says. */
export interface RegistryMembership<B> {
  join(backend: B): Promise<unknown>;
  leave(backend: B): Promise<unknown>;
  /** Resolves once every key is on the owner the ring over `members` names; rejects naming `what`. */
  converge(members: readonly B[], what: string): Promise<void>;
}

/**
 * A real change the client must follow: `extra` joins `live` and the client converges on the
 * bigger ring, then `extra` leaves and the client converges back. Resolves with the seconds it took.
 */
export async function joinThenLeave<B>(
  membership: RegistryMembership<B>,
  live: readonly B[],
  extra: B,
  whatJoined: string,
  whatLeft: string,
): Promise<number> {
  const t0 = Date.now();
  await membership.join(extra);
  await membership.converge([...live, extra], whatJoined);
  await membership.leave(extra);
  await membership.converge(live, whatLeft);
  return (Date.now() - t0) / 1000;
}
