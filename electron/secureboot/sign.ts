// Authenticode signing in-process (no sbsign, so it works on Windows and macOS):
// the PE image hash in an SpcIndirectDataContent, a PKCS#7 SignedData over it
// (DER built with asn1js, RSA PKCS#1 v1.5 + SHA-256 by node's crypto), appended
// as a WIN_CERTIFICATE with the security directory pointing at it. No signing
// time is included, so the same key and binary give the same bytes.
import { createHash, createPrivateKey, type KeyObject, sign, type X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { peImageHash } from './authenticode.ts';
import { parsePe, SecureBootError, WIN_CERT_REVISION_2, WIN_CERT_TYPE_PKCS } from './pe.ts';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  spcPeImageData: '1.3.6.1.4.1.311.2.1.15',
  spcSpOpusInfo: '1.3.6.1.4.1.311.2.1.12',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

/** Reads a PEM private key (asks nothing: a passphrase comes from the caller's file). */
export function loadPrivateKey(pem: Uint8Array, what: string, passphrase?: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: Buffer.from(pem),
      format: 'pem',
      ...(passphrase !== undefined ? { passphrase } : {}),
    });
  } catch (e) {
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(
      Buffer.from(pem).toString('latin1'),
    );
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why =
      encrypted || /DECRYPT|INTERRUPTED/.test(code)
        ? passphrase === undefined
          ? 'is passphrase-protected (give --sign-key-pass-file)'
          : 'does not open with the given passphrase'
        : 'is not a PEM private key';
    throw new SecureBootError('BAD_KEY', `signing key ${what} ${why}`, what);
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new SecureBootError(
      'BAD_KEY',
      `signing key ${what} is ${key.asymmetricKeyType ?? 'unknown'}: UEFI firmware verifies RSA signatures only`,
      what,
    );
  return key;
}

const alg = (oid: string, withNull = true) =>
  new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: oid }), ...(withNull ? [new asn1js.Null()] : [])],
  });
const ctx = (n: number, value: asn1js.AsnType[]) =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value });
const der = (v: asn1js.AsnType) => new Uint8Array(v.toBER());

/** SpcIndirectDataContent: "a PE image" + DigestInfo(sha256, image hash). */
function spcIndirectData(imageHash: Uint8Array): asn1js.Sequence {
  // SpcPeImageData: flags (empty BIT STRING) and file [0] SpcLink file [2] "<<<Obsolete>>>",
  // the value every signing tool writes.
  const obsolete = new asn1js.Primitive({
    idBlock: { tagClass: 3, tagNumber: 0 },
    valueHex: Buffer.from('<<<Obsolete>>>', 'utf16le').swap16(),
  });
  const peImageData = new asn1js.Sequence({
    value: [new asn1js.BitString({ valueHex: new Uint8Array(0) }), ctx(0, [ctx(2, [obsolete])])],
  });
  return new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [new asn1js.ObjectIdentifier({ value: OID.spcPeImageData }), peImageData],
      }),
      new asn1js.Sequence({ value: [alg(OID.sha256), new asn1js.OctetString({ valueHex: imageHash })] }),
    ],
  });
}

