import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { prefixRangeEnd } from '../../src/etcd/client';
import { resolveEtcdConnection } from '../../src/etcd/connection-options';
import { createEtcdCredentials } from '../../src/etcd/credentials';
import { parseEtcdEndpointList } from '../../src/etcd/endpoint-list';
import { decodeEtcdEndpointValue, encodeEtcdEndpointValue } from '../../src/resolvers/etcd/naming';
import { EtcdResolver } from '../../src/resolvers/etcd/resolver';
import { parseEtcdTarget } from '../../src/resolvers/etcd/target';
import { etcdUri, recordingListener } from '../support/etcd-listener';
import { waitFor } from '../support/hello-servers';

describe('etcd target parsing', () => {
  it('parses authority endpoints and the service', () => {
    const t = parseEtcdTarget('etcd://127.0.0.1:2379,[::1]:2380,etcd-b/my-service');
    assert.deepEqual(t.endpoints, ['127.0.0.1:2379', '[::1]:2380', 'etcd-b:2379']);
    assert.equal(t.service, 'my-service');
    assert.equal(t.prefix, 'my-service/');
  });

  it('leaves endpoints to the environment when the authority is empty or absent', () => {
    assert.equal(parseEtcdTarget('etcd:///svc').endpoints, undefined);
    assert.equal(parseEtcdTarget('etcd:svc').endpoints, undefined);
    assert.equal(parseEtcdTarget(etcdUri('', 'svc')).prefix, 'svc/');
  });

  it('keeps nested service names and trims a trailing slash', () => {
    assert.equal(parseEtcdTarget('etcd:///services/prod/api').prefix, 'services/prod/api/');
    assert.equal(parseEtcdTarget('etcd:///svc/').prefix, 'svc/');
  });

  it('rejects malformed targets with a message naming the problem', () => {
    assert.throws(() => parseEtcdTarget('etcd:////'), /service name is empty/);
    assert.throws(() => parseEtcdTarget('dns:///svc'), /scheme must be "etcd"/);
    assert.throws(() => parseEtcdTarget('etcd://127.0.0.1:99999/svc'), /invalid port.*127\.0\.0\.1:99999/);
    assert.throws(() => parseEtcdTarget('etcd://a b:1/svc'), /invalid etcd endpoint "a b:1"/);
  });
});

