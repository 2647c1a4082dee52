// The command words a bash script runs, for checking installer-scripts/ against
// required-commands.txt. A small lexer, not a shell: it knows quotes, escapes,
// comments, $(...), `...`, <(...), ${...}, $((...)), ((...)), [[...]], case
// patterns and the separators; the first word of each simple command (after
// assignments, redirections and keywords) is a command, and so is the word after
// a wrapper (run_cmd, command, exec...). Words that are not literal ($x, "$@")
// are not commands we can name and are skipped.

/** Bash reserved words and builtins: never looked up on $PATH. */
export const SHELL_BUILTINS = new Set([
  // reserved words
  '!',
  '{',
  '}',
  'case',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'function',
  'if',
  'in',
  'select',
  'then',
  'time',
  'until',
  'while',
  '[[',
  ']]',
  // builtins (bash 5: `enable -a`)
  '.',
  ':',
  '[',
  'alias',
  'bg',
  'bind',
  'break',
  'builtin',
  'caller',
  'cd',
  'command',
  'compgen',
  'complete',
  'compopt',
  'continue',
  'declare',
  'dirs',
  'disown',
  'echo',
  'enable',
  'eval',
  'exec',
  'exit',
  'export',
  'false',
  'fc',
  'fg',
  'getopts',
  'hash',
  'help',
  'history',
  'jobs',
  'kill',
  'let',
  'local',
  'logout',
  'mapfile',
  'popd',
  'printf',
  'pushd',
  'pwd',
  'read',
  'readarray',
  'readonly',
  'return',
  'set',
  'shift',
  'shopt',
  'source',
  'suspend',
  'test',
  'times',
  'trap',
  'true',
  'type',
  'typeset',
  'ulimit',
  'umask',
  'unalias',
  'unset',
  'wait',
]);

/** Words after which the next word is itself a command (options skipped). */
const WRAPPERS = new Set(['command', 'exec', 'builtin', 'time', 'nohup', 'timeout', 'xargs', 'env']);

/** A word and whether it is a plain literal (no expansion in it). */
interface Word {
  text: string;
  literal: boolean;
}

/** Words after which the next word is in command position. */
const LEAD_KEYWORDS = new Set([
  'if',
  'elif',
  'while',
  'until',
  'then',
  'do',
  'else',
  '!',
  '{',
  'time',
  'for',
]);

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const REDIRECT = /^[0-9]*(>>?|<<?<?|&>>?|>&|<&|>\|)$/;

/**
 * Simple commands of `src`, each as its words, in order; nested $(...) and the
 * like become commands of their own.
 */
