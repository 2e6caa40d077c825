//! The SQLite backend's own tests, in one binary: group commit, backups, start-up checks.

mod backup;
mod store;