describe('etcd endpoint lists and credentials', () => {
  it('accepts http(s):// endpoints as ETCD_ENDPOINTS gives them', () => {
    assert.deepEqual(parseEtcdEndpointList('http://10.0.0.1:2379, http://10.0.0.2:2379/', 'ETCD_ENDPOINTS'), {
      endpoints: ['10.0.0.1:2379', '10.0.0.2:2379'],
      secure: false,
    });
    assert.equal(parseEtcdEndpointList('https://etcd:2379', 'x').secure, true);
    assert.throws(() => parseEtcdEndpointList('http://a:1,https://b:1', 'ETCD_ENDPOINTS'), /mix http/);
    assert.throws(
      () => parseEtcdEndpointList('unix://sock', 'ETCD_ENDPOINTS'),
      /unsupported scheme "unix:\/\/"/,
    );
  });

  it('reads ETCD_ENDPOINTS, defaults to 127.0.0.1:2379, and keys sharing without the password in clear', () => {
    assert.deepEqual(resolveEtcdConnection({}, {}).endpoints, ['127.0.0.1:2379']);
    const env = {
      ETCD_ENDPOINTS: 'http://127.0.0.1:1111',
      ETCD_USERNAME: 'u',
      ETCD_PASSWORD: 'hunter2-secret',
    };
    const resolved = resolveEtcdConnection({}, env);
    assert.deepEqual(resolved.endpoints, ['127.0.0.1:1111']);
    assert.equal(resolved.username, 'u');
    assert.ok(!resolved.sharingKey.includes('hunter2-secret'));
    assert.ok(!inspect(resolved, { depth: 5 }).includes('hunter2-secret'));
    assert.ok(!JSON.stringify(resolved).includes('hunter2-secret'));
    assert.equal(resolved.password(), 'hunter2-secret');
    assert.notEqual(
      resolved.sharingKey,
      resolveEtcdConnection({}, { ...env, ETCD_PASSWORD: 'other' }).sharingKey,
    );
    assert.throws(() => resolveEtcdConnection({ password: 'p' }, {}), /password: given without a username/);
    assert.throws(
      () => resolveEtcdConnection({}, { ETCD_CACERT: '/nonexistent/ca.pem' }),
      /ETCD_CACERT: cannot read/,
    );
  });

  it('credentials never serialise their password (grpc-js traces channel options as JSON)', () => {
    const credentials = createEtcdCredentials({ username: 'root', password: 'hunter2-secret' });
    const json = JSON.stringify({ 'grpc-consistent-hash.etcd.credentials': credentials });
    assert.ok(!json.includes('hunter2-secret'), json);
    assert.match(json, /root/);
    assert.ok(!inspect(credentials, { depth: 5 }).includes('hunter2-secret'));
  });

  it('computes prefix range ends like etcd', () => {
    assert.deepEqual(prefixRangeEnd(Buffer.from('svc/')), Buffer.from('svc0'));
    assert.deepEqual(prefixRangeEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
    assert.deepEqual(prefixRangeEnd(Buffer.from([0xff])), Buffer.from([0]));
  });
});

describe('etcd naming convention values', () => {
  it('decodes the Go JSON value, weight and metadata', () => {
    const decoded = decodeEtcdEndpointValue(
      '{"Op":0,"Addr":"10.0.0.1:50051","Metadata":{"weight":3,"zone":"a"}}',
    );
    assert.equal(decoded.kind, 'add');
    if (decoded.kind !== 'add') return;
    assert.deepEqual(decoded.endpoint.addresses, [{ host: '10.0.0.1', port: 50051 }]);
    assert.equal(decoded.endpoint.weight, 3);
    assert.deepEqual(decoded.endpoint.metadata, { weight: 3, zone: 'a' });
  });

  it('accepts a numeric-string weight (Go map[string]string metadata), IPv6, and null Metadata', () => {
    const s = decodeEtcdEndpointValue('{"Op":0,"Addr":"[::1]:7","Metadata":{"weight":"2.5"}}');
    assert.ok(
      s.kind === 'add' &&
        s.endpoint.weight === 2.5 &&
        (s.endpoint.addresses[0] as { host: string }).host === '::1',
    );
    const n = decodeEtcdEndpointValue(encodeEtcdEndpointValue('h:1'));
    assert.ok(n.kind === 'add' && n.endpoint.weight === undefined && n.endpoint.metadata === undefined);
  });

  it('keeps an endpoint whose weight is invalid, at weight 1, with a warning', () => {
    const decoded = decodeEtcdEndpointValue('{"Op":0,"Addr":"h:1","Metadata":{"weight":-1}}');
    assert.equal(decoded.kind, 'add');
    if (decoded.kind !== 'add') return;
    assert.equal(decoded.endpoint.weight, undefined);
    assert.match(decoded.warning ?? '', /weight -1 is not a positive number; using 1/);
  });

  it('treats Op 1 as delete and skips malformed values with a reason', () => {
    assert.equal(decodeEtcdEndpointValue('{"Op":1,"Addr":"h:1"}').kind, 'delete');
    for (const [value, reason] of [
      ['not json', /not JSON/],
      ['[1]', /not a JSON object/],
      ['{"Op":7,"Addr":"h:1"}', /unknown Op 7/],
      ['{"Op":0}', /Addr is missing/],
      ['{"Op":0,"Addr":"nohost"}', /not host:port/],
    ] as const) {
      const decoded = decodeEtcdEndpointValue(value);
      assert.equal(decoded.kind, 'invalid', value);
      if (decoded.kind === 'invalid') assert.match(decoded.reason, reason);
    }
  });
});

describe('etcd resolver with a bad configuration', () => {
  it('reports UNAVAILABLE asynchronously, never from the constructor or updateResolution()', async () => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri('127.0.0.1:0', 'svc'), recorder.listener, {});
    resolver.updateResolution();
    assert.equal(recorder.updates.length, 0, 'listener called synchronously');
    await waitFor(() => recorder.updates.length > 0, 'error report', 5000);
    assert.equal(recorder.last()?.error?.code, 14);
    assert.match(recorder.last()!.error!.details, /^etcd:\/\/127\.0\.0\.1:0\/svc: .*invalid port/);
    resolver.destroy();
  });

  it('rejects a plain-object credentials option without echoing it', async () => {
    const recorder = recordingListener();
    const resolver = new EtcdResolver(etcdUri('', 'svc'), recorder.listener, {
      'grpc-consistent-hash.etcd.credentials': { username: 'u', password: 'hunter2-secret' },
    });
    resolver.updateResolution();
    await waitFor(() => recorder.updates.length > 0, 'error report', 5000);
    const details = recorder.last()!.error!.details;
    assert.match(details, /createEtcdCredentials/);
    assert.ok(!details.includes('hunter2-secret'));
    resolver.destroy();
  });
});
