CREATE TABLE `audit_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`event_id` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`level` text NOT NULL,
	`action` text NOT NULL,
	`outcome` text NOT NULL,
	`actor_id` text,
	`target_id` text,
	`request_id` text,
	`ip` text,
	`user_agent` text,
	`details` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_logs_publicId_unique` ON `audit_logs` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `audit_logs_event_id_uq` ON `audit_logs` (`event_id`);--> statement-breakpoint
CREATE INDEX `audit_logs_occurred_at_idx` ON `audit_logs` (`occurred_at`,`public_id`);--> statement-breakpoint
CREATE INDEX `audit_logs_action_idx` ON `audit_logs` (`action`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `audit_logs_actor_idx` ON `audit_logs` (`actor_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `audit_logs_target_idx` ON `audit_logs` (`target_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `audit_logs_level_idx` ON `audit_logs` (`level`,`occurred_at`);