// YAML (and JSON, a subset of it) to plain values, keeping enough of the parse
// to say on which line a field sits; syntax errors carry their line number.
import { isNode, LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './config-error.ts';

export type FieldPath = (string | number)[];

export interface ParsedSource {
  raw: unknown;
  /** 1-based source line of a field (or its nearest present parent). */
  lineOf(path: FieldPath): number | undefined;
  /** Plaintext password from a legacy `passwd=` line: the caller hashes it; it is never stored. */
  legacyPassword?: string;
}

/** `lineOffset` is how many lines precede `text` in the file (for a legacy YAML tail). */
export function parseYamlSource(text: string, file: string, lineOffset = 0): ParsedSource {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: [],
        message: `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(e.linePos ? { line: e.linePos[0].line + lineOffset } : {}),
      })),
      'YAML_SYNTAX',
    );
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const lineOf = (path: FieldPath): number | undefined => {
    for (let n = path.length; n >= 1; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lc.linePos(node.range[0]).line + lineOffset;
    }
    return undefined;
  };
  return { raw, lineOf };
}
