// The package as published: entry points resolve through `exports`, the main entry stays lean
// (register() loads no resolver, policy or ring module until a channel needs it), TypeScript sees
// the subpath types under both module resolutions, the CLI runs, and `npm pack` ships only dist.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { type EtcdRegistration, registerWithEtcd } from '../../src/exports/etcd';
import { type BuiltPackage, buildPackage, REPO_ROOT } from '../support/built-package';
import { ConsulDouble } from '../support/consul-double';
import { type EtcdServer, startEtcd } from '../support/etcd-server';

const run = promisify(execFile);
const CHILD_TIMEOUT_MS = 20_000;
const SUBPATHS = {
  'grpc-consistent-hash': 'dist/src/index.js',
  'grpc-consistent-hash/consul': 'dist/src/exports/consul.js',
  'grpc-consistent-hash/etcd': 'dist/src/exports/etcd.js',
  'grpc-consistent-hash/kubernetes': 'dist/src/exports/kubernetes.js',
  'grpc-consistent-hash/rings': 'dist/src/exports/rings.js',
};

/** Runs `code` with `node -e` in the consumer directory and parses the JSON it prints. */
async function evaluate<T>(pkg: BuiltPackage, code: string): Promise<T> {
  const { stdout } = await run(process.execPath, ['-e', code], {
    cwd: pkg.consumerDir,
    timeout: CHILD_TIMEOUT_MS,
  });
  return JSON.parse(stdout) as T;
}

/** `npm pack --dry-run` of a directory: the paths it would ship. */
async function packedFiles(dir: string): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    timeout: CHILD_TIMEOUT_MS,
  });
  const [result] = JSON.parse(stdout) as { files: { path: string }[] }[];
  assert.ok(result, 'npm pack printed no result');
  return result.files.map((f) => f.path).sort();
}

