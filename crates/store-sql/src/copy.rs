//! What both ends of `portcullis copy` (SQLite → PostgreSQL) share: a whole
//! installation read into memory as plain values ([`Snapshot`]), and the checksum each
//! side computes over a table ([`checksum`]), so that "the same rows" means the same
//! on both sides whatever types the two databases store them as.
//!
//! The reading is `store-sqlite`'s (`copy::read`), the writing `store-postgres`'s
//! (`copy::write`); neither names a table: every table of the source schema is copied,
//! so a table a later migration adds is copied without a change here.
//!
//! The checksum of a table is SHA-256 over its rows in a canonical order and encoding:
//! every value in the value classes of SQLite's storage ([`Cell`]), booleans as the
//! integers 0 and 1, text and blobs both as their bytes (a PostgreSQL `bytea` holding
//! what SQLite stored as text is the same value); each row encoded as its cells in the
//! source's column order; rows sorted by the encoding of their primary key columns
//! (the whole row for a table without one), in byte order — sorted here rather than by
//! `ORDER BY`, because the two databases collate text differently.

use sha2::{Digest as _, Sha256};

/// One value, in the classes SQLite stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer (also a boolean: 0 or 1).
    Int(i64),
    /// A floating point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Cell {
    /// Appends the canonical encoding: a class byte, then the value (integers and
    /// floats as 8 bytes big-endian, text and blobs as their length, 8 bytes, and
    /// their bytes). Text and blobs share the class byte.
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Cell::Null => out.push(0),
            Cell::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Cell::Real(f) => {
                out.push(2);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Cell::Text(s) => bytes(out, s.as_bytes()),
            Cell::Blob(b) => bytes(out, b),
        }
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.push(3);
    out.extend_from_slice(&(b.len() as u64).to_be_bytes());
    out.extend_from_slice(b);
}

/// One table of the source: its columns (in the source's order), which of them form
/// the primary key, and every row.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// The column names.
    pub columns: Vec<String>,
    /// Indexes into `columns` of the primary key (empty: none).
    pub key: Vec<usize>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The index of the column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// A whole installation as read from the source, in one read transaction.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The newest migration applied to the source.
    pub schema_version: i64,
    /// Every table but the migrations' bookkeeping, by name.
    pub tables: Vec<Table>,
}

impl Snapshot {
    /// The table `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// A table's row count and checksum ([`checksum`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSum {
    /// The number of rows.
    pub rows: u64,
    /// SHA-256 of the canonical encoding, lowercase hex.
    pub sha256: String,
}

/// The row count and checksum of `rows` (cells in the order of the columns the key
/// indexes `key` refer to); see the module documentation for the definition.
pub fn checksum(key: &[usize], rows: &[Vec<Cell>]) -> TableSum {
    let mut encoded: Vec<(Vec<u8>, Vec<u8>)> = rows
        .iter()
        .map(|row| {
            let mut whole = Vec::new();
            for c in row {
                c.encode(&mut whole);
            }
            let sort_key = if key.is_empty() {
                whole.clone()
            } else {
                let mut k = Vec::new();
                for &i in key {
                    if let Some(c) = row.get(i) {
                        c.encode(&mut k);
                    }
                }
                k
            };
            (sort_key, whole)
        })
        .collect();
    encoded.sort();
    let mut hash = Sha256::new();
    for (_, whole) in &encoded {
        hash.update((whole.len() as u64).to_be_bytes());
        hash.update(whole);
    }
    let sha256 = hash
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    TableSum {
        rows: rows.len() as u64,
        sha256,
    }
}

/// Why a copy failed: bad input the operator can fix (a non-empty target, the wrong
/// master key, a source that is not a Portcullis database…) or a runtime failure.
#[derive(Debug)]
pub enum CopyError {
    /// Bad input.
    Invalid(String),
    /// A database failed.
    Failed(String),
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::Invalid(m) | CopyError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CopyError {}

#[cfg(test)]
mod tests {
    use super::{checksum, Cell};

    #[test]
    fn the_checksum_ignores_row_order_and_tells_text_from_numbers() {
        let a = vec![
            vec![Cell::Int(2), Cell::Text("b".into())],
            vec![Cell::Int(1), Cell::Null],
        ];
        let b = vec![
            vec![Cell::Int(1), Cell::Null],
            vec![Cell::Int(2), Cell::Blob(b"b".to_vec())],
        ];
        assert_eq!(checksum(&[0], &a), checksum(&[0], &b));
        let c = vec![
            vec![Cell::Int(1), Cell::Null],
            vec![Cell::Int(2), Cell::Int(98)],
        ];
        assert_ne!(checksum(&[0], &a), checksum(&[0], &c));
        assert_eq!(checksum(&[], &a), checksum(&[], &b));
        assert_eq!(checksum(&[0], &a).rows, 2);
    }

    #[test]
    fn values_cannot_run_into_each_other() {
        let a = vec![vec![Cell::Text("ab".into()), Cell::Text("c".into())]];
        let b = vec![vec![Cell::Text("a".into()), Cell::Text("bc".into())]];
        assert_ne!(checksum(&[], &a), checksum(&[], &b));
    }
}
