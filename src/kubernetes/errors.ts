/**
 * A Kubernetes configuration or API failure. The message names the cause (the kubeconfig file and
 * field, or the API's status such as `401 Unauthorized`), never a token or key.
 */
export class KubernetesError extends Error {
  override readonly name = 'KubernetesError';
  constructor(
    message: string,
    /** The HTTP status, when the API server answered. */
    readonly status?: number,
  ) {
    super(message);
  }

  /** The resourceVersion asked for is too old (HTTP 410 or a watch ERROR event with code 410): re-list. */
  get gone(): boolean {
    return this.status === 410;
  }
}
