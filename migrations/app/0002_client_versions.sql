CREATE TABLE `client_versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`platform` text NOT NULL,
	`min_version` text NOT NULL,
	`latest_version` text NOT NULL,
	`update_url` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `client_versions_publicId_unique` ON `client_versions` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `client_versions_platform_uq` ON `client_versions` (`platform`);