-- A revoked or restarted device's leaves are looked up by device across chats.
CREATE INDEX mls_leaves_of_device ON mls_leaves (device_id);
