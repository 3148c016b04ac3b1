/** Channel option: first re-sync delay after an etcd failure, in ms (default 250). */
export const ETCD_INITIAL_BACKOFF_OPTION = 'grpc-consistent-hash.etcd.initial_backoff_ms';
/** Channel option: cap of the re-sync delay, in ms (default 10 000). */
export const ETCD_MAX_BACKOFF_OPTION = 'grpc-consistent-hash.etcd.max_backoff_ms';
