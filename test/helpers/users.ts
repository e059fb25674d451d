import { env } from 'cloudflare:workers';
import { call, json, registerUser, type TokenPair } from './api';

export type TestUser = TokenPair & { email: string; password: string };

/** Registers a user and grants it the admin role directly in AUTH_DB (test setup only). */
export async function registerAdmin(): Promise<TestUser> {
  const user = await registerUser();
  await env.AUTH_DB.prepare(
    `INSERT INTO user_roles (public_id, created_at, updated_at, user_id, role_id)
     SELECT ?1, 0, 0, u.id, r.id FROM users u, roles r WHERE u.public_id = ?2 AND r.name = 'admin'`,
  )
    .bind(crypto.randomUUID(), user.user.id)
    .run();
  return user;
}

export async function roleId(name: string): Promise<string> {
  const row = await env.AUTH_DB.prepare('SELECT public_id FROM roles WHERE name = ?').bind(name).first<{ public_id: string }>();
  if (!row) throw new Error(`role ${name} missing`);
  return row.public_id;
}

export async function me(token: string): Promise<Response> {
  return call('/api/v1/users/me', { token });
}

export async function errorCode(res: Response): Promise<string> {
  return (await json<{ error: { code: string } }>(res)).error.code;
}

/**
 * After a test edits AUTH_DB/APP_DB directly (behind the API): empties the user's UserState
 * cache, as an operator must after a manual D1 edit (README "User state"). API writes do it
 * themselves (src/features/auth/user-state.ts).
 */
export async function forgetCaller(userPublicId: string): Promise<void> {
  await env.USER_STATE.get(env.USER_STATE.idFromName(userPublicId)).forget();
}
