// What changed from one installer to another, as a list a person (or a script)
// can read: payloads by hash, installer files, config keys (secrets only as
// "changed"), boot settings, kernel and bootkit versions. A payload change that
// a more specific change explains (the initramfs by its installer files, the
// kernel by its version, grub.cfg by the cmdline or label) is not listed twice.
import type { Preview } from './preview.ts';
import type { ChangeKind, PreviewChange, PreviewReport } from './report.ts';

type Item = { value: string; secret?: boolean };

/** Pure: added/removed/changed between two keyed maps. */
export function compareMaps(
  kind: ChangeKind,
  field: 'path' | 'key',
  a: Map<string, Item>,
  b: Map<string, Item>,
): PreviewChange[] {
  const out: PreviewChange[] = [];
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const k of keys) {
    const x = a.get(k);
    const y = b.get(k);
    if (x && y && x.value === y.value) continue;
    const change = !x ? 'added' : !y ? 'removed' : 'changed';
    const secret = x?.secret || y?.secret;
    out.push({
      kind,
      [field]: k,
      change,
      ...(secret || !x ? {} : { before: x.value }),
      ...(secret || !y ? {} : { after: y.value }),
    });
  }
  return out;
}

const m = (entries: [string, string | null | undefined][]): Map<string, Item> =>
  new Map(
    entries
      .filter((e): e is [string, string] => e[1] !== null && e[1] !== undefined)
      .map(([k, v]) => [k, { value: v }]),
  );

type Manifest = {
  files?: { path: string; sha256: string }[];
  bootkit?: { source?: string; sha256?: string; kernelVersion?: string | null };
  tool?: { name?: string; version?: string };
  xorriso?: string;
  label?: string;
};

function bootSettings(r: PreviewReport): Map<string, Item> {
  const s: [string, string | null][] = [
    ['volume.id', r.volume?.id ?? null],
    ['boot.hybrid', String(r.boot.hybrid)],
    ['boot.bios', `cd=${r.boot.bios.cd} usb=${r.boot.bios.usb}`],
    ['boot.uefi', `cd=${r.boot.uefi.cd} usb=${r.boot.uefi.usb}`],
    ['boot.secureBoot', String(r.boot.secureBoot.chain)],
    [
      'boot.eltorito',
      r.boot.entries
        .map((e) => `${e.platform}/${e.emulation}/${e.image ?? `@${e.lba}`}/${e.size}`)
        .join(', ') || null,
    ],
  ];
  for (const p of r.partitions)
    s.push([
      `partition.${p.number}`,
      `${p.name} ${p.type} ${p.size} bytes${p.filesystem ? ` ${p.filesystem.type}` : ''}`,
    ]);
  for (const g of r.grub)
    for (const e of g.entries)
      s.push([`boot.cmdline[${g.file}: ${[...e.path, e.title].join(' > ')}]`, e.cmdline]);
  return m(s);
}

function configItems(p: Preview): Map<string, Item> {
  const out = new Map<string, Item>();
  for (const [k, v] of Object.entries(p.report.config.values)) {
    const secret = p.report.config.secrets.includes(k);
    out.set(
      k,
      secret
        ? { value: p.secrets.get(k) ?? String(v), secret }
        : { value: Array.isArray(v) ? v.join(', ') : v },
    );
  }
  return out;
}

export function diffPreviews(a: Preview, b: Preview): PreviewChange[] {
  const ra = a.report;
  const rb = b.report;
  const ma = (ra.manifest ?? {}) as Manifest;
  const mb = (rb.manifest ?? {}) as Manifest;
  const installer = compareMaps(
    'installer-file',
    'path',
    new Map(ra.installer.files.map((f) => [f.path, { value: f.sha256 }])),
    new Map(rb.installer.files.map((f) => [f.path, { value: f.sha256 }])),
  );
  const config = compareMaps('config', 'key', configItems(a), configItems(b));
  const boot = compareMaps('boot', 'key', bootSettings(ra), bootSettings(rb));
  const kernel = compareMaps(
    'kernel',
    'key',
    m([['kernel.version', ra.kernel.version]]),
    m([['kernel.version', rb.kernel.version]]),
  );
  const bk = (x: Manifest, r: PreviewReport) =>
    m([
      ['bootkit.source', x.bootkit?.source],
      ['bootkit.sha256', x.bootkit?.sha256],
      ['bootkit.kernelVersion', x.bootkit?.kernelVersion],
      ['tool.version', x.tool?.version],
      ['xorriso', x.xorriso],
      ['initramfs.codecs', r.initramfs.segments.map((s) => s.codec).join('+') || null],
    ]);
  const bootkit = compareMaps('bootkit', 'key', bk(ma, ra), bk(mb, rb));
  // Payloads by hash when both carry a manifest, else the file tree by size.
  const payload =
    ma.files && mb.files
      ? compareMaps(
          'payload',
          'path',
          new Map(ma.files.map((f) => [f.path, { value: f.sha256 }])),
          new Map(mb.files.map((f) => [f.path, { value: f.sha256 }])),
        )
      : compareMaps(
          'file',
          'path',
          new Map(ra.files.map((f) => [f.path, { value: String(f.size) }])),
          new Map(rb.files.map((f) => [f.path, { value: String(f.size) }])),
        );
  const explained = (c: PreviewChange): boolean => {
    if (c.change !== 'changed' || !c.path) return false;
    const has = (list: PreviewChange[]) => list.length > 0;
    if (c.path === ra.initramfs.path) return has(installer) || has(bootkit);
    if (c.path === ra.kernel.path) return has(kernel) || has(bootkit);
    if (/(^|\/)grub\.cfg$/.test(c.path))
      return boot.some((x) => x.key?.startsWith('boot.cmdline') || x.key === 'volume.id');
    return false;
  };
  return [...payload.filter((c) => !explained(c)), ...installer, ...config, ...boot, ...kernel, ...bootkit];
}
