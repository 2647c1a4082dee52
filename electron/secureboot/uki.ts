// A Unified Kernel Image: systemd's EFI stub (Debian's systemd-boot-efi) with the
// kernel, initramfs, command line and os-release added as PE sections, which the
// stub finds by name. Signed as one binary, its signature covers the initramfs and
// the cmdline too. Pure bytes in, bytes out.
import { parsePe, SecureBootError } from './pe.ts';

export interface UkiParts {
  /** linuxx64.efi.stub from systemd-boot-efi. */
  stub: Uint8Array;
  kernel: Uint8Array;
  initrd: Uint8Array;
  cmdline: string;
  osRelease: string;
}

// Initialized data, readable: what ukify (systemd) gives these sections.
const DATA_READ = 0x40000040;
const SECTION_HEADER = 40;
// Section addresses on 4 KiB pages, like ukify, whatever the stub's own alignment.
const PAGE = 4096;

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Builds the UKI; throws SecureBootError('BAD_STUB') if the stub has no room for the headers. */
export function buildUki(p: UkiParts, what = 'EFI stub'): Buffer {
  const stub = Buffer.from(p.stub);
  const pe = parsePe(stub, what);
  if (pe.certTable.size) throw new SecureBootError('BAD_STUB', `${what} is already signed`, what);
  const peOff = stub.readUInt32LE(0x3c);
  const opt = peOff + 24;
  const optSize = stub.readUInt16LE(peOff + 20);
  const fileAlign = stub.readUInt32LE(opt + 36);
  const sectionAlign = stub.readUInt32LE(opt + 32);
  const enc = new TextEncoder();
  const add: [string, Uint8Array][] = [
    ['.osrel', enc.encode(p.osRelease)],
    ['.cmdline', enc.encode(p.cmdline)],
    ['.initrd', p.initrd],
    // The kernel last: the stub needs no particular order, and the big parts stay at the end.
    ['.linux', p.kernel],
  ];
  const tableEnd = opt + optSize + (pe.sections.length + add.length) * SECTION_HEADER;
  if (tableEnd > pe.sizeOfHeaders)
    throw new SecureBootError('BAD_STUB', `${what} has no room for ${add.length} more section headers`, what);
  // Anything after the last section (a COFF symbol table) is dropped with its pointer.
  const rawEnd = Math.max(...pe.sections.map((s) => s.rawOffset + s.rawSize));
  let va = align(
    Math.max(...pe.sections.map((s) => s.virtualAddress + Math.max(s.virtualSize, s.rawSize))),
    Math.max(PAGE, sectionAlign),
  );
  let raw = align(rawEnd, fileAlign);
  const chunks: Buffer[] = [stub.subarray(0, rawEnd), Buffer.alloc(raw - rawEnd)];
  let header = opt + optSize + pe.sections.length * SECTION_HEADER;
  let initialized = 0;
  for (const [name, data] of add) {
    const rawSize = align(data.length, fileAlign);
    const h = Buffer.alloc(SECTION_HEADER);
    h.write(name, 0, 8, 'latin1');
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(va, 12);
    h.writeUInt32LE(rawSize, 16);
    h.writeUInt32LE(raw, 20);
    h.writeUInt32LE(DATA_READ, 36);
    h.copy(stub, header);
    header += SECTION_HEADER;
    chunks.push(Buffer.from(data), Buffer.alloc(rawSize - data.length));
    initialized += rawSize;
    raw += rawSize;
    va = align(va + data.length, Math.max(PAGE, sectionAlign));
  }
  stub.writeUInt16LE(pe.sections.length + add.length, peOff + 6);
  stub.writeUInt32LE(0, peOff + 12); // PointerToSymbolTable
  stub.writeUInt32LE(0, peOff + 16); // NumberOfSymbols
  stub.writeUInt32LE(stub.readUInt32LE(opt + 8) + initialized, opt + 8); // SizeOfInitializedData
  stub.writeUInt32LE(va, opt + 56); // SizeOfImage
  return Buffer.concat(chunks);
}
