import { decodeCBOR, decodePartialCBOR, type CBORType } from '@levischuck/tiny-cbor';
import { base64url, fromBase64url, timingSafeEqualBytes } from '../lib/crypto';

/**
 * WebAuthn Level 2 response verification for passkeys, on WebCrypto: attestation `none` only
 * (we ask for no attestation, so there is no certificate chain to check), ES256, EdDSA and
 * RS256 credentials. The signatures are verified by WebCrypto; this file only parses the
 * formats (CBOR by @levischuck/tiny-cbor, authenticatorData, COSE keys, DER signatures).
 * @simplewebauthn/server does the same and more (every attestation format) at +87 KiB gzip.
 */

/** COSE algorithm ids we offer, in the order we prefer them. */
export const SUPPORTED_ALGS = [-8, -7, -257] as const;

export interface RelyingParty {
  id: string;
  name: string;
  /** Exact origins accepted in clientDataJSON. */
  origins: readonly string[];
}

/** Why a response was refused: audited, never shown to the client beyond one generic code. */
export class WebAuthnError extends Error {
  constructor(readonly reason: string) {
    super(`webauthn: ${reason}`);
  }
}
const fail = (reason: string): never => {
  throw new WebAuthnError(reason);
};

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export interface AuthenticatorData {
  rpIdHash: Uint8Array;
  userPresent: boolean;
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  counter: number;
  credential?: { aaguid: string; id: Uint8Array; publicKey: Uint8Array };
}

export function parseAuthenticatorData(bytes: Uint8Array): AuthenticatorData {
  if (bytes.length < 37) fail('authenticator data too short');
  const flags = bytes[32]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: AuthenticatorData = {
    rpIdHash: bytes.slice(0, 32),
    userPresent: (flags & FLAG_UP) !== 0,
    userVerified: (flags & FLAG_UV) !== 0,
    backupEligible: (flags & FLAG_BE) !== 0,
    backedUp: (flags & FLAG_BS) !== 0,
    counter: view.getUint32(33),
  };
  if ((flags & FLAG_AT) !== 0) {
    if (bytes.length < 55) fail('attested credential data too short');
    const idLength = view.getUint16(53);
    const keyStart = 55 + idLength;
    if (idLength === 0 || idLength > 1023 || bytes.length <= keyStart) fail('bad credential id length');
    let keyLength = 0;
    try {
      keyLength = decodePartialCBOR(bytes, keyStart)[1];
    } catch {
      fail('credential public key is not CBOR');
    }
    const hex = [...bytes.slice(37, 53)].map((b) => b.toString(16).padStart(2, '0')).join('');
    out.credential = {
      aaguid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      id: bytes.slice(55, keyStart),
      publicKey: bytes.slice(keyStart, keyStart + keyLength),
    };
  }
  return out;
}

const bytesField = (m: Map<string | number, CBORType>, k: number, length?: number): Uint8Array => {
  const v = m.get(k);
  if (!(v instanceof Uint8Array) || (length !== undefined && v.length !== length)) return fail(`COSE key field ${k}`);
  return v;
};

/** A COSE_Key (RFC 9053) as a WebCrypto verification key, or a refusal for anything we did not offer. */
export async function importCoseKey(cose: Uint8Array): Promise<{ alg: number; key: CryptoKey }> {
  let m: CBORType;
  try {
    m = decodeCBOR(cose);
  } catch {
    return fail('COSE key is not CBOR');
  }
  if (!(m instanceof Map)) return fail('COSE key is not a map');
  const kty = m.get(1);
  const alg = m.get(3);
  const crv = m.get(-1);
  try {
    if (kty === 2 && alg === -7 && crv === 1) {
      const jwk = { kty: 'EC', crv: 'P-256', x: base64url(bytesField(m, -2, 32)), y: base64url(bytesField(m, -3, 32)) };
      return { alg, key: await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']) };
    }
    if (kty === 1 && alg === -8 && crv === 6) {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: base64url(bytesField(m, -2, 32)) };
      return { alg, key: await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['verify']) };
    }
    if (kty === 3 && alg === -257) {
      const n = bytesField(m, -1);
      if (n.length < 256) fail('RSA key shorter than 2048 bits');
      const jwk = { kty: 'RSA', n: base64url(n), e: base64url(bytesField(m, -2)) };
      return { alg, key: await crypto.subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']) };
    }
  } catch (err) {
    if (err instanceof WebAuthnError) throw err;
    return fail('COSE key not importable');
  }
  return fail(`unsupported key (kty ${String(kty)}, alg ${String(alg)})`);
}

/** ECDSA signatures arrive DER-encoded (SEQUENCE of two INTEGERs); WebCrypto wants r || s. */
export function derToRawEcdsa(der: Uint8Array, size = 32): Uint8Array {
  const bad = () => fail('malformed ECDSA signature');
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) bad();
  const out = new Uint8Array(size * 2);
  let at = 2;
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) bad();
    const len = der[at + 1]!;
    let int = der.subarray(at + 2, at + 2 + len);
    if (len === 0 || int.length !== len) bad();
    while (int.length > 1 && int[0] === 0) int = int.subarray(1);
    if (int.length > size) bad();
    out.set(int, part * size + size - int.length);
    at += 2 + len;
  }
  if (at !== der.length) bad();
  return out;
}

