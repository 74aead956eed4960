//! Set reconciliation of held dots (DESIGN §10): which dots inside the common causal context
//! one replica holds and the other does not, found from a few hundred bytes of coded symbols.
//! The design and its figures are in `DESIGN.md` beside this file.
// The engine integration (another branch) is the user; until it lands nothing calls this.
#![allow(dead_code, unused_imports, reason = "the engine integration uses it")]

mod iblt;

pub(crate) use iblt::{
    Decoder, Difference, Encoder, Limits, ReconcileError, SessionKey, Symbol, SymbolError,
};
