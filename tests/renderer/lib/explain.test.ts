// The next steps the UI gives for the errors a technician meets in the field.
import { describe, expect, it } from 'vitest';
import { explain } from '../../../renderer/src/lib/explain.ts';

const e = (code: string) => explain({ area: 'flash', code, message: `/dev/sdb: ${code}`, file: '/dev/sdb' });

describe('plain-words errors', () => {
  it('keeps the engine message and adds the next step per code', () => {
    expect(e('ACCESS_DENIED').next).toMatch(/Controlled Folder Access/);
    expect(e('ACCESS_DENIED').next).toMatch(/antivirus/);
    expect(e('IO_ERROR').next).toMatch(/removed/);
    expect(e('NOT_LISTED').next).toMatch(/unplugged/);
    expect(e('TOO_SMALL').next).toMatch(/larger than this stick/);
    expect(e('NO_POLKIT_AGENT').next).toMatch(/polkit agent/);
    expect(e('ACCESS_DENIED').message).toBe('/dev/sdb: ACCESS_DENIED');
  });
  it('has a sensible default for codes it does not know', () => {
    expect(e('SOMETHING_NEW').next).toMatch(/app log/);
  });
});
