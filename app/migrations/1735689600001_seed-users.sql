-- Up Migration
-- Users 1-7, each with its own key. Re-running inserts nothing twice.
INSERT INTO users (id, name, key) VALUES
  (1, 'Ada', 'key-' || replace(gen_random_uuid()::text, '-', '')),
  (2, 'Grace', 'key-' || replace(gen_random_uuid()::text, '-', '')),
  (3, 'Linus', 'key-' || replace(gen_random_uuid()::text, '-', '')),
  (4, 'Margaret', 'key-' || replace(gen_random_uuid()::text, '-', '')),
  (5, 'Dennis', 'key-' || replace(gen_random_uuid()::text, '-', '')),
  (6, 'Barbara', 'key-' || replace(gen_random_uuid()::text, '-', '')),
  (7, 'Ken', 'key-' || replace(gen_random_uuid()::text, '-', ''))
ON CONFLICT (id) DO NOTHING;

-- Down Migration
DELETE FROM users WHERE id BETWEEN 1 AND 7;
