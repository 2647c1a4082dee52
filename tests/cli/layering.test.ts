// The layers reach only down: the CLI parses flags, calls a job and prints, so it
// imports the engine folders for types only; the engine folders know neither the
// jobs, the CLI nor Electron. Checked on the sources' import statements.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const electron = join(import.meta.dirname, '../../electron');
const ENGINE = ['bootkit', 'initramfs', 'iso', 'flash', 'config', 'preview', 'secureboot'];

const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => join(d.parentPath, d.name));

/** Every module a file loads at run time: `import x from`, `export ... from`, `import('...')`; not `import type`. */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  const stmt = /^\s*(import|export)\s+([\s\S]*?)\s+from\s+['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(stmt)) {
    const clause = m[2]!.trim();
    if (/^type\s/.test(clause)) continue;
    // `import { type A, type B } from` loads nothing either.
    const named = /^\{([\s\S]*)\}$/.exec(clause);
    if (named && named[1]!.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim()))) continue;
    out.push(m[3]!);
  }
  for (const m of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

describe('layering', () => {
  it('the import scan sees value imports and skips type-only ones', () => {
    const src = [
      "import type { A } from '../flash/a.ts';",
      "import { type B, type C } from '../iso/b.ts';",
      "import { d, type E } from '../config/d.ts';",
      "export { f } from '../bootkit/f.ts';",
      "const g = await import('../initramfs/g.ts');",
    ].join('\n');
    expect(runtimeImports(src)).toEqual(['../config/d.ts', '../bootkit/f.ts', '../initramfs/g.ts']);
  });

  it('electron/cli imports the engine folders for types only', () => {
    const files = tsFiles(join(electron, 'cli'));
    expect(files.length).toBeGreaterThan(5);
    const bad = files.flatMap((f) =>
      runtimeImports(readFileSync(f, 'utf8'))
        .filter((spec) => ENGINE.some((e) => spec.startsWith(`../${e}/`)))
        .map((spec) => `${f.slice(electron.length + 1)} -> ${spec}`),
    );
    expect(bad).toEqual([]);
  });

  it('the engine folders import neither jobs, the CLI, main, preload nor Electron', () => {
    const bad: string[] = [];
    for (const e of ENGINE)
      for (const f of tsFiles(join(electron, e)))
        for (const spec of runtimeImports(readFileSync(f, 'utf8')).concat(
          // type imports count here too: the engine must not even know the upper layers' types
          [...readFileSync(f, 'utf8').matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!),
        ))
          if (/^\.\.\/(jobs|cli|main|preload|inputs)\/|^electron$/.test(spec))
            bad.push(`${f.slice(electron.length + 1)} -> ${spec}`);
    expect([...new Set(bad)]).toEqual([]);
  });
});
