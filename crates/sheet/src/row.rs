//! One row as read: sparse, only the cells that hold something.

use crate::cell::Cell;

static EMPTY: Cell = Cell::Empty;

/// A row of a sheet or CSV file. Only cells with a value are kept, so a row
/// with one cell far to the right costs one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    number: u32,
    /// (1-based column, value), columns ascending, no `Cell::Empty`.
    cells: Vec<(u32, Cell)>,
}

impl Row {
    /// `cells` must be in ascending column order; empty cells are dropped.
    pub(crate) fn new(number: u32, mut cells: Vec<(u32, Cell)>) -> Self {
        cells.retain(|(_, c)| *c != Cell::Empty);
        Self { number, cells }
    }

    /// The row number as Excel shows it (CSV: the record's number).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The cell in a 1-based column; `Cell::Empty` when there is none.
    pub fn get(&self, column: u32) -> &Cell {
        match self.cells.binary_search_by_key(&column, |(c, _)| *c) {
            Ok(i) => self.cells.get(i).map_or(&EMPTY, |(_, cell)| cell),
            Err(_) => &EMPTY,
        }
    }

    /// The cells that hold something, with their 1-based columns.
    pub fn cells(&self) -> impl Iterator<Item = (u32, &Cell)> {
        self.cells.iter().map(|(c, cell)| (*c, cell))
    }

    /// The first `width` cells, empty ones included (never more than `width`).
    pub fn dense(&self, width: u32) -> Vec<Cell> {
        let mut out = vec![Cell::Empty; width as usize];
        for (column, cell) in self.cells.iter().take_while(|(c, _)| *c <= width) {
            if let Some(slot) = column.checked_sub(1).and_then(|i| out.get_mut(i as usize)) {
                *slot = cell.clone();
            }
        }
        out
    }

    /// No cell holds anything but whitespace.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|(_, c)| c.is_blank())
    }
}
