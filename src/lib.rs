#![doc = include_str!("../README.md")]
#![doc(test(attr(deny(warnings))))]
// On docs.rs (nightly, `--cfg docsrs`): each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "auth")]
mod auth;
#[cfg(feature = "serde")]
mod bounded;
mod causal;
mod clock;
#[cfg(feature = "sync")]
mod codec;
mod crdt;
mod document;
#[cfg(feature = "sync")]
pub mod durable;
mod error;
mod id;
mod lattice;
#[cfg(feature = "tokio")]
mod net;
mod platform;
#[cfg(feature = "sync")]
mod sync;

#[cfg(feature = "auth")]
pub use auth::{
    AUTH_VERSION, AllowList, AuthError, AwaitingFinal, Handshake, Initiating, InvalidKey,
    MAX_FRAME_BYTES, MESSAGE1_LEN, MESSAGE2_LEN, MESSAGE3_LEN, NOISE_PARAMS, Opener, PeerKey,
    PublicKey, Responding, Role, Sealer, Session, TAG_LEN,
};
pub use causal::{Causal, CausalContext, Dot, DotStore, InvalidContext, Reconcile};
#[cfg(not(no_os))]
pub use clock::SystemClock;
pub use clock::{ClockError, Hlc, HlcBuilder, PhysicalClock, Stamp, Timestamp};
#[cfg(feature = "sync")]
pub use codec::{
    DecodeError, DecodeLimits, EncodeError, FORMAT_VERSION, decode, decode_with, encode,
};
pub use crdt::{
    CausalCounter, DwFlag, EwFlag, GCounter, GSet, LwwMap, LwwRegister, MvRegister, OrMap, OrSet,
    PnCounter, RwSet,
};
#[cfg(feature = "serde")]
pub use document::MAX_NESTING;
pub use document::mapped;
pub use document::{
    Doc, Edit, Field, FieldKey, JsonBuilder, Kind, MapError, Mapped, PathError, Register, Scalar,
    Value, scalar_order,
};
pub use error::Error;
pub use id::{InvalidReplicaId, ReplicaId};
pub use lattice::{Delta, Lattice};
#[cfg(feature = "tokio")]
pub use net::{
    Backoff, CHANGE_BUFFER, Change, ChangeError, ChangeStream, DialFailures, NetConfig, NetError,
    NetStats, Network, NodeError, NodeHandle, Origin, PeerProgress, Progress, Refusals, SyncNode,
};
#[cfg(feature = "reconcile")]
pub use sync::SkewStats;
#[cfg(feature = "sync")]
pub use sync::{
    Count, FullStates, MemoryNetwork, MemoryTransport, PeerStats, PumpError, Pumped, Replica,
    Resume, Rounds, SyncConfig, SyncEngine, SyncError, SyncStats, Traffic, Transmit, Transport,
    UnknownEndpoint, UpdateError,
};

/// Implements [`Mapped`] for a struct with named fields, each of a [`Mapped`] type: the struct
/// is a map of the document, each field the document field of the same name (or of the name
/// after `as`). Every field must be listed; [`Doc::read`] fills them all, [`Doc::write`]
/// edits those that differ. Generic structs implement [`Mapped`] by hand, the same way.
///
/// (The macro lives here, in the facade, because it expands in the user's crate, where only
/// the crate root's paths exist.)
///
/// # Examples
/// ```
/// use std::collections::BTreeMap;
/// use deltacrdt::mapped::{Counter, Flag};
/// use deltacrdt::{Doc, Hlc, ReplicaId};
///
/// #[derive(Debug, PartialEq, Default)]
/// struct Person { name: String, email: Option<String> }
/// #[derive(Debug, PartialEq, Default)]
/// struct Task { title: String, owner: Person, done: Flag, votes: Counter, notes: BTreeMap<String, String> }
/// deltacrdt::mapped_struct!(Person { name, email as "e-mail" });
/// deltacrdt::mapped_struct!(Task { title, owner, done, votes, notes });
///
/// let mut clock = Hlc::builder(ReplicaId::from_u128(1)).build()?;
/// let mut doc = Doc::default();
/// let task = Task { title: "ship".into(), votes: Counter(3), ..Task::default() };
/// let _delta = doc.write(&mut clock, &["tasks", "t1"], &task)?;
/// assert_eq!(doc.register(&["tasks", "t1", "title"]), Some(&"ship".into()));
/// assert_eq!(doc.counter(&["tasks", "t1", "votes"]), 3);
/// assert_eq!(doc.read::<Task>(&["tasks", "t1"])?, task);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! mapped_struct {
    (@name $field:ident) => { ::core::stringify!($field) };
    (@name $field:ident $name:literal) => { $name };
    (@each $method:ident, $value:ident, $doc:ident, $path:ident, $edits:ident,
        $($field:ident $($name:literal)?),*) => {{
        $($crate::Mapped::$method(
            &$value.$field,
            $doc,
            &$crate::mapped::child($path, $crate::mapped_struct!(@name $field $($name)?)),
            $edits,
        )?;)*
        ::core::result::Result::Ok(())
    }};
    ($ty:ty { $($field:ident $(as $name:literal)?),* $(,)? }) => {
        impl $crate::Mapped for $ty {
            const KIND: $crate::Kind = $crate::Kind::Map;

            fn read(
                doc: &$crate::Doc,
                path: &[&str],
            ) -> ::core::result::Result<Self, $crate::MapError> {
                ::core::result::Result::Ok(Self {
                    $($field: $crate::Mapped::read(
                        doc,
                        &$crate::mapped::child(path, $crate::mapped_struct!(@name $field $($name)?)),
                    )?,)*
                })
            }

            fn diff(
                &self,
                doc: &$crate::Doc,
                path: &[&str],
                edits: &mut $crate::mapped::Edits,
            ) -> ::core::result::Result<(), $crate::MapError> {
                $crate::mapped_struct!(@each diff, self, doc, path, edits, $($field $($name)?),*)
            }

            fn create(
                &self,
                doc: &$crate::Doc,
                path: &[&str],
                edits: &mut $crate::mapped::Edits,
            ) -> ::core::result::Result<(), $crate::MapError> {
                $crate::mapped_struct!(@each create, self, doc, path, edits, $($field $($name)?),*)
            }
        }
    };
}
