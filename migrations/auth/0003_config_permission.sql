-- Custom migration: the new `config:write` permission (client version policy) joins the
-- built-in admin role, which keeps every permission.
UPDATE `roles`
SET `permissions` = json_insert(`permissions`, '$[#]', 'config:write'), `updated_at` = 1795331000000
WHERE `name` = 'admin' AND NOT EXISTS (SELECT 1 FROM json_each(`roles`.`permissions`) WHERE value = 'config:write');
