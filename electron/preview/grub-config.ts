// What a grub.cfg boots: each menu entry's title, kernel, initrds and effective
// kernel command line ($var and ${var} expanded from the `set`s before it).
// A practical reading of GRUB's script syntax (words, quotes, menuentry/submenu
// blocks); `if` blocks are read straight through, so a `set` inside one applies.
import type { GrubConfig, GrubEntry } from './report.ts';

export type { GrubConfig, GrubEntry };

/** Pure: shell-like words of one line (quotes removed, `#` comments dropped); `$` kept for expansion. */
export function grubWords(line: string): { text: string; quoted: boolean }[] {
  const out: { text: string; quoted: boolean }[] = [];
  let cur = '';
  let have = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      have = true;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
      have = true;
      quoted = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++)
        cur += line[j] === '\\' && j + 1 < line.length ? line[++j] : line[j];
      i = j;
      have = true;
      quoted = true;
    } else if (c === ' ' || c === '\t') {
      if (have) out.push({ text: cur, quoted });
      cur = '';
      have = false;
      quoted = false;
    } else if (c === '#' && !have) break;
    else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push({ text: cur, quoted });
  return out;
}

// A variable the file never sets ($root, $cmdpath...) is GRUB's at run time: kept as written.
const expand = (s: string, vars: Record<string, string>): string =>
  s.replace(/\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)/g, (m, a: string, b: string) => vars[a ?? b] ?? m);

/** Pure: statements, split at newlines and `;` and around block braces, outside quotes. */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  const flush = () => {
    if (cur.trim() !== '') out.push(cur.trim());
    cur = '';
  };
  const boundary = (c: string | undefined) =>
    c === undefined || c === ' ' || c === '\t' || c === '\n' || c === ';';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"' && i + 1 < text.length) cur += c + text[++i];
      else {
        if (c === quote) quote = null;
        cur += c;
      }
    } else if (c === '\\' && text[i + 1] === '\n') i++;
    else if (c === '\\' && i + 1 < text.length) cur += c + text[++i];
    else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === '#' && (cur === '' || /\s$/.test(cur))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '\n' || c === ';') flush();
    else if ((c === '{' || c === '}') && boundary(text[i - 1]) && boundary(text[i + 1])) {
      if (c === '{') {
        cur += c;
        flush();
      } else {
        flush();
        out.push('}');
      }
    } else cur += c;
  }
  flush();
  return out;
}

/** Pure: parses one grub.cfg. */
export function parseGrubConfig(text: string, file: string): GrubConfig {
  const vars: Record<string, string> = {};
  const entries: GrubEntry[] = [];
  const includes: string[] = [];
  // The open blocks: menu entries and submenus need their own closing brace.
  const stack: { kind: 'menu' | 'submenu' | 'other'; entry?: GrubEntry; title?: string }[] = [];
  const titles = () => stack.filter((s) => s.kind === 'submenu').map((s) => s.title!);
  const current = () => [...stack].reverse().find((s) => s.kind === 'menu')?.entry;
  const statements = splitStatements(text);
  for (const raw of statements) {
    const words = grubWords(raw.trim());
    while (words.length > 0 && ['then', 'else', 'do'].includes(words[0]!.text)) words.shift();
    if (words.length === 0) continue;
    const cmd = words[0]!.text;
    if (cmd === '}') {
      stack.pop();
      continue;
    }
    if (cmd === 'menuentry' || cmd === 'submenu') {
      const title = expand(words[1]?.text ?? '', vars);
      if (cmd === 'menuentry') {
        const entry: GrubEntry = { title, path: titles(), kernel: null, initrd: [], cmdline: '' };
        entries.push(entry);
        stack.push({ kind: 'menu', entry });
      } else stack.push({ kind: 'submenu', title });
      continue;
    }
    if (words[words.length - 1]!.text === '{' || ['if', 'for', 'while', 'function'].includes(cmd)) {
      if (words[words.length - 1]!.text === '{') stack.push({ kind: 'other' });
      continue;
    }
    if (cmd === 'fi' || cmd === 'done') continue;
    const args = words.slice(1).map((w) => expand(w.text, vars));
    if (cmd === 'set' && args.length > 0) {
      const a = words
        .slice(1)
        .map((w) => w.text)
        .join(' ');
      const eq = a.indexOf('=');
      if (eq > 0) vars[a.slice(0, eq)] = expand(a.slice(eq + 1), vars);
      continue;
    }
    const e = current();
    if (e && /^linux(16|efi)?$/.test(cmd)) {
      e.kernel = args[0] ?? null;
      e.cmdline = args.slice(1).join(' ');
    } else if (e && /^initrd(16|efi)?$/.test(cmd)) e.initrd = args;
    else if (cmd === 'configfile' || cmd === 'source') includes.push(args[0] ?? '');
  }
  return { file, entries, includes, vars };
}

/** "(hd0,gpt1)/boot/x" or "($root)/boot/x" -> "/boot/x": the path within whatever device. */
export const devicelessPath = (p: string): string => p.replace(/^\([^)]*\)/, '');
