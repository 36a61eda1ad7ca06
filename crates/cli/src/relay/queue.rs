//! The relay's durable queue: an embedded SQLite database holding every event pulled from a terminal until the
//! site acknowledges it, and each terminal's cursor. Events and the cursor move in one transaction, so the
//! cursor never passes an event that is not on disk; a delivered event stays (as `delivered`) for a while so a
//! re-fetched overlap is not queued again.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, OptionalExtension};

pub type Result<T> = std::result::Result<T, rusqlite::Error>;

/// Where a terminal's pull stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The serial cursor handed to `fetch_events(since_serial)`.
    pub last_serial: Option<u64>,
    /// The time cursor: every event stamped before it is queued. Never past the terminal's clock when it
    /// was set (cursor.rs); the next search starts shortly before it.
    pub last_time: Option<DateTime<FixedOffset>>,
}

/// One event to queue: its key on the site (serial and device time) and the body to POST.
pub struct Item {
    pub key: String,
    pub body: String,
}

/// Counts per state, for messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: u64,
    pub delivered: u64,
    pub rejected: u64,
}

pub struct Queue {
    db: Connection,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn serial_to_sql(v: Option<u64>) -> Option<i64> {
    v.and_then(|s| i64::try_from(s).ok())
}

impl Queue {
    pub fn open(path: &Path) -> Result<Queue> {
        let db = Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(10))?;
        // WAL with full sync: a committed transaction survives a killed process and a power cut.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                device TEXT NOT NULL,
                key TEXT NOT NULL,
                body TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'rejected')),
                queued_at INTEGER NOT NULL,
                done_at INTEGER,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                UNIQUE (device, key)
            );
            CREATE INDEX IF NOT EXISTS events_pending ON events (device, state, id);
            CREATE TABLE IF NOT EXISTS cursors (
                device TEXT PRIMARY KEY,
                last_serial INTEGER,
                last_time TEXT
            );",
        )?;
        Ok(Queue { db })
    }

    pub fn cursor(&self, device: &str) -> Result<Cursor> {
        let row: Option<(Option<i64>, Option<String>)> = self
            .db
            .query_row(
                "SELECT last_serial, last_time FROM cursors WHERE device = ?1",
                params![device],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            None => Cursor::default(),
            Some((serial, time)) => Cursor {
                last_serial: serial.and_then(|s| u64::try_from(s).ok()),
                last_time: time.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()),
            },
        })
    }

    /// Queues `items` (an event already queued or delivered under the same key is skipped) and sets the
    /// cursor, in one transaction. Returns how many were new.
    pub fn enqueue(&mut self, device: &str, items: &[Item], cursor: &Cursor) -> Result<usize> {
        let tx = self.db.transaction()?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO events (device, key, body, queued_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let at = now();
            for item in items {
                added += insert.execute(params![device, item.key, item.body, at])?;
            }
        }
        tx.execute(
            "INSERT INTO cursors (device, last_serial, last_time) VALUES (?1, ?2, ?3)
             ON CONFLICT (device) DO UPDATE SET last_serial = excluded.last_serial, last_time = excluded.last_time",
            params![
                device,
                serial_to_sql(cursor.last_serial),
                cursor.last_time.map(|t| t.to_rfc3339())
            ],
        )?;
        tx.commit()?;
        Ok(added)
    }

    /// The oldest pending events of a device, in the order they were queued.
    pub fn pending(&self, device: &str, limit: usize) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT id, body FROM events WHERE device = ?1 AND state = 'pending' ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![device, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        rows.collect()
    }

    pub fn delivered(&self, id: i64) -> Result<()> {
        self.db.execute(
            "UPDATE events SET state = 'delivered', done_at = ?2, attempts = attempts + 1, last_error = NULL
             WHERE id = ?1",
            params![id, now()],
        )?;
        Ok(())
    }

    /// The site took the event but refused it for good (unreadable, too large): kept, never sent again.
    pub fn rejected(&self, id: i64, reason: &str) -> Result<()> {
        self.db.execute(
            "UPDATE events SET state = 'rejected', done_at = ?2, attempts = attempts + 1, last_error = ?3
             WHERE id = ?1",
            params![id, now(), reason],
        )?;
        Ok(())
    }

    pub fn failed_attempt(&self, id: i64, error: &str) -> Result<()> {
        self.db.execute(
            "UPDATE events SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }

    /// Forgets delivered events older than `keep` (their keys could otherwise be queued again only by a
    /// window reaching that far back, which the cursor does not do).
    pub fn prune(&self, keep: Duration) -> Result<usize> {
        let before = now().saturating_sub(i64::try_from(keep.as_secs()).unwrap_or(i64::MAX));
        self.db.execute(
            "DELETE FROM events WHERE state = 'delivered' AND done_at < ?1",
            params![before],
        )
    }

    pub fn counts(&self, device: &str) -> Result<Counts> {
        let mut counts = Counts::default();
        let mut stmt = self.db.prepare_cached(
            "SELECT state, COUNT(*) FROM events WHERE device = ?1 GROUP BY state",
        )?;
        let rows = stmt.query_map(params![device], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (state, n) = row?;
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                _ => counts.rejected = n,
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "attendance-sync-queue-{name}-{}.sqlite3",
            std::process::id()
        ));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path
    }

    fn item(key: &str) -> Item {
        Item {
            key: key.into(),
            body: format!("{{\"k\":\"{key}\"}}"),
        }
    }

    #[test]
    fn events_and_cursor_survive_reopening_and_keys_are_queued_once() {
        let path = temp_db("reopen");
        let cursor = Cursor {
            last_serial: Some(2),
            last_time: DateTime::parse_from_rfc3339("2026-03-02T10:00:00+06:00").ok(),
        };
        {
            let mut q = Queue::open(&path).expect("open");
            assert_eq!(q.cursor("a").expect("cursor"), Cursor::default());
            assert_eq!(
                q.enqueue("a", &[item("1"), item("2")], &cursor)
                    .expect("enqueue"),
                2
            );
        }
        let mut q = Queue::open(&path).expect("reopen");
        assert_eq!(q.cursor("a").expect("cursor"), cursor);
        let pending = q.pending("a", 10).expect("pending");
        assert_eq!(pending.len(), 2);
        q.delivered(pending[0].0).expect("delivered");
        q.rejected(pending[1].0, "unreadable: json")
            .expect("rejected");
        // The same keys fetched again (an overlapping window) are not queued again.
        assert_eq!(
            q.enqueue("a", &[item("1"), item("2"), item("3")], &cursor)
                .expect("again"),
            1
        );
        assert_eq!(
            q.counts("a").expect("counts"),
            Counts {
                pending: 1,
                delivered: 1,
                rejected: 1
            }
        );
        assert!(q.pending("b", 10).expect("other device").is_empty());
        assert_eq!(q.prune(Duration::from_secs(3600)).expect("prune"), 0);
    }
}
