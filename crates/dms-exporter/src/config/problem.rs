//! One problem with the configuration and where it is: the leaf every validation step
//! (`load`, `validate`, `redact`) reports with.

use std::fmt;

/// One thing wrong with the configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: u64,
    /// The dotted path of the field (`regions[1].endpoint`).
    pub field: String,
    pub message: String,
}

/// A problem with no position in the file (a value from a flag or a file it names).
pub(crate) fn nowhere(field: &str, message: impl Into<String>) -> Problem {
    Problem {
        line: 0,
        column: 0,
        field: field.to_owned(),
        message: message.into(),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.field, self.message
        )
    }
}
