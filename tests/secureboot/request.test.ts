// The build request as it crosses IPC: the Secure Boot keys are checked like the rest.
import { describe, expect, it } from 'vitest';
import { parseBuild } from '../../electron/jobs/build.ts';

const base = { osImage: '/tmp/os.img', out: '/tmp/out.iso', bootkit: '/tmp/kit.tar.gz' };

describe('parseBuild: Secure Boot fields', () => {
  it('takes secureBoot, trust and the signing files', () => {
    const r = parseBuild({
      ...base,
      secureBoot: 'shim',
      trust: '/tmp/mok.pem',
      signKey: '/tmp/k.pem',
      signCert: '/tmp/c.pem',
      signKeyPassFile: '/tmp/p.txt',
    });
    expect(r).toMatchObject({
      secureBoot: 'shim',
      trust: '/tmp/mok.pem',
      signKey: '/tmp/k.pem',
      signCert: '/tmp/c.pem',
      signKeyPassFile: '/tmp/p.txt',
    });
  });

  it('takes secureBoot uki with its key', () => {
    const r = parseBuild({ ...base, secureBoot: 'uki', signKey: '/tmp/k.pem', signCert: '/tmp/c.pem' });
    expect(r).toMatchObject({ secureBoot: 'uki', signKey: '/tmp/k.pem', signCert: '/tmp/c.pem' });
  });

  it('leaves them out when not given (the default build is unchanged)', () => {
    const r = parseBuild(base);
    expect('secureBoot' in r || 'trust' in r || 'signKey' in r).toBe(false);
  });

  it('refuses an unknown mode and a non-string path', () => {
    expect(() => parseBuild({ ...base, secureBoot: 'tpm' })).toThrow(/secureBoot/);
    expect(() => parseBuild({ ...base, trust: 42 })).toThrow(/trust/);
  });
});
