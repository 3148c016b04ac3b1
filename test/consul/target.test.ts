import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONSUL_TOKEN_OPTION,
  createConsulToken,
  parseConsulTarget,
  ResolverError,
} from '../../src/exports/consul';
import { resolveConsulToken } from '../../src/resolvers/consul/channel-options';

const noEnv = {};

describe('parseConsulTarget', () => {
  it('parses every documented parameter', () => {
    const t = parseConsulTarget(
      'consul://10.0.0.5:8600/web?tag=a&tag=b&dc=dc2&passing=false&near=_agent&wait=30s&stale=true&limit=3&scheme=https&filter=Service.Meta.v%3D%3D1',
      noEnv,
    );
    assert.deepEqual(t, {
      agent: { scheme: 'https', host: '10.0.0.5', port: 8600 },
      service: 'web',
      tags: ['a', 'b'],
      dc: 'dc2',
      passing: false,
      near: '_agent',
      filter: 'Service.Meta.v==1',
      waitMs: 30_000,
      wait: '30s',
      stale: true,
      consistent: false,
      limit: 3,
      hashKey: { kind: 'address' },
    });
  });

  it('defaults: passing=true, wait=5m, agent 127.0.0.1:8500 over http', () => {
    const t = parseConsulTarget('consul:///web', noEnv);
    assert.equal(t.passing, true);
    assert.equal(t.waitMs, 300_000);
    assert.deepEqual(t.agent, { scheme: 'http', host: '127.0.0.1', port: 8500 });
    assert.deepEqual(parseConsulTarget('consul:web', noEnv).service, 'web');
  });

  it('takes the agent from CONSUL_HTTP_ADDR (with scheme) and TLS from CONSUL_HTTP_SSL', () => {
    assert.deepEqual(
      parseConsulTarget('consul:///web', { CONSUL_HTTP_ADDR: 'https://127.0.0.1:9501' }).agent,
      {
        scheme: 'https',
        host: '127.0.0.1',
        port: 9501,
      },
    );
    assert.deepEqual(
      parseConsulTarget('consul:///web', { CONSUL_HTTP_ADDR: '127.0.0.1:9500', CONSUL_HTTP_SSL: 'true' })
        .agent,
      { scheme: 'https', host: '127.0.0.1', port: 9500 },
    );
    // The authority wins over the environment; scheme=http wins over CONSUL_HTTP_SSL.
    assert.deepEqual(
      parseConsulTarget('consul://127.0.0.1:1234/web?scheme=http', {
        CONSUL_HTTP_ADDR: '127.0.0.1:9',
        CONSUL_HTTP_SSL: '1',
      }).agent,
      { scheme: 'http', host: '127.0.0.1', port: 1234 },
    );
  });

  it('accepts a bracketed IPv6 agent and a bare host with the default port', () => {
    assert.deepEqual(parseConsulTarget('consul://[::1]:8500/web', noEnv).agent, {
      scheme: 'http',
      host: '::1',
      port: 8500,
    });
    assert.equal(parseConsulTarget('consul://consul.local/web', noEnv).agent.port, 8500);
  });

  const bad: [string, RegExp, NodeJS.ProcessEnv?][] = [
    ['consul:///web?colour=red', /unknown parameter "colour"/],
    ['consul:///web?wait=5', /parameter "wait".*got "5"/],
    ['consul:///web?wait=11m', /parameter "wait".*got "11m"/],
    ['consul:///web?wait=abc', /parameter "wait".*got "abc"/],
    ['consul:///web?passing=yes', /parameter "passing" must be true or false, got "yes"/],
    ['consul:///web?limit=0', /parameter "limit".*got "0"/],
    ['consul:///web?limit=2.5', /parameter "limit".*got "2.5"/],
    ['consul:///web?scheme=ftp', /parameter "scheme".*got "ftp"/],
    ['consul:///web?dc=a&dc=b', /parameter "dc" given 2 times/],
    ['consul:///web?dc=no%20spaces', /parameter "dc".*got "no spaces"/],
    ['consul:///web?tag=', /parameter "tag" is empty/],
    ['consul:///web?stale=true&consistent=true', /"stale" and "consistent" exclude each other/],
    ['consul:///?tag=a', /service name \(the path\) is empty/],
    ['consul:///a/b', /service name "a\/b"/],
    ['consul://host:99999/web', /authority "host:99999": port must be an integer in 1..65535, got "99999"/],
    ['consul://::1:8500/web', /IPv6 address must be in brackets/],
    ['consul://[::1/web', /unterminated/],
    ['consul://user@host:8500/web', /invalid host|credentials/],
    [
      'consul:///web',
      /CONSUL_HTTP_ADDR "unix:\/\/\/tmp\/c": scheme "unix"/,
      { CONSUL_HTTP_ADDR: 'unix:///tmp/c' },
    ],
    ['consul:///web', /CONSUL_HTTP_SSL must be true or false, got "maybe"/, { CONSUL_HTTP_SSL: 'maybe' }],
  ];
  for (const [target, message, env] of bad) {
    it(`rejects ${target}${env ? ` with ${JSON.stringify(env)}` : ''}`, () => {
      assert.throws(
        () => parseConsulTarget(target, env ?? noEnv),
        (error: unknown) =>
          error instanceof ResolverError &&
          error.code === 'INVALID_TARGET' &&
          error.message.startsWith('consul:') &&
          message.test(error.message),
      );
    });
  }
});

describe('the token channel option', () => {
  it('takes createConsulToken(token) and refuses a plain string, which grpc-js would trace', () => {
    assert.equal(resolveConsulToken({ [CONSUL_TOKEN_OPTION]: createConsulToken('s3cr3t') }, {}), 's3cr3t');
    assert.throws(
      () => resolveConsulToken({ [CONSUL_TOKEN_OPTION]: 's3cr3t' }, {}),
      (e: Error) => e.message.includes('createConsulToken') && !e.message.includes('s3cr3t'),
    );
    assert.equal(resolveConsulToken({}, { CONSUL_HTTP_TOKEN: 'from-env' }), 'from-env');
  });
});
