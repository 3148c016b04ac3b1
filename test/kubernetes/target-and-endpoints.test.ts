import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildKubernetesEndpoints,
  type EndpointSlice,
  type EndpointSliceEndpoint,
  type PortSelector,
} from '../../src/kubernetes/endpoint-slices';
import { kubernetesDefaultAuthority, parseKubernetesTarget } from '../../src/resolvers/kubernetes/target';
import { ResolverError } from '../../src/resolvers/shared/resolver-error';

describe('parseKubernetesTarget', () => {
  const good: [string, object][] = [
    [
      'kubernetes:///web.prod:50051',
      { service: 'web', namespace: 'prod', port: { kind: 'number', port: 50051 } },
    ],
    [
      'kubernetes:///web.prod:grpc',
      { service: 'web', namespace: 'prod', port: { kind: 'name', name: 'grpc' } },
    ],
    [
      'kubernetes:///web:grpc',
      { service: 'web', namespace: undefined, port: { kind: 'name', name: 'grpc' } },
    ],
    ['kubernetes:///web', { service: 'web', namespace: undefined, port: { kind: 'only' } }],
    [
      'kubernetes://prod/web:8080',
      { service: 'web', namespace: 'prod', port: { kind: 'number', port: 8080 } },
    ],
    [
      'kubernetes:///web.prod.svc.cluster.local:grpc',
      { service: 'web', namespace: 'prod', port: { kind: 'name', name: 'grpc' } },
    ],
  ];
  for (const [target, expected] of good) {
    it(`parses ${target}`, () => assert.deepEqual(parseKubernetesTarget(target), expected));
  }

  const bad: [string, RegExp][] = [
    ['kubernetes:///', /no service/],
    ['kubernetes:///Web.prod:80', /"Web" is not a Service name/],
    ['kubernetes:///web.Prod:80', /"Prod" is not a namespace name/],
    ['kubernetes:///web.prod:0', /port 0 is not in 1-65535/],
    ['kubernetes:///web.prod:70000', /port 70000 is not in 1-65535/],
    ['kubernetes:///web.prod:', /the port after ":" is empty/],
    ['kubernetes:///web.prod:grpc_port', /neither a port number nor a port name/],
    ['kubernetes:///web.prod:a-very-long-port-name', /neither a port number nor a port name/],
    ['kubernetes:///web.prod.extra:80', /too many dots/],
    ['kubernetes://ns/web.other:80', /namespace is given twice/],
    ['kubernetes:///web/x:80', /is not <service>\[.<namespace>\]\[:<port>\]/],
    ['consul:///web:80', /the scheme must be "kubernetes"/],
  ];
  for (const [target, pattern] of bad) {
    it(`refuses ${target} naming the problem`, () => {
      assert.throws(
        () => parseKubernetesTarget(target),
        (e: Error) =>
          e instanceof ResolverError &&
          e.code === 'INVALID_TARGET' &&
          pattern.test(e.message) &&
          /expected|scheme/.test(e.message),
      );
    });
  }

  it('gives an authority grpc-js can put in a URL (no port name)', () => {
    assert.equal(
      kubernetesDefaultAuthority({ scheme: 'kubernetes', authority: '', path: 'web.prod:grpc' }),
      'web.prod',
    );
    assert.equal(
      kubernetesDefaultAuthority({ scheme: 'kubernetes', authority: '', path: 'web.prod:80' }),
      'web.prod:80',
    );
    assert.equal(
      kubernetesDefaultAuthority({ scheme: 'kubernetes', authority: 'prod', path: 'web:80' }),
      'web.prod:80',
    );
  });
});

const endpoint = (
  ip: string,
  pod: string | null,
  ready?: boolean | null,
  extra: Partial<EndpointSliceEndpoint> = {},
) => ({
  addresses: [ip],
  ...(ready !== undefined && { conditions: { ready } }),
  ...(pod !== null && { targetRef: { kind: 'Pod', name: pod } }),
  ...extra,
});

function slice(
  name: string,
  endpoints: EndpointSliceEndpoint[],
  addressType = 'IPv4',
  ports = [
    { name: 'grpc', port: 50051, protocol: 'TCP' },
    { name: 'metrics', port: 9090 },
  ],
): EndpointSlice {
  return { metadata: { name }, addressType, endpoints, ports };
}

const GRPC: PortSelector = { kind: 'name', name: 'grpc' };
const build = (slices: EndpointSlice[], port: PortSelector = GRPC, identity: 'pod' | 'address' = 'pod') =>
  buildKubernetesEndpoints(slices, port, identity, 'kubernetes.io/service-name=web in namespace "prod"');
