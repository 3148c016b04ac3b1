import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM key + certificate pair on disk and in memory. */
export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A throwaway certificate authority made with the openssl CLI, plus what it issued. */
export interface TestCa {
  readonly ca: Issued;
  /** Server certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1), signed by the CA. */
  readonly server: Issued;
  /** Client certificate (CN=gch-client, extendedKeyUsage clientAuth), signed by the CA. */
  readonly client: Issued;
  /** Another CA's self-signed certificate: trusting it must not make the server trusted. */
  readonly otherCa: Issued;
  cleanup(): void;
}

function openssl(args: string[]): void {
  // Throws (the test fails, it does not skip) when openssl is missing: the security tests need it.
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

function read(dir: string, name: string): Issued {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

/** Generates a CA, a loopback server certificate and a client certificate into a temp dir (EC P-256, 1 day). */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'gch-ca-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    for (const name of ['ca', 'other-ca']) {
      openssl([
        'req',
        '-x509',
        ...ec,
        '-subj',
        `/CN=gch test ${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-days',
        '1',
        '-keyout',
        join(dir, `${name}-key.pem`),
        '-out',
        join(dir, `${name}.pem`),
      ]);
    }
    const leaves: [string, string, string][] = [
      ['server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
      ['client', '/CN=gch-client', 'extendedKeyUsage=clientAuth\n'],
    ];
    for (const [name, subject, extensions] of leaves) {
      openssl([
        'req',
        '-new',
        ...ec,
        '-subj',
        subject,
        '-keyout',
        join(dir, `${name}-key.pem`),
        '-out',
        join(dir, `${name}.csr`),
      ]);
      writeFileSync(join(dir, `${name}.ext`), extensions);
      openssl([
        'x509',
        '-req',
        '-in',
        join(dir, `${name}.csr`),
        '-CA',
        join(dir, 'ca.pem'),
        '-CAkey',
        join(dir, 'ca-key.pem'),
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        join(dir, `${name}.ext`),
        '-out',
        join(dir, `${name}.pem`),
      ]);
    }
    return {
      ca: read(dir, 'ca'),
      server: read(dir, 'server'),
      client: read(dir, 'client'),
      otherCa: read(dir, 'other-ca'),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
