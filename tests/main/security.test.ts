import { describe, expect, it } from 'vitest';
import { parseJobId, parseRunCall } from '../../electron/api.ts';
import { jobs } from '../../electron/jobs/registry.ts';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  WEB_PREFERENCES,
} from '../../electron/main/security.ts';

const appUrl = 'file:///opt/emt/resources/app/renderer/dist/index.html';

describe('electron hardening', () => {
  it('keeps isolation and the sandbox on, node off', () => {
    expect(WEB_PREFERENCES.contextIsolation).toBe(true);
    expect(WEB_PREFERENCES.sandbox).toBe(true);
    expect(WEB_PREFERENCES.nodeIntegration).toBe(false);
  });

  it('CSP allows no remote script or connection', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)/);
  });

  it('accepts IPC only from our own top-level page', () => {
    expect(isTrustedSender(appUrl, true, appUrl)).toBe(true);
    expect(isTrustedSender(appUrl, false, appUrl)).toBe(false);
    expect(isTrustedSender('file:///tmp/evil.html', true, appUrl)).toBe(false);
    expect(isTrustedSender('https://example.invalid/', true, appUrl)).toBe(false);
    expect(isTrustedSender(undefined, true, appUrl)).toBe(false);
    expect(isTrustedSender('not a url', true, appUrl)).toBe(false);
    expect(isAllowedNavigation('https://example.invalid/', appUrl)).toBe(false);
  });

  it('validates renderer requests at run time', () => {
    expect(parseRunCall({ job: 'inspect', jobId: 'j1', request: { inputs: ['/a.tar.gz'] } })).toEqual({
      job: 'inspect',
      jobId: 'j1',
      request: { inputs: ['/a.tar.gz'] },
    });
    expect(parseRunCall({ job: 'rm-rf', jobId: 'j1', request: {} })).toMatchObject({
      error: { code: 'BAD_REQUEST' },
    });
    expect(parseRunCall({ job: 'inspect', jobId: '../x', request: {} })).toMatchObject({
      error: { code: 'BAD_REQUEST' },
    });
    expect(parseRunCall(null)).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect(parseJobId('a'.repeat(65))).toBeNull();
    expect(jobs.inspect.parse({ inputs: ['/a.tar.gz'] })).toEqual({ inputs: ['/a.tar.gz'] });
    expect(() => jobs.inspect.parse({ inputs: [] })).toThrow(/inputs must be a list of 1 to 2 paths/);
    expect(() => jobs.inspect.parse({ inputs: [1] })).toThrow(/BAD_REQUEST|paths/);
    expect(() => jobs.inspect.parse({ inputs: ['/a'], extra: 1 })).toThrow(/unknown field "extra"/);
    expect(() => jobs.drives.parse({ showAll: 'yes' })).toThrow(/showAll/);
    expect(() => jobs.drives.parse(null)).toThrow(/must be an object/);
  });
});
