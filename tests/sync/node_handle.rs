//! Spawned nodes on loopback: edits through handles, the change stream (origin and the exact
//! delta), "synced", the handle after the node stopped, and durable nodes restarted from their
//! data directories sending no full state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::time::Duration;

use deltacrdt::{
    ChangeError, Doc, Hlc, LwwMap, NetConfig, Network, NodeError, NodeHandle, Origin, SyncEngine,
    SyncNode,
};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

use crate::peers::{group, id, key};

/// Peer `n`'s network, peers 1 to 64 allowed.
fn network(n: u128) -> Network {
    Network::new(id(n), NetConfig::new(key(n), group())).unwrap()
}

/// A node of an in-memory engine over `T`, not spawned yet.
fn node<T>(n: u128) -> SyncNode<SyncEngine<T>>
where
    T: deltacrdt::Reconcile + serde::Serialize + serde::de::DeserializeOwned,
{
    let engine = SyncEngine::new(Hlc::builder(id(n)).build().unwrap());
    SyncNode::new(engine, network(n))
}

/// Three spawned nodes in a full mesh (1 listens, 2 and 3 dial it and 3 dials 2), once every
/// session is open.
async fn mesh<T>() -> Vec<NodeHandle<SyncEngine<T>>>
where
    T: deltacrdt::Reconcile
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (a, b, c) = (node::<T>(1), node::<T>(2), node::<T>(3));
    let addr_a = a.network().listen_tcp("127.0.0.1:0").await.unwrap();
    let addr_b = b.network().listen_tcp("127.0.0.1:0").await.unwrap();
    b.network().dial_tcp(addr_a.to_string());
    c.network().dial_tcp(addr_a.to_string());
    c.network().dial_tcp(addr_b.to_string());
    let nodes = vec![a.spawn(), b.spawn(), c.spawn()];
    // Until everyone is connected to everyone, "synced with all" would be premature.
    timeout(WAIT, async {
        while nodes
            .iter()
            .any(|n| n.progress().peers.iter().filter(|p| p.connected).count() < 2)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_through_handles_reach_every_node_and_their_streams_say_from_where() {
    let nodes = mesh::<Doc>().await;
    let mut streams: Vec<_> = nodes.iter().map(NodeHandle::changes).collect();
    let seq = nodes[1]
        .edit(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 2).unwrap())
        .await
        .unwrap();
    assert_eq!(seq, 1);
    timeout(WAIT, nodes[1].synced_all()).await.unwrap().unwrap();
    timeout(WAIT, nodes[1].synced(id(1)))
        .await
        .unwrap()
        .unwrap();

    // The editor's own stream says local; the others' say which peer it came from (2, or 1
    // or 3 relaying) and hold exactly the change.
    let local = streams[1].recv().await.unwrap();
    assert_eq!((local.origin, local.seq), (Origin::Local, 1));
    assert_eq!(local.delta.counter(&["likes"]), 2);
    for (i, stream) in streams.iter_mut().enumerate().filter(|(i, _)| *i != 1) {
        let change = timeout(WAIT, stream.recv()).await.unwrap().unwrap();
        assert!(
            matches!(change.origin, Origin::Remote(p) if p != id(i as u128 + 1)),
            "{:?}",
            change.origin
        );
        assert_eq!(change.delta.counter(&["likes"]), 2);
        assert!(
            change.delta.root().len() == 1,
            "the delta holds only the change"
        );
        assert_eq!(nodes[i].read(|d| d.counter(&["likes"])).await.unwrap(), 2);
    }
    // A fallible edit that fails changes nothing and tells nobody.
    let err = nodes[0]
        .update(|_, _| Err::<deltacrdt::Delta<Doc>, _>("refused by the app"))
        .await
        .unwrap_err();
    assert!(matches!(err, deltacrdt::UpdateError::Edit(_)), "{err}");
    assert!(streams[0].try_recv().unwrap().is_none());
    for n in nodes {
        let engine = n.shutdown().await.unwrap();
        assert_eq!(engine.state().counter(&["likes"]), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_map_syncs_through_spawned_nodes() {
    let nodes = mesh::<LwwMap<String, u64>>().await;
    for (i, n) in nodes.iter().enumerate() {
        n.edit(move |m, hlc| m.insert(format!("k{i}"), i as u64, hlc.now().unwrap()))
            .await
            .unwrap();
        n.edit(|m, hlc| m.insert("shared".to_owned(), 7, hlc.now().unwrap()))
            .await
            .unwrap();
    }
    for n in &nodes {
        timeout(WAIT, n.synced_all()).await.unwrap().unwrap();
    }
    let removed = nodes[2]
        .edit(|m, hlc| m.remove(&"k0".to_owned(), hlc.now().unwrap()))
        .await
        .unwrap();
    assert!(removed > 0);
    timeout(WAIT, nodes[2].synced_all()).await.unwrap().unwrap();
    let first = nodes[0].snapshot().await.unwrap();
    assert_eq!((first.len(), first.tombstones()), (3, 1));
    assert_eq!(first.get(&"shared".to_owned()), Some(&7));
    for n in &nodes[1..] {
        timeout(WAIT, async {
            while n.snapshot().await.unwrap() != first {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_of_a_stopped_node_says_so_and_never_panics() {
    let a = node::<Doc>(1).spawn();
    let other = a.clone();
    let mut stream = a.changes();
    a.edit(|doc, hlc| doc.increment(hlc.replica(), &["n"], 1).unwrap())
        .await
        .unwrap();
    let engine = a.shutdown().await.unwrap();
    assert_eq!(engine.state().counter(&["n"]), 1);
    assert!(matches!(
        other
            .edit(|doc, hlc| doc.increment(hlc.replica(), &["n"], 1).unwrap())
            .await,
        Err(NodeError::Stopped)
    ));
    assert!(matches!(other.snapshot().await, Err(NodeError::Stopped)));
    assert!(matches!(other.synced_all().await, Err(NodeError::Stopped)));
    assert!(matches!(
        other.clone().shutdown().await,
        Err(NodeError::Stopped)
    ));
    // The change made before the stop is still delivered, then the end.
    assert_eq!(stream.recv().await.unwrap().origin, Origin::Local);
    assert_eq!(stream.recv().await.unwrap_err(), ChangeError::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_told_how_much_it_missed() {
    let a = node::<Doc>(1).spawn();
    let mut stream = a.changes();
    let n = deltacrdt::CHANGE_BUFFER as u64 + 10;
    for _ in 0..n {
        a.edit(|doc, hlc| doc.increment(hlc.replica(), &["n"], 1).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(stream.recv().await.unwrap_err(), ChangeError::Missed(10));
    assert_eq!(
        stream.recv().await.unwrap().seq,
        11,
        "goes on with the oldest kept"
    );
    a.shutdown().await.unwrap();
}

/// Durable nodes on redb, restarted from their data directories with default settings: the
/// restarted one and its peer catch up without a full state, every time.
#[cfg(feature = "redb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_durable_nodes_send_no_full_state() {
    use deltacrdt::durable::{DurableConfig, DurableReplica, RedbStore};
    type Node = NodeHandle<DurableReplica<Doc, RedbStore>>;

    let root = std::env::temp_dir().join(format!("deltacrdt-node-handle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let open = |name: &str, n: u128| -> SyncNode<DurableReplica<Doc, RedbStore>> {
        let store = RedbStore::open_dir(root.join(name)).unwrap();
        let durable = DurableConfig {
            replica: Some(id(n)),
            ..DurableConfig::default()
        };
        let replica = DurableReplica::open(store, durable).unwrap();
        SyncNode::new(replica, network(n))
    };
    let a = open("a", 1);
    let addr = a.network().listen_tcp("127.0.0.1:0").await.unwrap();
    let a: Node = a.spawn();
    let start_b = || {
        let b = open("b", 2);
        b.network().dial_tcp(addr.to_string());
        b.spawn()
    };
    let mut b: Node = start_b();
    let runs = 20;
    for run in 0..runs {
        b.edit(move |doc, hlc| doc.increment(hlc.replica(), &["b"], 1).unwrap())
            .await
            .unwrap();
        a.edit(move |doc, hlc| {
            doc.insert(hlc.replica(), &["a"], i64::from(run).into())
                .unwrap()
        })
        .await
        .unwrap();
        timeout(WAIT, b.synced(id(1))).await.unwrap().unwrap();
        timeout(WAIT, a.synced(id(2))).await.unwrap().unwrap();
        let replica = b.shutdown().await.unwrap();
        drop(replica);
        b = start_b();
    }
    timeout(WAIT, b.synced(id(1))).await.unwrap().unwrap();
    let sa = a.stats().await.unwrap();
    let sb = b.stats().await.unwrap();
    assert_eq!(
        (sa.full_states.total(), sb.full_states.total()),
        (0, 0),
        "a restart sent full states"
    );
    assert_eq!(
        b.read(|d| d.counter(&["b"])).await.unwrap(),
        i64::from(runs)
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Profile {
    name: String,
    visits: deltacrdt::mapped::Counter,
    langs: std::collections::BTreeSet<String>,
}
deltacrdt::mapped_struct!(Profile {
    name,
    visits,
    langs
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_struct_round_trips_through_spawned_nodes() {
    let nodes = mesh::<Doc>().await;
    let first = Profile {
        name: "ada".into(),
        ..Profile::default()
    };
    nodes[0]
        .update(move |doc, hlc| doc.write(hlc, &["me"], &first))
        .await
        .unwrap();
    timeout(WAIT, nodes[0].synced_all()).await.unwrap().unwrap();
    // Every node reads, changes and writes back its own copy at once: the increments and the
    // added languages of all three survive.
    for (i, n) in nodes.iter().enumerate() {
        n.update(move |doc, hlc| {
            let mut p: Profile = doc.read(&["me"])?;
            p.visits.0 += 1;
            p.langs.insert(format!("lang {i}"));
            doc.write(hlc, &["me"], &p)
        })
        .await
        .unwrap();
    }
    for n in &nodes {
        timeout(WAIT, n.synced_all()).await.unwrap().unwrap();
    }
    let want = Profile {
        name: "ada".into(),
        visits: deltacrdt::mapped::Counter(3),
        langs: (0..3).map(|i| format!("lang {i}")).collect(),
    };
    for n in &nodes {
        timeout(WAIT, async {
            while n.read(|d| d.read::<Profile>(&["me"])).await.unwrap().ok() != Some(want.clone()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
    }
    // A write the document cannot hold is the app's error, and changes nothing.
    let err = nodes[1]
        .update(|doc, hlc| doc.write(hlc, &["me", "name"], &u64::MAX))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            deltacrdt::UpdateError::Edit(deltacrdt::MapError::Value { .. })
        ),
        "{err}"
    );
}