export function simpleCommands(src: string): Word[][] {
  const out: Word[][] = [];
  let i = 0;
  const n = src.length;

  // Skips to the `close` matching the opener just passed, honouring quotes.
  function skipBalanced(open: string, close: string): string {
    let depth = 1;
    const start = i;
    while (i < n && depth > 0) {
      const c = src[i]!;
      if (c === '\\') i += 2;
      else if (c === "'") i = src.indexOf("'", i + 1) + 1 || n;
      else if (c === '"') {
        i++;
        skipDouble();
      } else if (src.startsWith('$((', i)) {
        i += 3;
        skipBalanced('((', '))');
      } else if (src.startsWith('$(', i)) {
        i += 2;
        parseList(')');
      } else if (c === '`') {
        i++;
        parseList('`');
      } else if (src.startsWith(close, i)) {
        depth--;
        i += close.length;
      } else if (src.startsWith(open, i)) {
        depth++;
        i += open.length;
      } else i++;
    }
    return src.slice(start, i - close.length);
  }

  // Inside "...": only $(...), `...` and ${...} matter; returns at the closing quote.
  function skipDouble(): void {
    while (i < n && src[i] !== '"') {
      if (src[i] === '\\') i += 2;
      else if (src.startsWith('$((', i)) {
        i += 3;
        skipBalanced('((', '))');
      } else if (src.startsWith('$(', i)) {
        i += 2;
        parseList(')');
      } else if (src[i] === '`') {
        i++;
        parseList('`');
      } else if (src.startsWith('${', i)) {
        i += 2;
        skipBalanced('{', '}');
      } else i++;
    }
    i++;
  }

  // Parses commands until `end` (')' or '`' for a substitution, '' for the file).
  function parseList(end: string): void {
    let words: Word[] = [];
    let cur = '';
    let literal = true;
    let inWord = false;
    let cond = false; // inside [[ ... ]]: ( ) | < > are words there
    const caseDepth: number[] = []; // word positions of open `case`s
    let wantPattern = false;
    // Only keywords so far: what comes next is in command position.
    const atStart = () => words.every((w) => w.literal && LEAD_KEYWORDS.has(w.text));
    const endWord = () => {
      if (inWord) {
        words.push({ text: cur, literal });
        if (!cond && cur === '[[' && literal) cond = true;
        if (literal && cur === 'in' && words.length === 3 && words[0]!.text === 'case') {
          caseDepth.push(1);
          wantPattern = true;
          endCommand();
        } else if (literal && cur === 'esac' && words.length === 1) caseDepth.pop();
      }
      cur = '';
      literal = true;
      inWord = false;
    };
    const endCommand = () => {
      endWord();
      if (words.length > 0) out.push(words);
      words = [];
    };
    while (i < n) {
      // A case pattern list, up to its unquoted ')'.
      if (wantPattern) {
        while (i < n && /\s/.test(src[i]!)) i++;
        if (src.startsWith('esac', i) && !/[A-Za-z0-9_]/.test(src[i + 4] ?? '')) {
          wantPattern = false;
          continue;
        }
        if (src[i] === '#') {
          i = src.indexOf('\n', i) + 1 || n;
          continue;
        }
        if (src[i] === '(') i++;
        while (i < n && src[i] !== ')') {
          if (src[i] === '\\') i++;
          else if (src[i] === "'") i = src.indexOf("'", i + 1);
          else if (src[i] === '"') {
            i++;
            while (i < n && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
          }
          i++;
        }
        i++;
        wantPattern = false;
        continue;
      }
      const c = src[i]!;
      if (end && src.startsWith(end, i) && !cond) {
        i += end.length;
        endCommand();
        return;
      }
      if (c === '\\') {
        if (src[i + 1] === '\n') {
          endWord();
          i += 2;
          continue;
        }
        cur += src[i + 1] ?? '';
        inWord = true;
        i += 2;
      } else if (c === "'") {
        const close = src.indexOf("'", i + 1);
        cur += src.slice(i + 1, close < 0 ? n : close);
        inWord = true;
        i = close < 0 ? n : close + 1;
      } else if (c === '"') {
        const start = i + 1;
        i++;
        const before = out.length;
        skipDouble();
        const text = src.slice(start, i - 1);
        cur += text;
        if (/[$`]/.test(text) || out.length !== before) literal = false;
        inWord = true;
      } else if (src.startsWith('$((', i)) {
        i += 3;
        skipBalanced('((', '))');
        literal = false;
        inWord = true;
      } else if (src.startsWith('$(', i) || src.startsWith('<(', i) || src.startsWith('>(', i)) {
        i += 2;
        parseList(')');
        literal = false;
        inWord = true;
      } else if (c === '`') {
        i++;
        parseList('`');
        literal = false;
        inWord = true;
      } else if (src.startsWith('${', i)) {
        i += 2;
        skipBalanced('{', '}');
        literal = false;
        inWord = true;
      } else if (c === '$') {
        cur += c;
        literal = false;
        inWord = true;
        i++;
      } else if (c === '#' && !inWord) {
        i = src.indexOf('\n', i);
        if (i < 0) i = n;
      } else if (cond && !inWord && src.startsWith(']]', i) && !/[^\s;&|)]/.test(src[i + 2] ?? ' ')) {
        words.push({ text: ']]', literal: true });
        cond = false;
        i += 2;
      } else if (cond) {
        if (/\s/.test(c)) endWord();
        else {
          cur += c;
          inWord = true;
        }
        i++;
      } else if (!inWord && atStart() && src.startsWith('((', i)) {
        // An arithmetic command: no command words inside.
        i += 2;
        skipBalanced('((', '))');
        endCommand();
      } else if (src.startsWith(';;', i) || src.startsWith(';&', i)) {
        endCommand();
        i += src.startsWith(';;&', i) ? 3 : 2;
        if (caseDepth.length > 0) wantPattern = true;
      } else if (c === '(' && inWord && cur.endsWith('=') && ASSIGNMENT.test(cur)) {
        // An array assignment, a=(...): words, not commands.
        i++;
        skipBalanced('(', ')');
        literal = false;
      } else if (c === '\n' || c === ';' || c === '|' || c === '&' || c === '(' || c === ')') {
        endCommand();
        i++;
      } else if (c === '<' || c === '>') {
        // A redirection: the operator, its fd number and its target are not command words.
        if (inWord && /^[0-9]+$/.test(cur)) {
          cur = '';
          inWord = false;
        }
        endWord();
        words.push({ text: c, literal: true });
        i++;
        while (src[i] === '>' || src[i] === '&' || src[i] === '<' || src[i] === '|') i++;
      } else if (/\s/.test(c)) {
        endWord();
        i++;
      } else {
        cur += c;
        inWord = true;
        i++;
      }
    }
    endCommand();
  }

  parseList('');
  return out;
}

/** Functions the script defines (`name() {` or `function name`). */
export function definedFunctions(src: string): Set<string> {
  const names = new Set<string>();
  for (const m of src.matchAll(/^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_:.-]*)\s*\(\)/gm)) names.add(m[1]!);
  for (const m of src.matchAll(/^\s*function\s+([A-Za-z_][A-Za-z0-9_:.-]*)/gm)) names.add(m[1]!);
  return names;
}

