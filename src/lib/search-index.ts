import type { AuditAction } from './audit';
import type { Permission } from './permissions';

/** What one entry of the search index holds: the text that is searched and shown. */
export interface SearchDocument {
  /** Ranked higher than the body (a name). */
  title: string;
  /** Secondary text (an email, a description). */
  body: string;
}

/**
 * A feature's search index: its type (`?type=`), the permission a caller needs to see its
 * entries, the audit actions after which an entry must be rebuilt, and how to read the current
 * documents from the system of record (null: the entry is gone, e.g. a deleted user).
 */
export interface SearchIndex {
  type: string;
  permission: Permission;
  actions: readonly AuditAction[];
  load: (env: CloudflareBindings, refIds: string[]) => Promise<Map<string, SearchDocument | null>>;
}

/** Every registered index by type. The features register theirs (the users feature first). */
export const searchIndexes = new Map<string, SearchIndex>();

export function defineSearchIndex(index: SearchIndex): SearchIndex {
  searchIndexes.set(index.type, index);
  return index;
}