describe('package shape', () => {
  let pkg: BuiltPackage;

  before(() => {
    pkg = buildPackage(true);
  });

  after(() => pkg?.remove());

  it('resolves the main entry and each subpath through exports, and hides the rest', async () => {
    const result = await evaluate<{ resolved: Record<string, string>; deep: string }>(
      pkg,
      `const resolved = {};
       for (const id of ${JSON.stringify(Object.keys(SUBPATHS))}) resolved[id] = require.resolve(id);
       let deep = 'resolved';
       try { require.resolve('grpc-consistent-hash/dist/src/rings/index.js'); } catch (e) { deep = e.code; }
       console.log(JSON.stringify({ resolved, deep }));`,
    );
    for (const [id, file] of Object.entries(SUBPATHS)) {
      assert.equal(result.resolved[id], path.join(pkg.packageDir, file), id);
    }
    assert.equal(result.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('exports the documented names from each entry point', async () => {
    const names = await evaluate<Record<string, string[]>>(
      pkg,
      `const out = {};
       for (const id of ${JSON.stringify(Object.keys(SUBPATHS))}) out[id] = Object.keys(require(id));
       console.log(JSON.stringify(out));`,
    );
    const expected: Record<string, string[]> = {
      'grpc-consistent-hash': [
        'register',
        'validateConfig',
        'ConsistentHashConfigError',
        'CONSISTENT_HASH_TYPE_NAME',
        'RING_HASH_EXPERIMENTAL_TYPE_NAME',
        'DEFAULT_HASH_HEADER',
        'withHashKey',
        'createHashKeyInterceptor',
        'parseStaticTarget',
        'ResolverError',
        'STATIC_SCHEME',
        'TRACER_NAME',
      ],
      'grpc-consistent-hash/consul': [
        'parseConsulTarget',
        'ResolverError',
        'createConsulToken',
        'CONSUL_TOKEN_OPTION',
        'CONSUL_SCHEME',
        'registerConsulResolver',
        'registerWithConsul',
        'addHealthService',
      ],
      'grpc-consistent-hash/etcd': [
        'parseEtcdTarget',
        'registerWithEtcd',
        'registerEtcdResolver',
        'createEtcdCredentials',
        'ETCD_SCHEME',
        'encodeEtcdEndpointValue',
      ],
      'grpc-consistent-hash/kubernetes': [
        'parseKubernetesTarget',
        'KUBERNETES_SCHEME',
        'KUBERNETES_IDENTITY_OPTION',
        'registerKubernetesResolver',
        'buildKubernetesEndpoints',
        'loadKubernetesConnection',
      ],
      'grpc-consistent-hash/rings': [
        'createRingBuilder',
        'buildRing',
        'xxh64String',
        'crc32String',
        'ringOwnership',
        'simulateDistribution',
      ],
    };
    for (const [id, wanted] of Object.entries(expected)) {
      for (const name of wanted) assert.ok(names[id]?.includes(name), `${id} exports ${name}`);
    }
    // The moved names are gone from the main entry.
    for (const name of [
      'parseConsulTarget',
      'registerWithEtcd',
      'parseKubernetesTarget',
      'createRingBuilder',
      'simulateDistribution',
    ]) {
      assert.ok(!names['grpc-consistent-hash']?.includes(name), `main entry no longer exports ${name}`);
    }
  });

  it('imports by name from ES modules too (one CommonJS build)', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { register, validateConfig } from 'grpc-consistent-hash';
         import { parseConsulTarget } from 'grpc-consistent-hash/consul';
         import { registerWithEtcd } from 'grpc-consistent-hash/etcd';
         import { parseKubernetesTarget } from 'grpc-consistent-hash/kubernetes';
         import { createRingBuilder } from 'grpc-consistent-hash/rings';
         console.log([register, validateConfig, parseConsulTarget, registerWithEtcd, parseKubernetesTarget, createRingBuilder].map((f) => typeof f).join());`,
      ],
      { cwd: pkg.consumerDir, timeout: CHILD_TIMEOUT_MS },
    );
    assert.equal(stdout.trim(), 'function,function,function,function,function,function');
  });

  it('loads no Consul, etcd, Kubernetes, ring, policy or proto module with the main entry and register()', async () => {
    const loaded = await evaluate<string[]>(
      pkg,
      `require('@grpc/grpc-js');
       const before = new Set(Object.keys(require.cache));
       require('grpc-consistent-hash').register();
       console.log(JSON.stringify(Object.keys(require.cache).filter((k) => !before.has(k))));`,
    );
    const ours = loaded
      .filter((k) => k.startsWith(pkg.packageDir))
      .map((k) => path.relative(pkg.packageDir, k));
    assert.ok(ours.includes('dist/src/index.js'), 'the main entry itself loaded');
    const heavy = [
      /resolvers\/(consul|etcd|kubernetes|static)\/(resolver|static-resolver|http-client|endpoints|target|naming)\.js$/,
      /^dist\/src\/(consul|etcd|kubernetes|registration)\//,
      /^dist\/src\/rings\/(?!ring-options|bounded-load)/,
      /balancer\/(load-balancer|picker|key-position-cache|bounded-load-gate)\.js$/,
    ];
    for (const file of ours) {
      assert.ok(!heavy.some((re) => re.test(file)), `${file} must load lazily`);
    }
    // Each module costs ~0.15 ms to load; keep the main entry to a handful: 21 with ResolverError
    // (the main entry exports it, parseStaticTarget throws it), the config guard registration needs
    // (an invalid config fails calls instead of becoming pick_first), the "did you mean" suggestions
    // the config parser gives, and the weight rule the CLI shares.
    assert.ok(ours.length <= 21, `the main entry loads ${ours.length} modules: ${ours.join(', ')}`);
    const others = loaded.filter((k) => !k.startsWith(pkg.packageDir));
    assert.deepEqual(others, [], 'no dependency loads with the main entry');
  });

  describe('register() then channels to each registry', () => {
    let server: grpc.Server;
    let serverAddress = '';
    let consul: ConsulDouble;
    let etcd: EtcdServer;
    let etcdRegistration: EtcdRegistration | undefined;

    before(async () => {
      server = new grpc.Server();
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
          e ? reject(e) : resolve(p),
        ),
      );
      [consul, etcd] = await Promise.all([ConsulDouble.start({ runGrpcChecks: false }), startEtcd()]);
      serverAddress = `127.0.0.1:${port}`;
      consul.addCatalogService({ id: 'hello-1', name: 'hello', address: '127.0.0.1', port });
      etcdRegistration = registerWithEtcd({
        target: 'hello',
        id: 'hello-1',
        addr: serverAddress,
        endpoints: etcd.endpoint,
      });
      await etcdRegistration.ready;
      copyFileSync(
        path.join(__dirname, 'fixtures', 'lazy-resolvers-child.js'),
        path.join(pkg.consumerDir, 'lazy-resolvers-child.js'),
      );
    });

    after(async () => {
      await etcdRegistration?.deregister();
      await Promise.all([consul?.stop(), etcd?.stop()]);
      server?.forceShutdown();
    });

    it('loads each resolver on the first channel that needs it, and connects', async () => {
      const env = {
        ...process.env,
        SERVER_ADDRESS: serverAddress,
        CONSUL_AGENT: consul.address,
        ETCD_ENDPOINT: etcd.endpoint,
      };
      const { stdout } = await run(process.execPath, ['lazy-resolvers-child.js'], {
        cwd: pkg.consumerDir,
        timeout: CHILD_TIMEOUT_MS,
        env,
      });
      const report = JSON.parse(stdout) as Record<string, Record<string, boolean> | string>;
      const none = { policy: false, static: false, consul: false, etcd: false };
      assert.deepEqual(report.afterRequire, none);
      assert.deepEqual(report.afterRegister, none);
      assert.equal(report.static, 'ready');
      assert.deepEqual(report.afterStatic, { ...none, policy: true, static: true });
      assert.equal(report.consul, 'ready');
      assert.deepEqual(report.afterConsul, { ...none, policy: true, static: true, consul: true });
      assert.equal(report.etcd, 'ready');
      assert.deepEqual(report.afterEtcd, { policy: true, static: true, consul: true, etcd: true });
    });
  });

  it('gives TypeScript the subpath types under moduleResolution node10 and node16', async () => {
    for (const file of ['@types']) {
      symlinkSync(
        path.join(REPO_ROOT, 'node_modules', file),
        path.join(pkg.consumerDir, 'node_modules', file),
        'dir',
      );
    }
    writeFileSync(
      path.join(pkg.consumerDir, 'consumer.ts'),
      [
        "import { register, validateConfig } from 'grpc-consistent-hash';",
        "import { parseConsulTarget } from 'grpc-consistent-hash/consul';",
        "import { parseEtcdTarget } from 'grpc-consistent-hash/etcd';",
        "import { parseKubernetesTarget } from 'grpc-consistent-hash/kubernetes';",
        "import { createRingBuilder, type HashRing } from 'grpc-consistent-hash/rings';",
        'register();',
        'validateConfig({ algorithm: "ketama" });',
        "const ring: HashRing = createRingBuilder('maglev').build([{ id: 'a' }]);",
        "export const checks = [ring.size, parseConsulTarget('consul:///x'), parseEtcdTarget('etcd:///x'), parseKubernetesTarget('kubernetes:///x:80')];",
        '',
      ].join('\n'),
    );
    const tsc = require.resolve('typescript/bin/tsc');
    for (const [module, moduleResolution] of [
      ['commonjs', 'node10'],
      ['node16', 'node16'],
    ] as const) {
      const args = [tsc, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node'];
      args.push('--module', module, '--moduleResolution', moduleResolution, 'consumer.ts');
      await run(process.execPath, args, { cwd: pkg.consumerDir, timeout: CHILD_TIMEOUT_MS }).catch((e) => {
        assert.fail(`tsc (${moduleResolution}) failed:\n${e.stdout}${e.stderr}`);
      });
    }
  });

  it('runs the CLI from its bin path', async () => {
    const manifest = JSON.parse(readFileSync(path.join(pkg.packageDir, 'package.json'), 'utf8'));
    const bin = path.join(pkg.packageDir, manifest.bin['grpc-consistent-hash']);
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const { stdout } = await run(process.execPath, [bin, '--help'], { timeout: CHILD_TIMEOUT_MS });
    assert.match(stdout, /simulate/);
  });

  it('packs dist, README, CHANGELOG and LICENSE, and nothing else', async () => {
    const built = await packedFiles(pkg.packageDir);
    for (const file of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/src/cli/main.js']) {
      assert.ok(built.includes(file), `packs ${file}`);
    }
    for (const file of Object.values(SUBPATHS)) {
      assert.ok(built.includes(file), `packs ${file}`);
      assert.ok(built.includes(file.replace(/\.js$/, '.d.ts')), `packs the types of ${file}`);
    }
    const extra = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'];
    assert.deepEqual(
      built.filter((f) => !/^dist\/src\/.*\.(js|d\.ts)$/.test(f) && !extra.includes(f)),
      [],
      'only compiled code (no source maps: the sources are not shipped)',
    );
    // The repository itself, with its tests, benches, examples and sources, ships nothing else
    // either (whatever its own dist/ holds at the moment).
    const repository = await packedFiles(REPO_ROOT);
    assert.deepEqual(
      repository.filter((f) => !f.startsWith('dist/src/')),
      extra.slice().sort(),
    );
  });
});