const summary = (r: ReturnType<typeof build>) =>
  r.endpoints.map(
    (e) =>
      `${e.hashKey}=${e.addresses.map((a) => `${'host' in a ? a.host : ''}:${'port' in a ? a.port : ''}`).join(',')}`,
  );

describe('buildKubernetesEndpoints', () => {
  it('merges every slice, keeps ready (or unknown) endpoints, keys by pod name, hostname, else address', () => {
    const r = build([
      slice('web-b', [endpoint('10.0.0.3', 'web-2', true), endpoint('10.0.0.4', 'web-3', false)]),
      slice('web-a', [
        endpoint('10.0.0.1', 'web-0', null),
        endpoint('10.0.0.2', null, undefined, { hostname: 'web-1' }),
        endpoint('10.0.0.5', null, true),
      ]),
    ]);
    assert.deepEqual(summary(r), [
      '10.0.0.5:50051=10.0.0.5:50051',
      'web-0=10.0.0.1:50051',
      'web-1=10.0.0.2:50051',
      'web-2=10.0.0.3:50051',
    ]);
    assert.equal(r.emptyReason, null);
  });

  it('resolves the port by number, and by name per slice', () => {
    const other = slice('web-c', [endpoint('10.0.0.9', 'web-9', true)], 'IPv4', [
      { name: 'grpc', port: 6000, protocol: 'TCP' },
    ]);
    assert.deepEqual(summary(build([slice('web-a', [endpoint('10.0.0.1', 'web-0')]), other])), [
      'web-0=10.0.0.1:50051',
      'web-9=10.0.0.9:6000',
    ]);
    assert.deepEqual(
      summary(
        build([slice('web-a', [endpoint('10.0.0.1', 'web-0')]), other], { kind: 'number', port: 6000 }),
      ),
      ['web-9=10.0.0.9:6000'],
    );
  });

  it('puts a pod seen in an IPv4 and an IPv6 slice into one endpoint, IPv4 first; IPv6 alone works too', () => {
    const r = build([
      slice('web-v6', [endpoint('fd00::1', 'web-0'), endpoint('fd00::2', 'web-1')], 'IPv6'),
      slice('web-v4', [endpoint('10.0.0.1', 'web-0')]),
    ]);
    assert.deepEqual(summary(r), ['web-0=10.0.0.1:50051,fd00::1:50051', 'web-1=fd00::2:50051']);
    const byAddress = build([slice('web-v6', [endpoint('fd00::2', 'web-1')], 'IPv6')], GRPC, 'address');
    assert.deepEqual(
      byAddress.endpoints.map((e) => e.hashKey),
      ['[fd00::2]:50051'],
    );
  });

  it('carries the zone, and skips FQDN slices naming them', () => {
    const r = build([
      slice('web-a', [endpoint('10.0.0.1', 'web-0', true, { zone: 'eu-1a' })]),
      slice('web-f', [endpoint('a.example', 'web-x')], 'FQDN'),
    ]);
    assert.equal(r.endpoints[0]?.zone, 'eu-1a');
    assert.match(r.skipped.join(), /web-f: addressType FQDN/);
  });

  it('explains an empty result: no slices, no such port, none ready, no endpoints', () => {
    assert.match(
      build([]).emptyReason!,
      /there are no EndpointSlices labelled kubernetes.io\/service-name=web in namespace "prod"/,
    );
    assert.match(
      build([slice('web-a', [endpoint('10.0.0.1', 'web-0')])], { kind: 'name', name: 'http' }).emptyReason!,
      /no port name "http" among the ports .* \(they have: grpc=50051\/TCP, metrics=9090\/TCP\)/,
    );
    assert.match(
      build([slice('web-a', [endpoint('10.0.0.1', 'web-0')])], { kind: 'only' }).emptyReason!,
      /single port .*they have: grpc=50051\/TCP, metrics=9090\/TCP/,
    );
    assert.match(
      build([slice('web-a', [endpoint('10.0.0.1', 'web-0', false)])]).emptyReason!,
      /none of the 1 endpoint\(s\) .* is ready/,
    );
    assert.match(build([slice('web-a', [])]).emptyReason!, /list no endpoints/);
  });

  it('takes the single port when the target names none, and the number as is for a slice without ports', () => {
    const single = slice('web-a', [endpoint('10.0.0.1', 'web-0')], 'IPv4', [
      { name: 'grpc', port: 7000, protocol: 'TCP' },
    ]);
    assert.deepEqual(summary(build([single], { kind: 'only' })), ['web-0=10.0.0.1:7000']);
    const portless = slice('web-h', [endpoint('10.0.0.2', 'web-1')], 'IPv4', []);
    assert.deepEqual(summary(build([portless], { kind: 'number', port: 7001 })), ['web-1=10.0.0.2:7001']);
  });
});
