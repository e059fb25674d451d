ALTER TABLE `one_time_tokens` ADD `session_id` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `device_id` text;