// Hostile values in every field of the site config: each is either refused by the
// rule (exit 2, one line naming the file) or accepted, and then nothing it carries can
// break the files the edge node reads (no NUL, no line break inside a key=value line).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configArtifacts } from '../../electron/config/artifacts.ts';
import { SITE_CONFIG_KEYS } from '../../electron/config/schema.ts';
import { validateConfig } from '../../electron/config/validate.ts';
import { cli } from './rule.ts';

const dir = mkdtempSync(join(tmpdir(), 'emt-hostile-fields-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Values no field should take as they are. */
const HOSTILE: [string, unknown][] = [
  ['a NUL', 'ab\u0000cd'],
  ['a line break', 'edge\nuser_name=root'],
  ['a carriage return', 'a\rb'],
  ['an escape sequence', '\u001b[2Jx'],
  ['100 000 characters', 'x'.repeat(100_000)],
  ['shell syntax', '$(touch /pwned); `id`'],
  ['a negative number', -1],
  ['a huge number', 1e308],
  ['a fraction', 0.5],
  ['an object', { nested: { deeper: ['x'] } }],
  ['a long list', Array.from({ length: 5000 }, (_, i) => `v${i}`)],
  ['a list of NULs', ['\u0000']],
  ['null', null],
  ['true', true],
];

const FIELDS = SITE_CONFIG_KEYS.filter((k) => k !== 'schema_version' && k !== 'user_name');

/** A config that is valid on its own, so only the hostile field can be wrong. */
const base = { user_name: 'edge' };

function nodeFilesAreSafe(config: NonNullable<ReturnType<typeof validateConfig>['config']>): void {
  for (const a of configArtifacts(config)) {
    const text = a.data.toString('utf8');
    expect(text.includes('\u0000'), `${a.path} holds a NUL`).toBe(false);
    if (a.path.endsWith('.env')) {
      // Every line of a key=value file is one key=value pair: nothing smuggled in.
      for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
        expect(line, a.path).toMatch(/^[a-z_A-Z0-9]+=/);
      expect(/[\r\u001b]/.test(text), `${a.path} holds a control character`).toBe(false);
    }
  }
}

describe('hostile values in every config field', () => {
  it.each(FIELDS)('%s: refused at the field, or harmless in what the node reads', (field) => {
    for (const [what, value] of HOSTILE) {
      const r = validateConfig({ ...base, [field]: value });
      if (r.config) nodeFilesAreSafe(r.config);
      else {
        expect(r.issues.length, `${field} = ${what}`).toBeGreaterThan(0);
        // The problem is reported at the field it is in.
        expect(
          r.issues.some((i) => i.path[0] === field),
          `${field} = ${what}: ${JSON.stringify(r.issues)}`,
        ).toBe(true);
      }
    }
  });

  it('through the CLI: exit 0 or 2, one line naming the file, never a trace', async () => {
    let refusedCount = 0;
    for (const field of FIELDS) {
      for (const [i, [, value]] of HOSTILE.entries()) {
        const f = join(dir, `${field}-${i}.json`);
        writeFileSync(f, JSON.stringify({ ...base, [field]: value }));
        const r = await cli(['config', f]);
        expect([0, 2], `${field} #${i}: ${r.err.join('\n')}`).toContain(r.code);
        if (r.code === 2) {
          refusedCount++;
          expect(r.err, `${field} #${i}`).toHaveLength(1);
          expect(r.err[0]).toContain(f);
          expect(r.err[0]).not.toMatch(/\n|\s+at \S+ \(/);
        }
      }
    }
    // Most of these are wrong for most fields: a run that refuses none checked nothing.
    expect(refusedCount).toBeGreaterThan(FIELDS.length * (HOSTILE.length / 2));
  });
});
