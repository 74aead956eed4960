//! Bounds on what a decoder accepts from a peer, a file or a caller.

use crate::document::MAX_NESTING;

/// Bounds checked while decoding untrusted bytes, before anything is allocated for them.
///
/// Every frame's size is checked first, before any parsing: a sync frame (hello, delta, state,
/// chunk, ack) against [`max_frame_bytes`](Self::max_frame_bytes); a standalone value (what
/// [`encode`](crate::encode) writes and [`decode`](crate::decode) reads, a save, a store
/// record) against [`max_state_bytes`](Self::max_state_bytes), because it is a whole state,
/// the same bound a state reassembled from chunks meets. Then every count read from the frame
/// (replica-table length, sequence lengths) is checked against the bytes remaining, so no length
/// prefix can make the decoder reserve memory the input does not pay for; and the decoded
/// content is charged against the element, nesting and replica budgets. A decode that exceeds
/// any of them fails with a typed [`DecodeError`](crate::DecodeError).
///
/// The defaults suit a replica of a few million elements: `decode(&encode(&x)?)` succeeds under
/// them for an `OrSet<u64>` of 5,000,000 elements (38 MB encoded) and a [`Doc`](crate::Doc) of
/// as many elements (61 MB), while sync frames stay at
/// 1 MiB (larger states travel as chunks). Raise them for larger states.
///
/// # Examples
/// ```
/// use deltacrdt::{DecodeError, DecodeLimits, OrSet, ReplicaId, decode_with, encode};
/// let mut set = OrSet::default();
/// for i in 0..100u32 {
///     let _ = set.insert(ReplicaId::from_u128(1), i);
/// }
/// let bytes = encode(&set)?;
/// let tight = DecodeLimits { max_elements: 10, ..DecodeLimits::default() };
/// assert!(matches!(
///     decode_with::<OrSet<u32>>(&bytes, &tight),
///     Err(DecodeError::TooManyElements { max: 10 })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The largest sync frame accepted, in bytes (checked first, before any parsing).
    pub max_frame_bytes: usize,
    /// The largest full state or delta reassembled from chunks, and the largest standalone value
    /// frame ([`decode`](crate::decode)), in bytes.
    pub max_state_bytes: usize,
    /// The most elements one value may decode into: dots, replica references, context entries
    /// and document values each count one.
    pub max_elements: usize,
    /// The deepest nesting of maps and document values (at most [`MAX_NESTING`], the document's own bound).
    pub max_depth: u32,
    /// The most replicas in one frame's replica table (and so in any one causal context).
    pub max_replicas: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 1 << 20,
            max_state_bytes: 256 << 20,
            max_elements: 16 << 20,
            max_depth: MAX_NESTING,
            max_replicas: 1 << 16,
        }
    }
}
