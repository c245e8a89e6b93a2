-- Generated registry for docs/scale.md: 10,000 packages, 1,000,000 manifests (100 a package),
-- 10,000,000 tags (10 a manifest), 1,000,000 blobs with 2,000,000 manifest references and links,
-- 100,000 referrers. Run on an empty, migrated database (DATABASE_URL=.../wharf_i14cap manage.py migrate).
\timing on
SET synchronous_commit = off;
ALTER TABLE packages_app_blob DISABLE TRIGGER USER;
ALTER TABLE packages_app_manifest_blobs DISABLE TRIGGER USER;

INSERT INTO packages_app_package (name, namespace, visibility, description, licenses, source_url, created_at,
                                  updated_at, inherit_access, readme)
SELECT 'org' || (g % 500) || '/app' || g, 'org' || (g % 500), 'public', '', '', '', now(), now(), true, ''
FROM generate_series(1, 10000) g;

INSERT INTO packages_app_manifest (package_id, digest, media_type, size, content, artifact_type, config_media_type,
                                   config_digest, subject_digest, annotations, foreign_urls, labels, platforms,
                                   created_at, deleted_tags)
SELECT p.id, 'sha256:' || encode(sha256(('m' || p.id || ':' || g)::bytea), 'hex'),
       'application/vnd.oci.image.manifest.v1+json', 1000, convert_to(repeat('x', 1000), 'UTF8'), '',
       'application/vnd.oci.image.config.v1+json', 'sha256:' || encode(sha256(('c' || p.id || ':' || g)::bytea), 'hex'),
       '', '{}', '[]', '{"org.opencontainers.image.source": "https://example.com/src"}',
       '[{"os": "linux", "architecture": "amd64"}]', now() - g * interval '1 hour', '[]'
FROM packages_app_package p, generate_series(1, 100) g;

-- every tenth manifest of a package is a referrer (a signature) of the one before it
UPDATE packages_app_manifest m SET subject_digest = s.digest, artifact_type = 'application/vnd.example.sig'
FROM packages_app_manifest s WHERE s.id = m.id - 1 AND m.id % 10 = 0;

ALTER TABLE packages_app_tag DROP CONSTRAINT tag_unique_name;
DROP INDEX packages_app_tag_manifest_id_d9ce254c;
DROP INDEX packages_app_tag_package_id_d8a87022;
INSERT INTO packages_app_tag (package_id, name, manifest_id, updated_at)
SELECT m.package_id, 'v' || m.id || '.' || t, m.id, now()
FROM packages_app_manifest m, generate_series(1, 10) t;
ALTER TABLE packages_app_tag ADD CONSTRAINT tag_unique_name UNIQUE (package_id, name);
CREATE INDEX packages_app_tag_manifest_id_d9ce254c ON packages_app_tag (manifest_id);
CREATE INDEX packages_app_tag_package_id_d8a87022 ON packages_app_tag (package_id);

INSERT INTO packages_app_blob (digest, size, storage_key, created_at)
SELECT 'sha256:' || encode(sha256(('b' || g)::bytea), 'hex'), 30000000, '_blobs/' || md5(g::text), now()
FROM generate_series(1, 1000000) g;
-- each manifest refers to two blobs (a layer shared by its package, a config of its own, at this scale)
INSERT INTO packages_app_manifest_blobs (manifest_id, blob_id)
SELECT m.id, (SELECT min(id) FROM packages_app_blob) + (m.id * 2) % 1000000 FROM packages_app_manifest m
UNION ALL
SELECT m.id, (SELECT min(id) FROM packages_app_blob) + (m.id * 2 + 1) % 1000000 FROM packages_app_manifest m
ON CONFLICT DO NOTHING;
INSERT INTO packages_app_packageblob (package_id, blob_id, created_at)
SELECT DISTINCT m.package_id, mb.blob_id, now() FROM packages_app_manifest_blobs mb
JOIN packages_app_manifest m ON m.id = mb.manifest_id
ON CONFLICT DO NOTHING;

ALTER TABLE packages_app_blob ENABLE TRIGGER USER;
ALTER TABLE packages_app_manifest_blobs ENABLE TRIGGER USER;
VACUUM ANALYZE;