/** The PKCS#7 ContentInfo(SignedData) for one image hash. */
export function authenticodeSignedData(
  imageHash: Uint8Array,
  cert: X509Certificate,
  key: KeyObject,
): Uint8Array {
  const content = spcIndirectData(imageHash);
  const contentDer = der(content);
  // messageDigest covers the SEQUENCE's value bytes only (Authenticode's rule).
  const contentValue = new Uint8Array(content.valueBlock.toBER());
  const attr = (oid: string, v: asn1js.AsnType) =>
    new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: oid }), new asn1js.Set({ value: [v] })],
    });
  const attrs = [
    attr(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.spcIndirectData })),
    attr(OID.spcSpOpusInfo, new asn1js.Sequence({ value: [] })),
    attr(
      OID.messageDigest,
      new asn1js.OctetString({ valueHex: createHash('sha256').update(contentValue).digest() }),
    ),
  ];
  // DER SET OF: elements in the order of their encodings.
  const sorted = attrs
    .map((a) => ({ a, d: Buffer.from(der(a)) }))
    .sort((x, y) => Buffer.compare(x.d, y.d))
    .map((x) => x.a);
  const signedSet = new asn1js.Set({ value: sorted });
  const signature = sign('sha256', der(signedSet), key);
  const certAsn = asn1js.fromBER(new Uint8Array(cert.raw)).result as asn1js.Sequence;
  const tbs = certAsn.valueBlock.value[0] as asn1js.Sequence;
  // tbsCertificate: [0] version, serialNumber, signature, issuer, ...
  const tbsParts = tbs.valueBlock.value;
  const off = tbsParts[0]?.idBlock.tagClass === 3 ? 1 : 0;
  const serial = tbsParts[off]!;
  const issuer = tbsParts[off + 2]!;
  const signerInfo = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.Sequence({ value: [issuer, serial] }),
      alg(OID.sha256),
      ctx(0, sorted),
      alg(OID.rsaEncryption),
      new asn1js.OctetString({ valueHex: signature }),
    ],
  });
  const signedData = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.Set({ value: [alg(OID.sha256)] }),
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID.spcIndirectData }),
          ctx(0, [asn1js.fromBER(contentDer).result]),
        ],
      }),
      ctx(0, [certAsn]),
      new asn1js.Set({ value: [signerInfo] }),
    ],
  });
  return der(
    new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: OID.signedData }), ctx(0, [signedData])],
    }),
  );
}

/**
 * Signs a PE binary: any old signature is dropped, the file padded to 8 bytes,
 * the image hashed, and one WIN_CERTIFICATE appended. Returns the new bytes.
 * With `keep`, the old signatures stay and ours is added after them (the image
 * hash leaves the certificate table out, so theirs stay valid): how shim keeps
 * Microsoft's signature and gains the organisation's, for a db without Microsoft.
 */
export function signPe(
  image: Uint8Array,
  cert: X509Certificate,
  key: KeyObject,
  what = 'file',
  keep = false,
): Buffer {
  const pe0 = parsePe(image, what);
  if (pe0.securityDirOffset < 0)
    throw new SecureBootError('NOT_PE', `${what} has no certificate table entry to sign into`, what);
  // Without its old certificates (they must be the file's tail to be cut off).
  let body = Buffer.from(image);
  if (pe0.certTable.size) {
    if (pe0.certTable.offset + pe0.certTable.size !== image.length)
      throw new SecureBootError(
        'BAD_SIGNATURE',
        `${what}: its signature is not at the end of the file`,
        what,
      );
    if (keep) return appendSignature(body, pe0.securityDirOffset, pe0.certTable, cert, key, what);
    body = body.subarray(0, pe0.certTable.offset);
  }
  const padded = Buffer.alloc((body.length + 7) & ~7);
  body.copy(padded);
  padded.writeUInt32LE(0, pe0.securityDirOffset);
  padded.writeUInt32LE(0, pe0.securityDirOffset + 4);
  const hash = peImageHash(padded, parsePe(padded, what));
  const sd = authenticodeSignedData(hash, cert, key);
  const entry = winCertificate(sd);
  padded.writeUInt32LE(padded.length, pe0.securityDirOffset);
  padded.writeUInt32LE(entry.length, pe0.securityDirOffset + 4);
  return Buffer.concat([padded, entry]);
}

/** One WIN_CERTIFICATE (revision 2, PKCS#7), padded to 8 bytes. */
function winCertificate(sd: Uint8Array): Buffer {
  const len = 8 + sd.length;
  const entry = Buffer.alloc((len + 7) & ~7);
  entry.writeUInt32LE(len, 0);
  entry.writeUInt16LE(WIN_CERT_REVISION_2, 4);
  entry.writeUInt16LE(WIN_CERT_TYPE_PKCS, 6);
  Buffer.from(sd).copy(entry, 8);
  return entry;
}

function appendSignature(
  file: Buffer,
  securityDirOffset: number,
  table: { offset: number; size: number },
  cert: X509Certificate,
  key: KeyObject,
  what: string,
): Buffer {
  const hash = peImageHash(file, parsePe(file, what));
  // Entries start 8-aligned from the table's start.
  const gap = Buffer.alloc(((table.size + 7) & ~7) - table.size);
  const entry = winCertificate(authenticodeSignedData(hash, cert, key));
  const out = Buffer.concat([file, gap, entry]);
  out.writeUInt32LE(table.size + gap.length + entry.length, securityDirOffset + 4);
  return out;
}
