import { describe, expect, it } from 'vitest';
import { parseStickCsv, splitCsvLine } from '../../../renderer/src/lib/stick-csv.ts';

describe('per-stick CSV', () => {
  it('reads columns by their header, any order and case, quoted cells and DNS lists', () => {
    const r = parseStickCsv(
      '\uFEFFIP,Hostname,dns,Gateway\r\n10.0.0.11/24,node-01,"10.0.0.1;10.0.0.2",10.0.0.254\n\n,node-02,,\n',
    );
    expect(r).toEqual({
      rows: [
        { hostname: 'node-01', staticIp: '10.0.0.11/24', gateway: '10.0.0.254', dns: '10.0.0.1 10.0.0.2' },
        { hostname: 'node-02', staticIp: '', gateway: '', dns: '' },
      ],
    });
  });
  it('says what is wrong with a file it cannot use', () => {
    expect(parseStickCsv('')).toEqual({ error: 'the file is empty' });
    expect(parseStickCsv('a,b\n1,2')).toMatchObject({ error: expect.stringContaining('hostname') });
    expect(parseStickCsv('hostname\n')).toEqual({ error: 'no rows below the header' });
  });
  it('splits quoted cells with escaped quotes', () => {
    expect(splitCsvLine('a,"b,c","d""e"')).toEqual(['a', 'b,c', 'd"e']);
  });
});
