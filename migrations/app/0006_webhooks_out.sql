CREATE TABLE `webhook_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`delivery_public_id` text NOT NULL,
	`response_status` integer,
	`ok` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`response_body` text,
	`error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_attempts_publicId_unique` ON `webhook_attempts` (`public_id`);--> statement-breakpoint
CREATE INDEX `webhook_attempts_delivery_idx` ON `webhook_attempts` (`delivery_public_id`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_attempts_created_at_idx` ON `webhook_attempts` (`created_at`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`endpoint_public_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`reason` text,
	`delivered_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_publicId_unique` ON `webhook_deliveries` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_endpoint_event_uq` ON `webhook_deliveries` (`endpoint_public_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint_idx` ON `webhook_deliveries` (`endpoint_public_id`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_created_at_idx` ON `webhook_deliveries` (`created_at`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`url` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`event_types` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`previous_secret_ciphertext` text,
	`previous_secret_expires_at` integer,
	`failing_since` integer,
	`paused_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_endpoints_publicId_unique` ON `webhook_endpoints` (`public_id`);--> statement-breakpoint
CREATE INDEX `webhook_endpoints_status_idx` ON `webhook_endpoints` (`status`);