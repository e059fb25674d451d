CREATE TABLE `devices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`user_public_id` text NOT NULL,
	`platform` text NOT NULL,
	`provider` text NOT NULL,
	`token` text NOT NULL,
	`name` text,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `devices_publicId_unique` ON `devices` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `devices_provider_token_uq` ON `devices` (`provider`,`token`);--> statement-breakpoint
CREATE INDEX `devices_user_idx` ON `devices` (`user_public_id`);--> statement-breakpoint
CREATE INDEX `devices_last_seen_idx` ON `devices` (`last_seen_at`);--> statement-breakpoint
CREATE TABLE `notification_preferences` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`user_public_id` text NOT NULL,
	`channel` text NOT NULL,
	`enabled` integer NOT NULL,
	`quiet_start_minute` integer,
	`quiet_end_minute` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notification_preferences_publicId_unique` ON `notification_preferences` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `notification_preferences_user_channel_uq` ON `notification_preferences` (`user_public_id`,`channel`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`user_public_id` text NOT NULL,
	`channel` text NOT NULL,
	`category` text NOT NULL,
	`kind` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`title` text NOT NULL,
	`body` text,
	`data` text,
	`recipient_masked` text,
	`recipient_hash` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_until` integer,
	`not_before` integer,
	`provider` text,
	`provider_message_id` text,
	`reason` text,
	`delivered_at` integer,
	`failed_at` integer,
	`read_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_publicId_unique` ON `notifications` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_idempotency_key_uq` ON `notifications` (`idempotency_key`);--> statement-breakpoint
CREATE INDEX `notifications_user_public_idx` ON `notifications` (`user_public_id`,`public_id`);--> statement-breakpoint
CREATE INDEX `notifications_user_channel_created_idx` ON `notifications` (`user_public_id`,`channel`,`created_at`);--> statement-breakpoint
CREATE INDEX `notifications_user_read_idx` ON `notifications` (`user_public_id`,`read_at`);--> statement-breakpoint
CREATE INDEX `notifications_status_updated_idx` ON `notifications` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `notifications_status_created_idx` ON `notifications` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `notifications_recipient_created_idx` ON `notifications` (`recipient_hash`,`created_at`);--> statement-breakpoint
CREATE INDEX `notifications_channel_created_idx` ON `notifications` (`channel`,`created_at`);--> statement-breakpoint
CREATE TABLE `sms_consents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`user_public_id` text NOT NULL,
	`phone` text NOT NULL,
	`promotional_opt_in` integer DEFAULT false NOT NULL,
	`promotional_changed_at` integer,
	`transactional_opt_out` integer DEFAULT false NOT NULL,
	`source` text NOT NULL,
	`evidence` text,
	`time_zone` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sms_consents_publicId_unique` ON `sms_consents` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `sms_consents_phone_uq` ON `sms_consents` (`phone`);--> statement-breakpoint
CREATE INDEX `sms_consents_user_idx` ON `sms_consents` (`user_public_id`);