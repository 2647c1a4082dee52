// Per-stick values from a CSV a technician keeps in a spreadsheet:
// a header row naming columns (hostname, static_ip, gateway, dns; any order,
// case-insensitive), then one row per stick. DNS servers in one cell are
// separated by spaces or semicolons. Quoted cells ("a,b") are honoured.

export interface StickRow {
  hostname: string;
  staticIp: string;
  gateway: string;
  dns: string;
}

export const emptyStickRow = (): StickRow => ({ hostname: '', staticIp: '', gateway: '', dns: '' });

const COLUMNS: Record<string, keyof StickRow> = {
  hostname: 'hostname',
  host: 'hostname',
  name: 'hostname',
  static_ip: 'staticIp',
  'static ip': 'staticIp',
  ip: 'staticIp',
  address: 'staticIp',
  gateway: 'gateway',
  default_gate_way: 'gateway',
  dns: 'dns',
  dns_name_server: 'dns',
};

export function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells.map((c) => c.trim());
}

export type CsvResult = { rows: StickRow[] } | { error: string };

export function parseStickCsv(text: string): CsvResult {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const [head, ...body] = lines;
  if (!head) return { error: 'the file is empty' };
  const keys = splitCsvLine(head).map((h) => COLUMNS[h.toLowerCase()]);
  if (!keys.includes('hostname'))
    return { error: 'the first row must name the columns, with at least "hostname"' };
  const rows = body.map((line) => {
    const row = emptyStickRow();
    splitCsvLine(line).forEach((cell, i) => {
      const k = keys[i];
      if (k)
        row[k] =
          k === 'dns'
            ? cell
                .split(/[\s;]+/)
                .filter(Boolean)
                .join(' ')
            : cell;
    });
    return row;
  });
  if (rows.length === 0) return { error: 'no rows below the header' };
  return { rows };
}
