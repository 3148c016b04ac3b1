import * as grpc from '@grpc/grpc-js';

/*
 * The subset of etcd's v3 gRPC API we use, as a protobuf.js JSON descriptor, transcribed from
 * etcd v3.4 `etcdserver/etcdserverpb/rpc.proto` and `mvcc/mvccpb/kv.proto` (field numbers exact).
 * Kept in TypeScript rather than a .proto file so the compiled package needs no asset copying,
 * and loaded lazily on first etcd use so requiring our package costs nothing.
 */

interface FieldDescriptor {
  type: string;
  id: number;
  rule?: 'repeated';
}
const f = (type: string, id: number, rule?: 'repeated'): FieldDescriptor =>
  rule ? { type, id, rule } : { type, id };
const header = f('ResponseHeader', 1);
const unary = (requestType: string, responseType: string) => ({ requestType, responseType });
const bidi = (requestType: string, responseType: string) => ({
  requestType,
  responseType,
  requestStream: true,
  responseStream: true,
});

/** protobuf.js JSON descriptor of the etcd v3 subset (exported for the test harness's admin calls). */
export const ETCD_DESCRIPTOR = {
  nested: {
    mvccpb: {
      nested: {
        KeyValue: {
          fields: {
            key: f('bytes', 1),
            create_revision: f('int64', 2),
            mod_revision: f('int64', 3),
            version: f('int64', 4),
            value: f('bytes', 5),
            lease: f('int64', 6),
          },
        },
        Event: {
          fields: { type: f('EventType', 1), kv: f('KeyValue', 2), prev_kv: f('KeyValue', 3) },
          nested: { EventType: { values: { PUT: 0, DELETE: 1 } } },
        },
      },
    },
    etcdserverpb: {
      nested: {
        ResponseHeader: {
          fields: {
            cluster_id: f('uint64', 1),
            member_id: f('uint64', 2),
            revision: f('int64', 3),
            raft_term: f('uint64', 4),
          },
        },
        RangeRequest: {
          fields: {
            key: f('bytes', 1),
            range_end: f('bytes', 2),
            limit: f('int64', 3),
            revision: f('int64', 4),
            sort_order: f('int32', 5),
            sort_target: f('int32', 6),
            serializable: f('bool', 7),
            keys_only: f('bool', 8),
            count_only: f('bool', 9),
            min_mod_revision: f('int64', 10),
            max_mod_revision: f('int64', 11),
            min_create_revision: f('int64', 12),
            max_create_revision: f('int64', 13),
          },
        },
        RangeResponse: {
          fields: {
            header,
            kvs: f('mvccpb.KeyValue', 2, 'repeated'),
            more: f('bool', 3),
            count: f('int64', 4),
          },
        },
        PutRequest: {
          fields: {
            key: f('bytes', 1),
            value: f('bytes', 2),
            lease: f('int64', 3),
            prev_kv: f('bool', 4),
            ignore_value: f('bool', 5),
            ignore_lease: f('bool', 6),
          },
        },
        PutResponse: { fields: { header, prev_kv: f('mvccpb.KeyValue', 2) } },
        DeleteRangeRequest: {
          fields: { key: f('bytes', 1), range_end: f('bytes', 2), prev_kv: f('bool', 3) },
        },
        DeleteRangeResponse: {
          fields: { header, deleted: f('int64', 2), prev_kvs: f('mvccpb.KeyValue', 3, 'repeated') },
        },
        CompactionRequest: { fields: { revision: f('int64', 1), physical: f('bool', 2) } },
        CompactionResponse: { fields: { header } },
        WatchRequest: {
          oneofs: { request_union: { oneof: ['create_request', 'cancel_request', 'progress_request'] } },
          fields: {
            create_request: f('WatchCreateRequest', 1),
            cancel_request: f('WatchCancelRequest', 2),
            progress_request: f('WatchProgressRequest', 3),
          },
        },
        WatchCreateRequest: {
          fields: {
            key: f('bytes', 1),
            range_end: f('bytes', 2),
            start_revision: f('int64', 3),
            progress_notify: f('bool', 4),
            filters: f('int32', 5, 'repeated'),
            prev_kv: f('bool', 6),
            watch_id: f('int64', 7),
            fragment: f('bool', 8),
          },
        },
        WatchCancelRequest: { fields: { watch_id: f('int64', 1) } },
        WatchProgressRequest: { fields: {} },
        WatchResponse: {
          fields: {
            header,
            watch_id: f('int64', 2),
            created: f('bool', 3),
            canceled: f('bool', 4),
            compact_revision: f('int64', 5),
            cancel_reason: f('string', 6),
            fragment: f('bool', 7),
            events: f('mvccpb.Event', 11, 'repeated'),
          },
        },
        LeaseGrantRequest: { fields: { TTL: f('int64', 1), ID: f('int64', 2) } },
        LeaseGrantResponse: {
          fields: { header, ID: f('int64', 2), TTL: f('int64', 3), error: f('string', 4) },
        },
        LeaseRevokeRequest: { fields: { ID: f('int64', 1) } },
        LeaseRevokeResponse: { fields: { header } },
        LeaseKeepAliveRequest: { fields: { ID: f('int64', 1) } },
        LeaseKeepAliveResponse: { fields: { header, ID: f('int64', 2), TTL: f('int64', 3) } },
        AuthenticateRequest: { fields: { name: f('string', 1), password: f('string', 2) } },
        AuthenticateResponse: { fields: { header, token: f('string', 2) } },
        KV: {
          methods: {
            Range: unary('RangeRequest', 'RangeResponse'),
            Put: unary('PutRequest', 'PutResponse'),
            DeleteRange: unary('DeleteRangeRequest', 'DeleteRangeResponse'),
            Compact: unary('CompactionRequest', 'CompactionResponse'),
          },
        },
        Watch: { methods: { Watch: bidi('WatchRequest', 'WatchResponse') } },
        Lease: {
          methods: {
            LeaseGrant: unary('LeaseGrantRequest', 'LeaseGrantResponse'),
            LeaseRevoke: unary('LeaseRevokeRequest', 'LeaseRevokeResponse'),
            LeaseKeepAlive: bidi('LeaseKeepAliveRequest', 'LeaseKeepAliveResponse'),
          },
        },
        Auth: { methods: { Authenticate: unary('AuthenticateRequest', 'AuthenticateResponse') } },
      },
    },
  },
};

