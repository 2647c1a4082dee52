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

/** Aliases may stand for at most this many nodes: a "billion laughs" file expands without end. */
export const MAX_ALIAS_COUNT = 100;

function toPlain(doc: ReturnType<typeof parseDocument>, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // The yaml package throws a ReferenceError when aliases expand past the count.
    if (!(e instanceof ReferenceError)) throw e;
    throw new ConfigError(
      file,
      [
        {
          path: [],
          message: `its YAML aliases (*name) expand past ${MAX_ALIAS_COUNT} nodes, as an alias bomb does; write the values out`,
        },
      ],
      'YAML_ALIASES',
    );
  }
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
  const raw = toPlain(doc, file);
  const lineOf = (path: FieldPath): number | undefined => {
    for (let n = path.length; n >= 1; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lc.linePos(node.range[0]).line + lineOffset;
    }
    return undefined;
  };
  return { raw, lineOf };
}
