CREATE TABLE `twilio_inbound` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`message_sid` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `twilio_inbound_publicId_unique` ON `twilio_inbound` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `twilio_inbound_message_sid_uq` ON `twilio_inbound` (`message_sid`);--> statement-breakpoint
CREATE INDEX `twilio_inbound_created_at_idx` ON `twilio_inbound` (`created_at`);