/** The command word of one simple command, and any a wrapper runs, skipping the rest. */
export function commandWords(words: Word[], wrappers: ReadonlySet<string>): string[] {
  const found: string[] = [];
  let k = 0;
  const skipPrefix = () => {
    for (;;) {
      const w = words[k];
      if (!w) return;
      if (w.literal && (w.text === '<' || w.text === '>')) {
        k += 2; // the operator and its target
      } else if (REDIRECT.test(w.text) && w.literal) k += 2;
      else if (ASSIGNMENT.test(w.text)) k++;
      else if (
        w.literal &&
        ['!', '{', '}', 'then', 'do', 'else', 'elif', 'if', 'while', 'until', 'time'].includes(w.text)
      )
        k++;
      else return;
    }
  };
  skipPrefix();
  const first = words[k];
  if (!first) return found;
  // `for x in ...`, `case x in`, function bodies' closers: nothing runs by name here.
  if (
    first.literal &&
    ['for', 'case', 'select', 'function', 'esac', 'fi', 'done', '}', ']]', 'in'].includes(first.text)
  )
    return found;
  if (first.literal && first.text === '[[') return found;
  let w: Word | undefined = first;
  while (w) {
    if (!w.literal) return found;
    found.push(w.text);
    if (!wrappers.has(w.text)) return found;
    // `command -v x` only asks whether x exists; still a command the script relies on.
    // Between the wrapper and its command: options, env's assignments, redirections,
    // numbers (timeout's duration, xargs -n's count). `exec >log` runs nothing.
    k++;
    for (;;) {
      const x = words[k];
      if (!x?.literal) break;
      if (x.text === '<' || x.text === '>') k += 2;
      else if (x.text.startsWith('-') || ASSIGNMENT.test(x.text) || /^[0-9.]+[smhd]?$/.test(x.text)) k++;
      else break;
    }
    w = words[k];
  }
  return found;
}

/**
 * External commands `src` runs: command words that are neither builtins, nor
 * functions defined in `known`, nor dynamic. Wrappers are functions of ours
 * (run_cmd "$@"-style) or builtins like `command`, whose next word runs.
 */
export function externalCommands(
  src: string,
  o: { functions: ReadonlySet<string>; wrappers: ReadonlySet<string> },
): Set<string> {
  const wrappers = new Set([...WRAPPERS, ...o.wrappers]);
  const cmds = new Set<string>();
  for (const words of simpleCommands(src)) {
    for (const w of commandWords(words, wrappers)) {
      if (SHELL_BUILTINS.has(w) || o.functions.has(w)) continue;
      cmds.add(w);
    }
  }
  return cmds;
}

/** Commands `src` probes with `command -v NAME`. */
export function probedCommands(src: string): Set<string> {
  const out = new Set<string>();
  for (const words of simpleCommands(src)) {
    const k = words.findIndex((w) => w.literal && w.text === 'command');
    if (k >= 0 && words[k + 1]?.text === '-v' && words[k + 2]?.literal) out.add(words[k + 2]!.text);
  }
  return out;
}

/** The interpreter words of a `#!` line (`#!/usr/bin/env bash` -> env, bash). */
export function shebangCommands(src: string): string[] {
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(src);
  if (!m) return [];
  const first = m[1]!.split('/').at(-1)!;
  return first === 'env' && m[2] ? [first, m[2]] : [first];
}

export interface ScriptsCheck {
  /** Run by a script, not in the list: the bootkit check would miss them. */
  unlisted: string[];
  /** Listed (not indirect) but run by no script: the list is stale. */
  unused: string[];
  /** Flagged indirect, yet run by name: the flag is wrong. */
  wronglyIndirect: string[];
  /** Flagged optional, yet never probed with `command -v`: no fallback exists. */
  optionalNotProbed: string[];
  /** Every external command the scripts run, with the files that run it. */
  called: Map<string, string[]>;
}

/**
 * Compares the scripts (file -> text) with the list. Functions defined anywhere in
 * them are not commands; `wrappers` are functions of ours that run their arguments.
 */
export function checkScripts(
  scripts: ReadonlyMap<string, string>,
  list: readonly { command: string; optional: boolean; indirect: boolean }[],
  wrappers: ReadonlySet<string>,
): ScriptsCheck {
  const functions = new Set<string>();
  for (const [file, src] of scripts) {
    if (/<<-?\s*['"]?[A-Za-z_]/.test(src.replace(/<<</g, '')))
      throw new Error(`${file}: has a here-document, which this checker cannot read`);
    for (const f of definedFunctions(src)) functions.add(f);
  }
  const called = new Map<string, string[]>();
  const probed = new Set<string>();
  for (const [file, src] of scripts) {
    for (const c of [...shebangCommands(src), ...externalCommands(src, { functions, wrappers })])
      called.set(c, [...new Set([...(called.get(c) ?? []), file])]);
    for (const c of probedCommands(src)) probed.add(c);
  }
  const listed = new Map(list.map((c) => [c.command, c]));
  const sorted = (xs: Iterable<string>) => [...xs].sort();
  return {
    unlisted: sorted([...called.keys()].filter((c) => !listed.has(c))),
    unused: sorted(list.filter((c) => !c.indirect && !called.has(c.command)).map((c) => c.command)),
    wronglyIndirect: sorted(list.filter((c) => c.indirect && called.has(c.command)).map((c) => c.command)),
    optionalNotProbed: sorted(list.filter((c) => c.optional && !probed.has(c.command)).map((c) => c.command)),
    called,
  };
}
