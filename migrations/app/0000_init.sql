CREATE TABLE `profiles` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	`user_public_id` text NOT NULL,
	`full_name` text,
	`locale` text,
	`time_zone` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_publicId_unique` ON `profiles` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_user_public_id_uq` ON `profiles` (`user_public_id`);--> statement-breakpoint
CREATE INDEX `profiles_deleted_at_idx` ON `profiles` (`deleted_at`);