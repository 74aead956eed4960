//! The replicated types: each one a join-semilattice whose mutators return deltas.

mod causal_counter;
mod dw_flag;
mod ew_flag;
mod g_counter;
mod g_set;
mod lww_map;
mod lww_register;
mod mv_register;
mod or_map;
mod or_set;
mod pn_counter;
mod reconcile;
mod rw_set;

pub use causal_counter::CausalCounter;
pub use dw_flag::DwFlag;
pub use ew_flag::EwFlag;
pub use g_counter::GCounter;
pub use g_set::GSet;
pub use lww_map::LwwMap;
pub use lww_register::LwwRegister;
pub use mv_register::MvRegister;
pub use or_map::OrMap;
pub use or_set::OrSet;
pub use pn_counter::PnCounter;
pub use rw_set::RwSet;
