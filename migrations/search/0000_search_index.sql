-- SEARCH_DB: the full-text index (FTS5). Hand-written: drizzle-kit cannot express virtual tables.
-- Derived data only (rebuilt from AUTH_DB/APP_DB by the features' indexers), so this database is
-- never exported: `wrangler d1 export` refuses any database that holds an FTS5 table.
-- search_refs gives every (type, ref_id) a stable rowid, so an update replaces one FTS row by
-- rowid instead of scanning the UNINDEXED columns.
CREATE TABLE `search_refs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`ref_id` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `search_refs_type_ref_uq` ON `search_refs` (`type`, `ref_id`);
--> statement-breakpoint
CREATE VIRTUAL TABLE `search_index` USING fts5(
	`type` UNINDEXED,
	`ref_id` UNINDEXED,
	`title`,
	`body`,
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '2 3'
);
