-- 0002_images: images, their names, the unpacked layers they stack, and which layers a
-- container's rootfs uses.
--
--   * An image is identified by the digest of its config (the CRI image ID, "sha256:<hex>").
--   * Its names are repo tags ("registry.k8s.io/pause:3.9") and repo digests
--     ("registry.k8s.io/pause@sha256:..."); a name belongs to exactly one image, and an image
--     whose last name is taken away is removed with it.
--   * A layer is identified by its chain ID and unpacked once under <root>/images/layers/<hex>,
--     whichever images and containers use it.  A layer row exists only once its directory is
--     complete; rows nobody references (and the blobs no image references) are garbage,
--     collected outside any transaction.
--   * Nothing derivable is stored: an image's size is its config plus its layer blobs (images_v),
--     a layer's parent is the layer below it in image_layers.

CREATE TABLE images (
    id              TEXT    NOT NULL PRIMARY KEY
                            CHECK (length(id) = 71 AND id GLOB 'sha256:*'
                                   AND substr(id, 8) NOT GLOB '*[^0-9a-f]*'),
    manifest_digest TEXT    NOT NULL,                 -- the image manifest (never an index)
    media_type      TEXT    NOT NULL,                 -- the manifest's media type
    config          BLOB    NOT NULL,                 -- the image config JSON, as fetched
    uid             INTEGER,                          -- config User when numeric, else NULL
    username        TEXT    NOT NULL DEFAULT '',      -- config User when not numeric
    pinned          INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    created_at      INTEGER NOT NULL DEFAULT 0        -- when stored on this node
);

CREATE TABLE image_names (
    name            TEXT    NOT NULL PRIMARY KEY,     -- normalized repo tag or repo digest
    image_id        TEXT    NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    kind            INTEGER NOT NULL CHECK (kind IN (0, 1)) -- 0 repo tag, 1 repo digest
);

CREATE INDEX image_names_image ON image_names (image_id);

CREATE TABLE layers (
    chain_id        TEXT    NOT NULL PRIMARY KEY,
    diff_id         TEXT    NOT NULL,
    size            INTEGER NOT NULL DEFAULT 0,       -- bytes of regular files unpacked
    inodes          INTEGER NOT NULL DEFAULT 0,       -- entries unpacked
    created_at      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE image_layers (
    image_id        TEXT    NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL CHECK (position >= 0), -- 0 = bottom
    chain_id        TEXT    NOT NULL REFERENCES layers (chain_id),
    blob_digest     TEXT    NOT NULL,                 -- the layer archive as fetched
    blob_size       INTEGER NOT NULL CHECK (blob_size >= 0),
    media_type      TEXT    NOT NULL,
    PRIMARY KEY (image_id, position)
);

CREATE INDEX image_layers_chain ON image_layers (chain_id);
CREATE INDEX image_layers_blob ON image_layers (blob_digest);

CREATE TABLE container_layers (
    container_id    TEXT    NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL CHECK (position >= 0), -- 0 = bottom (lowest lowerdir)
    chain_id        TEXT    NOT NULL REFERENCES layers (chain_id),
    PRIMARY KEY (container_id, position)
);

CREATE INDEX container_layers_chain ON container_layers (chain_id);

CREATE VIEW images_v AS
SELECT i.id,
       (SELECT group_concat(name, ' ') FROM image_names n WHERE n.image_id = i.id AND n.kind = 0) AS tags,
       (SELECT group_concat(name, ' ') FROM image_names n WHERE n.image_id = i.id AND n.kind = 1) AS digests,
       (length(i.config) + (SELECT coalesce(sum(l.blob_size), 0) FROM image_layers l WHERE l.image_id = i.id)) AS size,
       (SELECT count(*) FROM image_layers l WHERE l.image_id = i.id) AS layers,
       coalesce(i.uid, i.username) AS user,
       i.pinned,
       CASE WHEN i.created_at = 0 THEN NULL ELSE
            strftime('%Y-%m-%dT%H:%M:%S', i.created_at / 1000000000, 'unixepoch')
            || printf('.%09dZ', i.created_at % 1000000000) END AS created
FROM images i;