async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function decode(b64: string, what: string): Uint8Array {
  try {
    return fromBase64url(b64);
  } catch {
    return fail(`${what} is not base64url`);
  }
}

/** clientDataJSON: the ceremony type, our challenge (constant-time) and an allowed origin. */
function checkClientData(raw: Uint8Array, type: 'webauthn.create' | 'webauthn.get', challenge: string, rp: RelyingParty): void {
  let data: { type?: unknown; challenge?: unknown; origin?: unknown; crossOrigin?: unknown };
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(raw)) as typeof data;
  } catch {
    return fail('clientDataJSON is not JSON');
  }
  if (data.type !== type) fail('wrong ceremony type');
  const enc = new TextEncoder();
  if (typeof data.challenge !== 'string' || !timingSafeEqualBytes(enc.encode(data.challenge), enc.encode(challenge))) fail('challenge mismatch');
  if (typeof data.origin !== 'string' || !rp.origins.includes(data.origin)) fail('origin not allowed');
  if (data.crossOrigin === true) fail('cross-origin ceremony');
}

async function checkAuthData(auth: AuthenticatorData, rp: RelyingParty, userVerification: UserVerification = 'required'): Promise<void> {
  if (!timingSafeEqualBytes(auth.rpIdHash, await sha256(rp.id))) fail('rpId mismatch');
  if (!auth.userPresent) fail('user not present');
  // As the only factor a passkey must prove the user (PIN, biometrics), not just a touch; as a
  // second factor after the password, possession (a touch) is what it adds.
  if (userVerification === 'required' && !auth.userVerified) fail('user not verified');
}

/** `required` when the passkey is the only factor; `preferred` when it is the second factor. */
export type UserVerification = 'required' | 'preferred';

export interface RegistrationInput {
  rawId: string;
  clientDataJSON: string;
  attestationObject: string;
}

export interface VerifiedCredential {
  credentialId: string;
  publicKey: string;
  alg: number;
  counter: number;
  aaguid: string;
  backupEligible: boolean;
  backedUp: boolean;
}

export async function verifyRegistration(input: RegistrationInput, expected: { challenge: string; rp: RelyingParty }): Promise<VerifiedCredential> {
  checkClientData(decode(input.clientDataJSON, 'clientDataJSON'), 'webauthn.create', expected.challenge, expected.rp);
  let att: CBORType;
  try {
    att = decodeCBOR(decode(input.attestationObject, 'attestationObject'));
  } catch (err) {
    if (err instanceof WebAuthnError) throw err;
    return fail('attestationObject is not CBOR');
  }
  if (!(att instanceof Map)) return fail('attestationObject is not a map');
  const attStmt = att.get('attStmt');
  const authBytes = att.get('authData');
  if (att.get('fmt') !== 'none' || !(attStmt instanceof Map) || attStmt.size !== 0) return fail('attestation format other than none');
  if (!(authBytes instanceof Uint8Array)) return fail('no authenticator data');
  const auth = parseAuthenticatorData(authBytes);
  await checkAuthData(auth, expected.rp);
  if (!auth.credential) return fail('no attested credential');
  if (!timingSafeEqualBytes(auth.credential.id, decode(input.rawId, 'rawId'))) fail('credential id mismatch');
  const { alg } = await importCoseKey(auth.credential.publicKey);
  return {
    credentialId: base64url(auth.credential.id),
    publicKey: base64url(auth.credential.publicKey),
    alg,
    counter: auth.counter,
    aaguid: auth.credential.aaguid,
    backupEligible: auth.backupEligible,
    backedUp: auth.backedUp,
  };
}

export interface AssertionInput {
  clientDataJSON: string;
  authenticatorData: string;
  signature: string;
}

/**
 * Checks an assertion against the stored credential. The signature counter must move forward
 * whenever either side is non-zero (authenticators that never count always send 0): a regression
 * means a cloned authenticator, refused as `counter regression`.
 */
export async function verifyAssertion(
  input: AssertionInput,
  expected: { challenge: string; rp: RelyingParty; publicKey: string; counter: number; userVerification?: UserVerification },
): Promise<{ counter: number; backedUp: boolean }> {
  const clientData = decode(input.clientDataJSON, 'clientDataJSON');
  checkClientData(clientData, 'webauthn.get', expected.challenge, expected.rp);
  const authBytes = decode(input.authenticatorData, 'authenticatorData');
  const auth = parseAuthenticatorData(authBytes);
  await checkAuthData(auth, expected.rp, expected.userVerification);
  const { alg, key } = await importCoseKey(decode(expected.publicKey, 'stored public key'));
  const signed = new Uint8Array(authBytes.length + 32);
  signed.set(authBytes);
  signed.set(await sha256(clientData), authBytes.length);
  const signature = decode(input.signature, 'signature');
  const params = alg === -7 ? { name: 'ECDSA', hash: 'SHA-256' } : alg === -8 ? { name: 'Ed25519' } : { name: 'RSASSA-PKCS1-v1_5' };
  const ok = await crypto.subtle.verify(params, key, alg === -7 ? derToRawEcdsa(signature) : signature, signed);
  if (!ok) fail('bad signature');
  if ((auth.counter !== 0 || expected.counter !== 0) && auth.counter <= expected.counter) fail('counter regression');
  return { counter: auth.counter, backedUp: auth.backedUp };
}
