//! The typed LWW map through the sync engine: replicas writing and removing keys over a lossy,
//! duplicating, reordering network with partitions and crash-restarts converge to the join of
//! every delta, and that join reads what last-writer-wins says.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failure should panic with the seed"
)]

use std::collections::{BTreeMap, BTreeSet};

use crate::sim::{Faults, Rng, Sim};
use deltacrdt::{Lattice, LwwMap, Stamp, SyncConfig};

type Map = LwwMap<u16, String>;
/// Per key, the latest write (`Some`) or remove (`None`) and its stamp.
type Latest = BTreeMap<u16, (Stamp, Option<String>)>;

fn config() -> SyncConfig {
    SyncConfig {
        retransmit_after_ms: 200,
        repair_after_ms: 500,
        ..SyncConfig::default()
    }
}

/// One seeded schedule: 4 replicas, 200 writes and removes over 24 keys, partitions and
/// restarts on a lossy network. Returns the converged map, the join of every delta, and the
/// latest write or remove of each key.
fn schedule(seed: u64) -> (Map, Map, Latest) {
    let mut rng = Rng::new(seed);
    let mut sim = Sim::<Map>::new(seed, 4, &config(), 50, Faults::LOSSY);
    sim.full_mesh();
    let mut joined = Map::default();
    let mut latest = Latest::new();
    for step in 0..200u32 {
        let at = rng.index(4);
        let key = rng.below(24) as u16;
        let value = rng.chance(0.7).then(|| format!("{step}@{at}"));
        let mut stamp = None;
        let delta = sim.update(at, |map, hlc| {
            let s = hlc.now()?;
            stamp = Some(s);
            Ok::<_, deltacrdt::ClockError>(match &value {
                Some(v) => map.insert(key, v.clone(), s),
                None => map.remove(&key, s),
            })
        });
        if !delta.is_bottom() {
            let s = stamp.unwrap();
            if latest.get(&key).is_none_or(|(old, _)| s > *old) {
                latest.insert(key, (s, value));
            }
        }
        joined.join(delta);
        match rng.below(20) {
            0 => {
                let side: BTreeSet<usize> = (0..4).filter(|_| rng.chance(0.5)).collect();
                sim.partition(&side);
            }
            1 => sim.heal(),
            2 => sim.crash_restart(rng.index(4)),
            _ => {}
        }
        sim.step(rng.range(1, 30));
    }
    sim.heal();
    sim.run_until_quiescent(5, 20_000)
        .unwrap_or_else(|e| panic!("seed {seed:#x}: {e}"));
    (sim.assert_converged().clone(), joined, latest)
}

#[test]
fn lww_maps_converge_to_the_latest_write_of_each_key_under_faults() {
    for seed in 0..24u64 {
        let (converged, joined, latest) = schedule(0x1a77_0000 + seed);
        assert_eq!(
            converged, joined,
            "seed {seed}: not the join of every delta"
        );
        let expected: BTreeMap<u16, String> = latest
            .into_iter()
            .filter_map(|(k, (_, v))| Some((k, v?)))
            .collect();
        let read: BTreeMap<u16, String> = converged.iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(read, expected, "seed {seed}: not last-writer-wins");
        assert!(
            converged.tombstones() > 0,
            "seed {seed}: no remove was tested"
        );
    }
}
