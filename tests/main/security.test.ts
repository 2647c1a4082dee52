import { describe, expect, it } from 'vitest';
import { ApiError, Channels, parseRequest } from '../../electron/api.ts';
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
    expect(parseRequest(Channels.inspect, { paths: ['/a.tar.gz'] })).toEqual({ paths: ['/a.tar.gz'] });
    expect(() => parseRequest(Channels.inspect, { paths: [] })).toThrow(ApiError);
    expect(() => parseRequest(Channels.inspect, { paths: [1] })).toThrow(ApiError);
    expect(() => parseRequest(Channels.drives, { showAll: 'yes' })).toThrow(ApiError);
    expect(() => parseRequest(Channels.drives, null)).toThrow(ApiError);
  });
});
