CREATE TABLE `idempotency_keys` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`key_hash` text NOT NULL,
	`request_hash` text NOT NULL,
	`state` text NOT NULL,
	`lock_id` text NOT NULL,
	`status` integer,
	`content_type` text,
	`body` text,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `idempotency_keys_publicId_unique` ON `idempotency_keys` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `idempotency_keys_key_hash_uq` ON `idempotency_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_idx` ON `idempotency_keys` (`expires_at`);