// Authenticode signatures of EFI binaries: the PE image hash (what the firmware
// and shim recompute), the PKCS#7 SignedData in each WIN_CERTIFICATE (parsed with
// asn1js/pkijs), its signer, and whether a signature verifies (digest, signature
// over the signed attributes, chain to a trusted certificate). Node's crypto does
// the RSA/EC maths and X.509 checks.
import { createHash, verify as verifySignature, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { type PeImage, parsePe, SecureBootError, WIN_CERT_TYPE_PKCS, winCertificates } from './pe.ts';

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  spcIndirectData: '1.3.6.1.4.1.311.2.1.4',
  messageDigest: '1.2.840.113549.1.9.4',
} as const;

const HASHES: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.3.14.3.2.26': 'sha1',
};

// sbverify's (OpenSSL's oneline) short names, so our report reads like its --list.
const NAME_KEYS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

export interface CertInfo {
  /** `/C=US/O=.../CN=...`, as sbverify --list prints it. */
  subject: string;
  issuer: string;
  /** sha256 of the certificate's DER, lower-case hex. */
  sha256: string;
  der: Uint8Array;
}

export interface AuthenticodeSignature {
  /** Digest algorithm of the image hash (sha256 for every current Secure Boot signer). */
  digestAlgorithm: string;
  /** The image hash the signature claims, hex. */
  imageDigest: string;
  signer: CertInfo;
  /** Every certificate carried in the signature (signer and intermediates). */
  certificates: CertInfo[];
  /** The signer's signature over its signed attributes checks out with its own key. */
  signatureValid: boolean;
  /** The claimed image hash is the file's actual hash. */
  digestMatches: boolean;
}

/** The PE image hash of Authenticode (EDK2's order: headers minus checksum and
 * security entry, sections by file offset, then trailing data before the certificates). */
export function peImageHash(buf: Uint8Array, pe: PeImage, algorithm = 'sha256'): Buffer {
  const h = createHash(algorithm);
  const afterSecurity = pe.securityDirOffset < 0 ? pe.checksumOffset + 4 : pe.securityDirOffset + 8;
  h.update(buf.subarray(0, pe.checksumOffset));
  if (pe.securityDirOffset >= 0) h.update(buf.subarray(pe.checksumOffset + 4, pe.securityDirOffset));
  h.update(buf.subarray(afterSecurity, pe.sizeOfHeaders));
  let hashed = pe.sizeOfHeaders;
  const sections = pe.sections.filter((s) => s.rawSize > 0).sort((a, b) => a.rawOffset - b.rawOffset);
  for (const s of sections) {
    h.update(buf.subarray(s.rawOffset, s.rawOffset + s.rawSize));
    hashed += s.rawSize;
  }
  const end = buf.length - pe.certTable.size;
  if (end > hashed) h.update(buf.subarray(hashed, end));
  return h.digest();
}

/** Reads the Authenticode signatures of an EFI binary ([] when unsigned). */
export function readSignatures(buf: Uint8Array, what = 'file'): AuthenticodeSignature[] {
  const pe = parsePe(buf, what);
  const hashes = new Map<string, string>();
  const imageHash = (alg: string) => {
    if (!hashes.has(alg)) hashes.set(alg, peImageHash(buf, pe, alg).toString('hex'));
    return hashes.get(alg)!;
  };
  return winCertificates(buf, pe, what)
    .filter((c) => c.type === WIN_CERT_TYPE_PKCS)
    .map((c) => {
      const sig = parseSignedData(c.data, what);
      return { ...sig, digestMatches: sig.imageDigest === imageHash(sig.digestAlgorithm) };
    });
}

