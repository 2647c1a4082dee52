// installer-scripts/required-commands.txt is the one list of what the installer
// runs on the node: this proves it matches the scripts (every command a script
// runs is listed, nothing listed is unused, the flags are true), that the check
// fails when a script runs an unlisted command, and that the lexer behind it reads
// the shell constructs the scripts use.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRequiredCommands } from '../../electron/bootkit/required-commands.ts';
import { checkScripts, externalCommands, probedCommands, SHELL_BUILTINS } from './shell-commands.ts';

const SCRIPTS = fileURLToPath(new URL('../../installer-scripts/', import.meta.url));
/** Functions of lib/log.sh that run their arguments as a command ("$@"). */
const WRAPPERS = new Set(['run_cmd', 'run_stdin']);

async function shellFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const p = join(d, e.name);
      if (e.isDirectory() && e.name !== 'tests') await walk(p);
      else if (e.isFile() && e.name.endsWith('.sh')) out.set(relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return out;
}

async function check(dir: string) {
  const file = join(dir, 'required-commands.txt');
  const list = parseRequiredCommands(await readFile(file, 'utf8'), file);
  return { list, r: checkScripts(await shellFiles(dir), list, WRAPPERS) };
}

describe('installer-scripts/required-commands.txt', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'emt-reqcmds-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('lists every command the scripts run, and nothing they do not', async () => {
    const { list, r } = await check(SCRIPTS);
    expect(r.unlisted, `run by the scripts, missing from the list: ${r.unlisted.join(', ')}`).toEqual([]);
    expect(r.unused, `listed, run by no script (flag them indirect, or drop them)`).toEqual([]);
    expect(r.wronglyIndirect).toEqual([]);
    expect(r.optionalNotProbed).toEqual([]);
    // The wrappers really run their arguments (so the word after them is a command).
    const log = await readFile(join(SCRIPTS, 'lib/log.sh'), 'utf8');
    for (const w of WRAPPERS) expect(log).toMatch(new RegExp(`^${w}\\(\\) \\{[\\s\\S]*?^  "\\$@"`, 'm'));
    // What the issue names, and what it says the scripts call besides.
    const listed = list.map((c) => c.command);
    for (const c of ['systemd', 'bash', 'efibootmgr', 'lvm', 'parted', 'gawk', 'ifconfig', 'route'])
      expect(listed).toContain(c);
    for (const c of ['useradd', 'chpasswd', 'e2fsck', 'resize2fs', 'lsblk', 'wipefs', 'sha256sum'])
      expect(r.called.has(c), c).toBe(true);
    expect(r.called.get('wipefs')).toEqual(['steps/40-write-image.sh']);
  });

  it('fails when a script runs a command the list lacks, naming it', async () => {
    const copy = join(tmp, 'scripts');
    await cp(SCRIPTS, copy, { recursive: true });
    await writeFile(
      join(copy, 'steps', '90-extra.sh'),
      [
        '# shellcheck shell=bash',
        'extra_step() {',
        '  local out',
        '  out=$(frobnicate --all | head -n1) || die "no"',
        '  run_cmd zapdisk "$TARGET_DISK"',
        '  [[ -n $out ]] && say "$(quux)"',
        '}',
        '',
      ].join('\n'),
    );
    const { r } = await check(copy);
    expect(r.unlisted).toEqual(['frobnicate', 'quux', 'zapdisk']);
    expect(r.called.get('frobnicate')).toEqual(['steps/90-extra.sh']);
  });

  it('fails when a listed command is no longer run, or a flag is false', async () => {
    const copy = join(tmp, 'stale');
    await cp(SCRIPTS, copy, { recursive: true });
    const f = join(copy, 'required-commands.txt');
    const text = (await readFile(f, 'utf8'))
      .replace(/^wipefs .*$/m, 'wipefs util-linux\nlosetup util-linux')
      .replace(/^lsblk .*$/m, 'lsblk util-linux indirect')
      .replace(/^mkfifo .*$/m, 'mkfifo coreutils optional');
    await writeFile(f, text);
    const { r } = await check(copy);
    expect(r.unused).toEqual(['losetup']);
    expect(r.wronglyIndirect).toEqual(['lsblk']);
    expect(r.optionalNotProbed).toEqual(['mkfifo']);
  });
});

describe('the shell lexer', () => {
  const cmds = (src: string, functions: string[] = []) =>
    [
      ...externalCommands(src, { functions: new Set([...functions, ...WRAPPERS]), wrappers: WRAPPERS }),
    ].sort();

  it('finds commands in pipes, lists, substitutions and after keywords', () => {
    expect(cmds('a | b && c || d; e & f\n')).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell source, not a template
    expect(cmds('x=$(g "$(h)") y=`i`\necho "${z:-$(j)}" <(k) >(l)')).toEqual(['g', 'h', 'i', 'j', 'k', 'l']);
    expect(
      cmds('if m; then n; elif o; then p; else q; fi\nwhile r; do s; done\nuntil t; do :; done'),
    ).toEqual(['m', 'n', 'o', 'p', 'q', 'r', 's', 't']);
    expect(cmds('{ u; } 2>>log\n( v )\n! w\nLANG=C x -y\n2>/dev/null y')).toEqual(['u', 'v', 'w', 'x', 'y']);
    expect(cmds('exec >>"$LOG" 2>&1\nenv LANG=C sort -u\ntimeout 5 nc -z h\nxargs -0 -n 1 rm <list')).toEqual(
      ['env', 'nc', 'rm', 'sort', 'timeout', 'xargs'],
    );
    expect(cmds('run_cmd mkfs -t ext4 /dev/x\nrun_stdin chpasswd -e\ncommand -v sgdisk >/dev/null')).toEqual([
      'chpasswd',
      'mkfs',
      'sgdisk',
    ]);
  });

  it('skips words that are not commands: quotes, comments, tests, arithmetic, arrays, case patterns', () => {
    const src = [
      'echo \'a | b; c\' "d && $e" # f | g',
      '[[ $x =~ ^(h|i)$ && -n $y ]] || return 1',
      'if ((n > 0 && m[1] < 2)); then :; fi',
      'for ((i = 0; i < 3; i++)); do :; done',
      'for w in j k; do :; done',
      'arr=(l m "n o") list+=(p)',
      'local q=(r s) t',
      'case $v in',
      '  a | b*) ok ;;',
      '  (c) case $w in x) inner ;; esac ;;',
      '  *) last',
      '    ;;',
      'esac',
      'printf -v out \'%s\' "$(real)"',
      '"$@"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell source, not a template
      '"${cmd[@]}" <in | $dyn',
      'my_func arg; other',
    ].join('\n');
    expect(cmds(src, ['my_func'])).toEqual(['inner', 'last', 'ok', 'other', 'real']);
  });

  it('knows bash builtins and probed commands', () => {
    for (const b of ['printf', 'read', 'local', 'declare', 'mapfile', 'trap', 'wait', '[', 'test', 'kill'])
      expect(SHELL_BUILTINS.has(b), b).toBe(true);
    expect(cmds('printf x; read -r y; local z; declare -A q; wait $p; trap "" ERR')).toEqual([]);
    expect([...probedCommands('if command -v pvs >/dev/null; then pvs; fi\ncommand -v "$x"')]).toEqual([
      'pvs',
    ]);
  });
});
