import { encodeCBOR, type CBORType } from '@levischuck/tiny-cbor';
import { b64url, fromB64url } from './tokens';

/**
 * A software authenticator: WebCrypto keys (ES256 or EdDSA), real CBOR attestation objects
 * (format `none`), real authenticatorData and clientDataJSON, signed assertions. Every field
 * the server checks can be bent per call to drive the attacks.
 */
export type Alg = 'ES256' | 'EdDSA';

export interface Ceremony {
  origin?: string;
  rpId?: string;
  type?: string;
  /** Flags byte override (UP=1, UV=4, BE=8, BS=16, AT=64). */
  flags?: number;
  counter?: number;
  challenge?: string;
}

const enc = new TextEncoder();
const sha256 = async (b: Uint8Array | string) => new Uint8Array(await crypto.subtle.digest('SHA-256', typeof b === 'string' ? enc.encode(b) : b));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const u32 = (n: number) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

/** r || s (WebCrypto) to the DER SEQUENCE of two INTEGERs that authenticators send. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const body = v[0]! & 0x80 ? concat(new Uint8Array([0]), v) : v;
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const seq = concat(int(raw.subarray(0, 32)), int(raw.subarray(32)));
  return concat(new Uint8Array([0x30, seq.length]), seq);
}

export class SoftAuthenticator {
  readonly credentialId = crypto.getRandomValues(new Uint8Array(16));
  counter = 0;
  userHandle: string | null = null;
  private keys!: CryptoKeyPair;

  constructor(
    readonly alg: Alg = 'ES256',
    readonly rpId = 'localhost',
    readonly origin = 'http://localhost:8787',
  ) {}

  get id(): string {
    return b64url(this.credentialId);
  }

  private async coseKey(): Promise<Uint8Array> {
    const jwk = (await crypto.subtle.exportKey('jwk', this.keys.publicKey)) as JsonWebKey;
    const m = new Map<string | number, CBORType>(
      this.alg === 'ES256'
        ? [
            [1, 2],
            [3, -7],
            [-1, 1],
            [-2, fromB64url(jwk.x!)],
            [-3, fromB64url(jwk.y!)],
          ]
        : [
            [1, 1],
            [3, -8],
            [-1, 6],
            [-2, fromB64url(jwk.x!)],
          ],
    );
    return encodeCBOR(m);
  }

  private clientData(type: string, challenge: string, c: Ceremony): Uint8Array {
    return enc.encode(JSON.stringify({ type: c.type ?? type, challenge: c.challenge ?? challenge, origin: c.origin ?? this.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create() for the server's creation options, as the JSON the browser posts. */
  async create(options: { challenge: string; user: { id: string } }, c: Ceremony = {}) {
    this.keys = (await crypto.subtle.generateKey(this.alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    this.userHandle = options.user.id;
    this.counter = c.counter ?? 0;
    const authData = concat(
      await sha256(c.rpId ?? this.rpId),
      new Uint8Array([c.flags ?? 0x45]),
      u32(this.counter),
      new Uint8Array(16),
      new Uint8Array([0, this.credentialId.length]),
      this.credentialId,
      await this.coseKey(),
    );
    const attestationObject = encodeCBOR(new Map<string | number, CBORType>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: { clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, c)), attestationObject: b64url(attestationObject), transports: ['internal'] },
    };
  }

  /** navigator.credentials.get(): the counter moves forward unless `counter` says otherwise. */
  async get(options: { challenge: string }, c: Ceremony = {}) {
    this.counter = c.counter ?? this.counter + 1;
    const authData = concat(await sha256(c.rpId ?? this.rpId), new Uint8Array([c.flags ?? 0x05]), u32(this.counter));
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, c);
    const signed = concat(authData, await sha256(clientDataJSON));
    const sig = new Uint8Array(await crypto.subtle.sign(this.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' }, this.keys.privateKey, signed));
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(this.alg === 'ES256' ? rawToDer(sig) : sig),
        userHandle: this.userHandle,
      },
    };
  }
}
