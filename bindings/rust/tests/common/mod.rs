//! Helpers the integration tests share: an error with a source chain, as
//! `record_error` walks it.
use std::fmt;

#[derive(Debug)]
pub struct Inner;
impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "disk full")
    }
}
impl std::error::Error for Inner {}

/// An error whose message is .0 and whose source is .1.
#[derive(Debug)]
pub struct Outer(pub &'static str, pub Inner);
impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.1)
    }
}
