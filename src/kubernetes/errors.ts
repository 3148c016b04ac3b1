/** What kind of failure a {@link KubernetesError} is. */
export type KubernetesErrorKind =
  /** No answer: connection refused or reset, TLS failure, timeout. */
  | 'transport'
  /** The API server answered with an error status (401, 403, 410, 500, ...). */
  | 'status'
  /** The API server answered something its API does not document. */
  | 'malformed'
  /** The kubeconfig, the token file or a credential plugin failed, or a setting is unsafe. */
  | 'config';

/**
 * A Kubernetes configuration or API failure. The message names the cause (the kubeconfig file and
 * field, or the API's status such as `401 Unauthorized`), never a token or key.
 */
export class KubernetesError extends Error {
  override readonly name = 'KubernetesError';
  constructor(
    message: string,
    /** The HTTP status (or a watch ERROR event's code), when the API server answered with one. */
    readonly status?: number,
    readonly kind: KubernetesErrorKind = status !== undefined ? 'status' : 'transport',
  ) {
    super(message);
  }

  /** The resourceVersion asked for is too old (HTTP 410 or a watch ERROR event with code 410): re-list. */
  get gone(): boolean {
    return this.status === 410;
  }
}