/** The descriptor as proto-loader's `fromJSON` types it. */
export type ProtoJsonDescriptor = Parameters<typeof import('@grpc/proto-loader').fromJSON>[0];

/** Options for proto-loader: snake_case names as in etcd, int64 as decimal strings, bytes as Buffers. */
export const ETCD_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: true,
  arrays: true,
  oneofs: true,
} as const;

/** Service client constructors of the etcd subset. */
export interface EtcdServiceConstructors {
  KV: grpc.ServiceClientConstructor;
  Watch: grpc.ServiceClientConstructor;
  Lease: grpc.ServiceClientConstructor;
  Auth: grpc.ServiceClientConstructor;
}

let services: EtcdServiceConstructors | undefined;

/** Loads the etcd services on first use (proto-loader is required only then). */
export function loadEtcdServices(): EtcdServiceConstructors {
  if (services) return services;
  // Lazy require: proto-loader (and protobufjs) load on the first etcd use, not when our package loads.
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const definition = protoLoader.fromJSON(ETCD_DESCRIPTOR as ProtoJsonDescriptor, ETCD_LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { etcdserverpb: EtcdServiceConstructors };
  services = pkg.etcdserverpb;
  return services;
}

// Wire shapes as proto-loader yields them with ETCD_LOADER_OPTIONS.

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}
export interface ResponseHeader {
  revision: string;
}
export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
}
export interface WatchEvent {
  /** 0 PUT, 1 DELETE. */
  type: number;
  kv: KeyValue;
}
export interface WatchResponse {
  header: ResponseHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  events: WatchEvent[];
}
export interface LeaseGrantResponse {
  ID: string;
  TTL: string;
  error: string;
}
export interface LeaseKeepAliveResponse {
  ID: string;
  TTL: string;
}
