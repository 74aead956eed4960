//! Set reconciliation of held dots (the engine's side is in `sync::reconciling`): which dots inside the common causal context
//! one replica holds and the other does not, found from a few hundred bytes of coded symbols.
//! The design and its figures are in `DESIGN.md` beside this file.

mod iblt;

pub(crate) use iblt::{Decoder, Encoder, Limits, SessionKey, Symbol};
