CREATE TABLE `sms_consent_proofs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`public_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`user_public_id` text NOT NULL,
	`phone` text NOT NULL,
	`code_hash` text NOT NULL,
	`expires_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`time_zone` text,
	`evidence` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sms_consent_proofs_publicId_unique` ON `sms_consent_proofs` (`public_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `sms_consent_proofs_user_uq` ON `sms_consent_proofs` (`user_public_id`);--> statement-breakpoint
CREATE INDEX `sms_consent_proofs_expires_idx` ON `sms_consent_proofs` (`expires_at`);