import * as grpc from '@grpc/grpc-js';

const { READY, IDLE, CONNECTING, TRANSIENT_FAILURE } = grpc.connectivityState;

/** How many children are in each state. */
export interface ChildStateCounts {
  ready: number;
  connecting: number;
  idle: number;
  transientFailure: number;
  total: number;
}

/** gRFC A42's aggregation rules for ring_hash, applied in order. */
export function aggregateState(counts: ChildStateCounts): grpc.connectivityState {
  if (counts.ready > 0) return READY;
  if (counts.transientFailure >= 2) return TRANSIENT_FAILURE;
  if (counts.connecting > 0) return CONNECTING;
  if (counts.transientFailure === 1 && counts.total > 1) return CONNECTING;
  if (counts.idle > 0) return IDLE;
  return TRANSIENT_FAILURE;
}
