//! Admission of inbound connections before they authenticate: a bounded table of handshakes
//! in progress, in total and per source address, where a newcomer over a bound pushes out the
//! oldest instead of being refused (each connection holds its place through
//! [`Admission`](super::shared::Admission)).
//!
//! A peer that holds connections open without finishing the handshake (a flood, a slowloris)
//! can then fill the table only with connections that keep being pushed out, while an honest
//! peer's handshake — a few round trips — completes before its turn comes. Authenticated
//! sessions ([`NetConfig::max_sessions`](crate::NetConfig)) and our own dials are counted
//! apart, so a flood locks out neither.

use std::collections::VecDeque;
use std::net::IpAddr;

use tokio_util::sync::CancellationToken;

/// One inbound connection still handshaking.
#[derive(Debug)]
struct Waiting {
    id: u64,
    address: IpAddr,
    pushed_out: CancellationToken,
}

/// The handshakes in progress, oldest first.
#[derive(Debug, Default)]
pub(super) struct Handshakes {
    waiting: VecDeque<Waiting>,
    next_id: u64,
}

impl Handshakes {
    /// Admits a connection from `address`, pushing out the oldest handshake from that address
    /// if it has `per_address` already, then the oldest of all if `max` are waiting. Returns
    /// its id, its push-out signal and how many were pushed out.
    pub(super) fn admit(
        &mut self,
        address: IpAddr,
        (max, per_address): (usize, usize),
    ) -> (u64, CancellationToken, u64) {
        let mut pushed = 0;
        let from_address = self.waiting.iter().filter(|w| w.address == address).count();
        if from_address >= per_address.max(1)
            && let Some(at) = self.waiting.iter().position(|w| w.address == address)
            && let Some(old) = self.waiting.remove(at)
        {
            old.pushed_out.cancel();
            pushed += 1;
        }
        while self.waiting.len() >= max.max(1) {
            let Some(old) = self.waiting.pop_front() else {
                break;
            };
            old.pushed_out.cancel();
            pushed += 1;
        }
        self.next_id += 1;
        let token = CancellationToken::new();
        self.waiting.push_back(Waiting {
            id: self.next_id,
            address,
            pushed_out: token.clone(),
        });
        (self.next_id, token, pushed)
    }

    /// The handshake `id` is over (finished, failed or pushed out).
    pub(super) fn leave(&mut self, id: u64) {
        if let Some(at) = self.waiting.iter().position(|w| w.id == id) {
            self.waiting.remove(at);
        }
    }

    /// Handshakes in progress.
    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Handshakes;
    use std::net::{IpAddr, Ipv4Addr};

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    #[test]
    fn the_oldest_handshake_makes_room_per_address_then_in_total() {
        let mut h = Handshakes::default();
        let a1 = h.admit(ip(1), (3, 2));
        let a2 = h.admit(ip(1), (3, 2));
        assert_eq!(a2.2, 0);
        // A third from the same address pushes out its oldest.
        let a3 = h.admit(ip(1), (3, 2));
        assert_eq!(a3.2, 1);
        assert!(a1.1.is_cancelled() && !a2.1.is_cancelled());
        let b1 = h.admit(ip(2), (3, 2));
        assert_eq!((b1.2, h.len()), (0, 3));
        // The table is full: the oldest of all goes.
        let c1 = h.admit(ip(3), (3, 2));
        assert_eq!(c1.2, 1);
        assert!(a2.1.is_cancelled() && !a3.1.is_cancelled() && !b1.1.is_cancelled());
        h.leave(a3.0);
        h.leave(a3.0);
        assert_eq!(h.len(), 2);
        // Limits of 0 still admit one.
        let mut z = Handshakes::default();
        let (_, first, _) = z.admit(ip(1), (0, 0));
        let (_, _, pushed) = z.admit(ip(1), (0, 0));
        assert!(first.is_cancelled());
        assert_eq!((pushed, z.len()), (1, 1));
    }
}