function parseSignedData(der: Uint8Array, what: string): Omit<AuthenticodeSignature, 'digestMatches'> {
  const bad = (why: string): never => {
    throw new SecureBootError('BAD_SIGNATURE', `${what}: Authenticode signature ${why}`, what);
  };
  const asn = asn1js.fromBER(der);
  if (asn.offset === -1) bad('is not DER');
  let sd: pkijs.SignedData;
  try {
    const ci = new pkijs.ContentInfo({ schema: asn.result });
    if (ci.contentType !== OID.signedData) bad(`has content type ${ci.contentType}, not SignedData`);
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    if (e instanceof SecureBootError) throw e;
    return bad(`cannot be parsed (${(e as Error).message})`);
  }
  if (sd.encapContentInfo.eContentType !== OID.spcIndirectData) bad('does not carry SpcIndirectDataContent');
  const content = sd.encapContentInfo.eContent;
  if (!content) return bad('has no content');
  // Authenticode puts SpcIndirectDataContent itself (not an OCTET STRING) in [0];
  // its messageDigest covers the SEQUENCE's value bytes only.
  const spcDer = new Uint8Array(content.toBER());
  const spcValue = derValue(spcDer);
  const spc = asn1js.fromBER(spcDer).result as asn1js.Sequence;
  const digestInfo = spc.valueBlock.value[1] as asn1js.Sequence | undefined;
  const algSeq = digestInfo?.valueBlock.value[0] as asn1js.Sequence | undefined;
  const algOid = (algSeq?.valueBlock.value[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock.toString();
  const digestOct = digestInfo?.valueBlock.value[1] as asn1js.OctetString | undefined;
  const digestAlgorithm = algOid ? HASHES[algOid] : undefined;
  if (!digestAlgorithm || !digestOct) return bad(`has an unknown image digest (${algOid ?? 'none'})`);
  const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const si = sd.signerInfos[0];
  if (!si) return bad('has no signer');
  const sid = si.sid as pkijs.IssuerAndSerialNumber;
  const signerCert = certs.find(
    (c) => sid.issuer && c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber),
  );
  if (!signerCert) return bad('does not carry its signer certificate');
  const signer = certInfo(signerCert);
  return {
    digestAlgorithm,
    imageDigest: Buffer.from(digestOct.valueBlock.valueHexView).toString('hex'),
    signer,
    certificates: certs.map(certInfo),
    signatureValid: signerSignatureValid(si, signer, spcValue),
  };
}

/** messageDigest attribute = hash(content), and the signature over the DER SET of signed attributes. */
function signerSignatureValid(si: pkijs.SignerInfo, signer: CertInfo, content: Uint8Array): boolean {
  const alg = HASHES[si.digestAlgorithm.algorithmId];
  if (!alg || !si.signedAttrs) return false;
  const md = si.signedAttrs.attributes.find((a) => a.type === OID.messageDigest)?.values[0];
  if (!(md instanceof asn1js.OctetString)) return false;
  const want = Buffer.from(md.valueBlock.valueHexView);
  if (!createHash(alg).update(content).digest().equals(want)) return false;
  // Signed over as a DER SET (tag 0x31), not as the [0] IMPLICIT it is stored with.
  const attrs = new Uint8Array(si.signedAttrs.toSchema().toBER());
  attrs[0] = 0x31;
  try {
    return verifySignature(
      alg,
      attrs,
      new X509Certificate(signer.der).publicKey,
      Buffer.from(si.signature.valueBlock.valueHexView),
    );
  } catch {
    return false;
  }
}

function certInfo(c: pkijs.Certificate): CertInfo {
  const der = new Uint8Array(c.toSchema().toBER());
  return {
    subject: formatName(c.subject),
    issuer: formatName(c.issuer),
    sha256: createHash('sha256').update(der).digest('hex'),
    der,
  };
}

function formatName(n: pkijs.RelativeDistinguishedNames): string {
  return n.typesAndValues
    .map((tv) => {
      const v = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
      return `/${NAME_KEYS[tv.type] ?? tv.type}=${typeof v === 'string' ? v : ''}`;
    })
    .join('');
}

/** The value bytes of one DER element (after its tag and length). */
function derValue(der: Uint8Array): Uint8Array {
  const first = der[1] ?? 0;
  if (first < 0x80) return der.subarray(2, 2 + first);
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] ?? 0);
  return der.subarray(2 + n, 2 + n + len);
}

/** Parses a PEM or DER X.509 certificate (e.g. --trust); throws naming `what`. */
export function loadCertificate(data: Uint8Array, what: string): X509Certificate {
  try {
    return new X509Certificate(Buffer.from(data));
  } catch {
    throw new SecureBootError('BAD_CERT', `${what} is not an X.509 certificate (PEM or DER)`, what);
  }
}

/**
 * Whether the signature's signer chains to `trusted`: it is that certificate, or
 * a certificate carried in the signature leads to one it issued and signed.
 */
export function chainsTo(sig: AuthenticodeSignature, trusted: X509Certificate): boolean {
  const carried = sig.certificates.map((c) => new X509Certificate(Buffer.from(c.der)));
  let cur = new X509Certificate(Buffer.from(sig.signer.der));
  for (let depth = 0; depth < 8; depth++) {
    if (cur.fingerprint256 === trusted.fingerprint256) return true;
    if (cur.checkIssued(trusted) && cur.verify(trusted.publicKey)) return true;
    const next = carried.find(
      (c) => c.fingerprint256 !== cur.fingerprint256 && cur.checkIssued(c) && cur.verify(c.publicKey),
    );
    if (!next) return false;
    cur = next;
  }
  return false;
}
