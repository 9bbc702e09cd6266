-- Run once by the postgres image on first start (docker-entrypoint-initdb.d), as the
-- superuser, in the citypair database: the two roles citypair works with.
--   citypair_owner  owns the database and its schema; runs the migrations (citypair init-db).
--   citypair_app    what the running application connects as: no superuser, owns nothing,
--                   cannot create anything. `citypair init-db` (run as the owner with
--                   DATABASE_APP_ROLE=citypair_app) grants it, after each migration, exactly
--                   what it needs: read and write the tables, only insert into audit_event,
--                   and call the two functions erasure and retention go through.
\getenv owner_password CITYPAIR_OWNER_PASSWORD
\getenv app_password CITYPAIR_APP_PASSWORD

CREATE ROLE citypair_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE citypair_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;

ALTER DATABASE citypair OWNER TO citypair_owner;
REVOKE ALL ON DATABASE citypair FROM PUBLIC;
GRANT CONNECT ON DATABASE citypair TO citypair_owner, citypair_app;

ALTER SCHEMA public OWNER TO citypair_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO citypair_app;
