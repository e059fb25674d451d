import * as z from 'zod/mini';
import '../../src/app';
import { ErrorResponse } from '../../src/features/docs/common.schemas';
import { routeAt } from '../../src/lib/allowed-methods';
import { answersNotModified } from '../../src/lib/route';

/**
 * Every JSON response a test receives through `call()` is checked against what its route declares:
 * the schema of that status in the spec's `responses`, and the error envelope for any error status
 * (the derived ones too: 401, 429, 503 …). A handler that drifts from its documented shape fails
 * the test that exercised it, whatever that test asserts itself.
 */
export async function assertResponseContract(method: string, url: string, res: Response): Promise<void> {
  const path = new URL(url).pathname;
  const spec = routeAt(method, path);
  if (spec && res.status === 304 && !answersNotModified(spec)) throw new Error(`${method} ${path} answered 304, which its route does not declare`);
  if (!spec || res.status === 204 || res.status === 304) return;
  if (!(res.headers.get('Content-Type') ?? '').includes('application/json')) return;
  const declared = spec.responses[res.status]?.schema;
  const schema = declared ?? (res.status >= 400 ? ErrorResponse : undefined);
  if (!schema) throw new Error(`${method} ${path} answered ${res.status}, which its route spec does not declare`);
  const result = z.safeParse(schema, await res.clone().json());
  if (!result.success) {
    throw new Error(`${method} ${path} ${res.status}: the body does not match the declared schema: ${JSON.stringify(result.error.issues.slice(0, 3))}`);
  }
}
