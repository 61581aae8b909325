-- Mini-apps: a bot's web app address, and the key that signs its initData. Only a hash of the
-- bot's token is kept, so the key (HMAC_SHA256("WebAppData", token), which can sign initData
-- but not call the bot API) is derived and kept whenever a token is issued.

ALTER TABLE bots ADD COLUMN web_app_url TEXT;
ALTER TABLE bots ADD COLUMN web_app_key BLOB;
