// Errors about a site config: the message names the file, the line (when known)
// and the field, so a technician can go straight to the mistake.
import { EmtError } from '../errors.ts';

export interface ConfigIssue {
  /** Field path, e.g. ['write_files', 2, 'path']; empty for whole-file problems. */
  path: (string | number)[];
  message: string;
  /** 1-based line in the source file, when the loader could locate the field. */
  line?: number;
}

export const fieldName = (path: (string | number)[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line !== undefined ? `${file} line ${issue.line}` : file;
  const field = issue.path.length > 0 ? `${fieldName(issue.path)}: ` : '';
  return `${where}: ${field}${issue.message}`;
}

export class ConfigError extends EmtError {
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[], code = 'INVALID_CONFIG') {
    // One line for the CLI: every problem, separated by '; '.
    super('config', code, issues.map((i) => formatIssue(file, i)).join('; '), file);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
