import fc from 'fast-check';

/** A member id as the policy makes them: `10.a.b.1:port`. */
export const addressId = fc
  .tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 1, max: 65535 }),
  )
  .map(([a, b, port]) => `10.${a}.${b}.1:${port}`);
