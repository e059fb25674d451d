import * as z from 'zod/mini';
import type { AuditActionList } from '../../lib/audit';
import { stringField } from '../../lib/validation';

export const PASSKEYS_AUDIT = ['passkey.register', 'passkey.login', 'passkey.rename', 'passkey.delete'] as const satisfies AuditActionList;

declare module '../../lib/audit' {
  interface FeatureAuditActions {
    passkeys: (typeof PASSKEYS_AUDIT)[number];
  }
}

const B64url = (label: string, max: number) => z.string(stringField(label)).check(z.minLength(1, `${label} is required`), z.maxLength(max, `${label} is too long`), z.regex(/^[A-Za-z0-9_-]+$/, `${label} must be base64url`));

export const PasskeyName = z.string(stringField('Name')).check(z.trim(), z.minLength(1, 'Name must not be empty'), z.maxLength(64, 'Name is too long'));
export const ChallengeId = z.uuid({ error: 'Invalid challenge id' });

/** The browser's PublicKeyCredential for navigator.credentials.create(), as JSON (toJSON()). */
export const RegisterVerifyBody = z.strictObject({
  challengeId: ChallengeId,
  name: z.optional(PasskeyName),
  credential: z.object({
    id: B64url('Credential id', 1400),
    rawId: B64url('Raw id', 1400),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: B64url('clientDataJSON', 4096),
      attestationObject: B64url('attestationObject', 8192),
      transports: z.optional(z.array(z.string().check(z.maxLength(32))).check(z.maxLength(8))),
    }),
  }),
});

/** The PublicKeyCredential of navigator.credentials.get(), as JSON. */
export const AssertionCredential = z.object({
  id: B64url('Credential id', 1400),
  rawId: B64url('Raw id', 1400),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: B64url('clientDataJSON', 4096),
    authenticatorData: B64url('authenticatorData', 4096),
    signature: B64url('signature', 1024),
    userHandle: z.optional(z.nullable(z.string().check(z.maxLength(128)))),
  }),
});

export const LoginVerifyBody = z.strictObject({ challengeId: ChallengeId, credential: AssertionCredential });

export const RenameBody = z.strictObject({ name: PasskeyName });
export const PasskeyParams = z.object({ id: z.uuid({ error: 'Invalid passkey id' }) });

const CredentialDescriptor = z.object({ id: z.string(), type: z.literal('public-key'), transports: z.optional(z.array(z.string())) });

export const RegisterOptionsResponse = z.object({
  challengeId: z.string(),
  /** PublicKeyCredentialCreationOptionsJSON: pass to PublicKeyCredential.parseCreationOptionsFromJSON(). */
  options: z.object({
    rp: z.object({ id: z.string(), name: z.string() }),
    user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
    challenge: z.string(),
    pubKeyCredParams: z.array(z.object({ type: z.literal('public-key'), alg: z.number() })),
    timeout: z.number(),
    attestation: z.literal('none'),
    authenticatorSelection: z.object({ residentKey: z.literal('required'), requireResidentKey: z.boolean(), userVerification: z.literal('required') }),
    excludeCredentials: z.array(CredentialDescriptor),
  }),
});

export const LoginOptionsResponse = z.object({
  challengeId: z.string(),
  /** PublicKeyCredentialRequestOptionsJSON: empty allowCredentials, so the authenticator offers its discoverable credentials. */
  options: z.object({ challenge: z.string(), rpId: z.string(), timeout: z.number(), userVerification: z.literal('required'), allowCredentials: z.array(CredentialDescriptor) }),
});

export const PasskeyResponse = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.nullable(z.string()),
  deviceType: z.string(),
  backedUp: z.boolean(),
  transports: z.array(z.string()),
});
export const PasskeyListResponse = z.object({ data: z.array(PasskeyResponse) });
