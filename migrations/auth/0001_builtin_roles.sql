-- Custom migration (drizzle-kit generate --custom): the built-in roles. They cannot be
-- deleted through the API; their permissions are managed like any other role's.
INSERT INTO `roles` (`public_id`, `created_at`, `updated_at`, `name`, `description`, `permissions`, `built_in`)
VALUES
  ('0193a000-0000-7000-8000-000000000001', 1732233600000, 1732233600000, 'admin', 'Full administrative access',
   '["users:read","users:write","users:delete","roles:read","roles:write","logs:read","notifications:read","notifications:write"]', 1),
  ('0193a000-0000-7000-8000-000000000002', 1732233600000, 1732233600000, 'user', 'Self-service access to one''s own account',
   '[]', 1)
ON CONFLICT (`name`) DO NOTHING;
