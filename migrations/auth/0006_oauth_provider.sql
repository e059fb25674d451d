CREATE TABLE `oauth_clients` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`secret_hash` text,
	`redirect_uris` text NOT NULL,
	`scopes` text NOT NULL,
	`created_by` integer,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_clients_publicId_unique` ON `oauth_clients` (`public_id`);--> statement-breakpoint
CREATE INDEX `oauth_clients_deleted_at_idx` ON `oauth_clients` (`deleted_at`);--> statement-breakpoint
CREATE INDEX `oauth_clients_created_by_idx` ON `oauth_clients` (`created_by`);--> statement-breakpoint
CREATE TABLE `oauth_codes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`code_hash` text NOT NULL,
	`grant_id` integer NOT NULL,
	`redirect_uri` text NOT NULL,
	`code_challenge` text NOT NULL,
	`scopes` text NOT NULL,
	`nonce` text,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`grant_id`) REFERENCES `oauth_grants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_codes_publicId_unique` ON `oauth_codes` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_codes_hash_uq` ON `oauth_codes` (`code_hash`);--> statement-breakpoint
CREATE INDEX `oauth_codes_grant_idx` ON `oauth_codes` (`grant_id`);--> statement-breakpoint
CREATE INDEX `oauth_codes_expires_at_idx` ON `oauth_codes` (`expires_at`);--> statement-breakpoint
CREATE TABLE `oauth_grants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`user_id` integer NOT NULL,
	`client_id` integer NOT NULL,
	`scopes` text NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`client_id`) REFERENCES `oauth_clients`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_grants_publicId_unique` ON `oauth_grants` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_grants_user_client_uq` ON `oauth_grants` (`user_id`,`client_id`);--> statement-breakpoint
CREATE INDEX `oauth_grants_client_idx` ON `oauth_grants` (`client_id`);--> statement-breakpoint
CREATE INDEX `oauth_grants_revoked_at_idx` ON `oauth_grants` (`revoked_at`);--> statement-breakpoint
CREATE TABLE `oauth_spent_refresh_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`family_id` integer NOT NULL,
	`token_hash` text NOT NULL,
	FOREIGN KEY (`family_id`) REFERENCES `oauth_token_families`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_spent_refresh_tokens_publicId_unique` ON `oauth_spent_refresh_tokens` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_spent_refresh_tokens_hash_uq` ON `oauth_spent_refresh_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `oauth_spent_refresh_tokens_family_idx` ON `oauth_spent_refresh_tokens` (`family_id`);--> statement-breakpoint
CREATE TABLE `oauth_token_families` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`grant_id` integer NOT NULL,
	`code_id` integer,
	`scopes` text NOT NULL,
	`refresh_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	`revoked_reason` text,
	FOREIGN KEY (`grant_id`) REFERENCES `oauth_grants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_token_families_publicId_unique` ON `oauth_token_families` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_token_families_code_uq` ON `oauth_token_families` (`code_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_token_families_refresh_uq` ON `oauth_token_families` (`refresh_hash`);--> statement-breakpoint
CREATE INDEX `oauth_token_families_grant_idx` ON `oauth_token_families` (`grant_id`);--> statement-breakpoint
CREATE INDEX `oauth_token_families_expires_at_idx` ON `oauth_token_families` (`expires_at`);