import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { aggregateState } from '../../src/balancer/aggregate-state';

const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

function of(states: grpc.connectivityState[]): grpc.connectivityState {
  return aggregateState({
    ready: states.filter((s) => s === READY).length,
    connecting: states.filter((s) => s === CONNECTING).length,
    idle: states.filter((s) => s === IDLE).length,
    transientFailure: states.filter((s) => s === TRANSIENT_FAILURE).length,
    total: states.length,
  });
}

describe('aggregate state (gRFC A42, rules in order)', () => {
  const cases: [grpc.connectivityState[], grpc.connectivityState, string][] = [
    [[READY, TRANSIENT_FAILURE, TRANSIENT_FAILURE], READY, '1: any READY'],
    [[TRANSIENT_FAILURE, TRANSIENT_FAILURE, CONNECTING], TRANSIENT_FAILURE, '2: two TRANSIENT_FAILURE'],
    [[CONNECTING, IDLE, TRANSIENT_FAILURE], CONNECTING, '3: any CONNECTING'],
    [[TRANSIENT_FAILURE, IDLE, IDLE], CONNECTING, '4: one TRANSIENT_FAILURE among several'],
    [[IDLE, IDLE], IDLE, '5: any IDLE'],
    [[TRANSIENT_FAILURE], TRANSIENT_FAILURE, '6: otherwise (a single failed child)'],
  ];
  for (const [states, expected, rule] of cases) {
    it(`rule ${rule}`, () => {
      assert.equal(grpc.connectivityState[of(states)], grpc.connectivityState[expected]);
    });
  }
});
