import * as z from 'zod/mini';
import type { ErrorDetail } from './errors';

/** One detail per failing field; an unknown key is named on its own line with a clear message. */
export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  return issues.flatMap((issue) => {
    const field = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ field: field ? `${field}.${k}` : k, message: 'Unknown or read-only field: it cannot be set here' }));
    }
    return [{ field: field || '(body)', message: issue.message }];
  });
}

/**
 * A string field's error: "X is required" when absent, "X must be a string" for another type,
 * and zod's own message for everything else (length, format).
 */
export function stringField(label: string) {
  return {
    error: (issue: z.core.$ZodRawIssue) =>
      issue.code === 'invalid_type' ? (issue.input === undefined ? `${label} is required` : `${label} must be a string`) : undefined,
  };
}
