//! Bad input from a peer or a file: decoding returns a typed error, never panics, never
//! overflows the stack, and never yields a value that breaks the crate's invariants.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use deltacrdt::{Doc, Hlc, Lattice, MAX_NESTING, OrSet, ReplicaId, Value};

fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// A document using every field kind, nested, with concurrent writes from two replicas.
fn sample_doc() -> Doc {
    let mut clock = Hlc::builder(r(1))
        .clock(|| 1_700_000_000_000u64)
        .build()
        .unwrap();
    let mut a = Doc::default();
    let mut b = Doc::default();
    let deltas = [
        a.increment(r(1), &["likes"], 3).unwrap(),
        a.insert(r(1), &["tags"], "x".into()).unwrap(),
        a.set(clock.now().unwrap(), &["task", "title"], "t".into())
            .unwrap(),
        b.insert(r(2), &["tags"], 7i64.into()).unwrap(),
        b.set_flag(r(2), &["task", "done"], true).unwrap(),
        b.remove_element(r(2), &["tags"], &7i64.into()).unwrap(),
    ];
    for d in deltas {
        a.apply(d);
    }
    a
}

fn nested_value(depth: usize) -> Value {
    (0..depth).fold(Value::Null, |inner, _| Value::List(vec![inner]))
}

#[test]
fn register_values_nested_past_the_limit_are_refused() {
    let depth = MAX_NESTING as usize;
    let stamp = Hlc::builder(r(1))
        .clock(|| 1u64)
        .build()
        .unwrap()
        .now()
        .unwrap();
    let mut ok = Doc::default();
    let _ = ok.set(stamp, &["v"], nested_value(depth - 2)).unwrap();
    let bytes = postcard::to_allocvec(&ok).unwrap();
    assert_eq!(postcard::from_bytes::<Doc>(&bytes).unwrap(), ok);

    let mut deep = Doc::default();
    let _ = deep.set(stamp, &["v"], nested_value(depth + 1)).unwrap();
    let bytes = postcard::to_allocvec(&deep).unwrap();
    assert!(postcard::from_bytes::<Doc>(&bytes).is_err());
}

#[test]
fn maps_nested_past_the_limit_are_refused() {
    let names: Vec<String> = (0..=MAX_NESTING).map(|i| format!("m{i}")).collect();
    let path: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut deep = Doc::default();
    let _ = deep.increment(r(1), &path, 1).unwrap();
    let bytes = postcard::to_allocvec(&deep).unwrap();
    assert!(postcard::from_bytes::<Doc>(&bytes).is_err());

    let mut ok = Doc::default();
    let _ = ok.increment(r(1), &path[..64], 1).unwrap();
    let bytes = postcard::to_allocvec(&ok).unwrap();
    assert_eq!(postcard::from_bytes::<Doc>(&bytes).unwrap(), ok);
}

#[test]
fn crafted_deep_nesting_does_not_overflow_the_stack() {
    // postcard bytes of `List([List([ … Null … ])])`, 200,000 levels deep: variant 2, length 1.
    let mut bytes = [2u8, 1].repeat(200_000);
    bytes.push(0);
    assert!(postcard::from_bytes::<Value>(&bytes).is_err());
    // The same refusal leaves the decoder usable: a shallow value still decodes.
    assert_eq!(postcard::from_bytes::<Value>(&[0]).unwrap(), Value::Null);
}

#[test]
fn every_truncation_of_a_document_is_an_error() {
    let doc = sample_doc();
    let bytes = postcard::to_allocvec(&doc).unwrap();
    for len in 0..bytes.len() {
        assert!(
            postcard::from_bytes::<Doc>(&bytes[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
}

#[test]
fn bit_flips_never_panic_and_what_decodes_is_valid() {
    let doc = sample_doc();
    let bytes = postcard::to_allocvec(&doc).unwrap();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok(decoded) = postcard::from_bytes::<Doc>(&flipped) {
            // Whatever decodes passed validation, so it behaves as a lattice element.
            decoded.validate().unwrap();
            assert_eq!(decoded.clone().joined(decoded.clone()), decoded);
            let _ = decoded.clone().joined(doc.clone());
        }
    }
}

fn or_set_json(ctx: &str, one: &str) -> Result<OrSet<u64>, serde_json::Error> {
    serde_json::from_str(&format!(
        r#"[{ctx}, {{"one": {one}, "many": [], "keyed": false}}]"#
    ))
}

#[test]
fn contexts_and_stores_are_validated_after_decoding() {
    let id = r(1).to_string();
    let ctx = format!(r#"[{{"id": "{id}", "max": 2, "cloud": []}}]"#);
    // Well formed: element 5 written by dot (replica 0, 2), which the context covers.
    assert!(or_set_json(&ctx, r#"[[5, {"actor": 0, "counter": 2}]]"#).is_ok());
    // A dot the context never saw.
    let err = or_set_json(&ctx, r#"[[5, {"actor": 0, "counter": 3}]]"#).unwrap_err();
    assert!(err.to_string().contains("does not cover"), "{err}");
    // A replica index beyond the table.
    let err = or_set_json(&ctx, r#"[[5, {"actor": 4, "counter": 1}]]"#).unwrap_err();
    assert!(err.to_string().contains("replica index 4"), "{err}");
    // The counter 0 is no event.
    assert!(or_set_json(&ctx, r#"[[5, {"actor": 0, "counter": 0}]]"#).is_err());
    // The same element twice.
    let twice = r#"[[5, {"actor": 0, "counter": 1}], [5, {"actor": 0, "counter": 2}]]"#;
    assert!(or_set_json(&ctx, twice).is_err());
    // A replica listed twice, and a cloud that is not strictly above the version vector.
    let dup = format!(
        r#"[{{"id": "{id}", "max": 1, "cloud": []}}, {{"id": "{id}", "max": 1, "cloud": []}}]"#
    );
    assert!(
        or_set_json(&dup, "[]")
            .unwrap_err()
            .to_string()
            .contains("twice")
    );
    let cloud = format!(r#"[{{"id": "{id}", "max": 1, "cloud": [2]}}]"#);
    assert!(
        or_set_json(&cloud, "[]")
            .unwrap_err()
            .to_string()
            .contains("cloud")
    );
}

#[test]
fn decoded_deltas_are_joined_by_the_full_scan() {
    // A remove whose hint was dropped (or a peer lying about it) must still remove: decoding
    // never trusts a value to list every key its context covers.
    let a = r(1);
    let mut x: OrSet<u8> = OrSet::default();
    let add = x.insert(a, 5);
    let ctx = format!(r#"[{{"id": "{a}", "max": 1, "cloud": []}}]"#);
    let bare: OrSet<u8> =
        serde_json::from_str(&format!(r#"[{ctx}, {{"one": [], "many": []}}]"#)).unwrap();
    let add_then_remove = x.clone().joined(bare.clone());
    let mut remove_then_add = OrSet::default();
    remove_then_add.join(bare);
    remove_then_add.apply(add);
    assert_eq!(add_then_remove, remove_then_add);
    assert!(!add_then_remove.contains(&5));

    // An honest remove delta, shipped and decoded, behaves exactly like the original.
    let mut y = x.clone();
    let rm = y.remove(&5);
    let bytes = postcard::to_allocvec(&*rm).unwrap();
    let decoded: OrSet<u8> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(x.clone().joined(decoded), x.joined(rm.into_inner()));
}

#[test]
fn empty_entries_and_misplaced_kinds_are_refused() {
    let id = r(1).to_string();
    let ctx = format!(r#"[{{"id": "{id}", "max": 2, "cloud": []}}]"#);
    // A set element with no dot.
    assert!(or_set_json(&ctx, "[]").is_ok());
    let empty = format!(r#"[{ctx}, {{"one": [], "many": [[8, []]]}}]"#);
    assert!(serde_json::from_str::<OrSet<u64>>(&empty).is_err());
    // A map entry whose set holds nothing.
    let map = format!(
        r#"[{ctx}, [[1, {{"one": [[7, {{"actor": 0, "counter": 1}}]], "many": []}}], [2, {{"one": [], "many": [[8, []]]}}]]]"#
    );
    assert!(serde_json::from_str::<deltacrdt::OrMap<u8, OrSet<u8>>>(&map).is_err());
    // A set stored under a counter's key.
    let doc = format!(
        r#"[{ctx}, [[{{"name": "c", "kind": "Counter"}}, {{"Set": {{"one": [[{{"Int": 1}}, {{"actor": 0, "counter": 1}}]], "many": []}}}}]]]"#
    );
    let err = serde_json::from_str::<Doc>(&doc).unwrap_err();
    assert!(err.to_string().contains("kind"), "{err}");
}

#[test]
fn counters_near_the_end_of_u64_are_refused() {
    let id = r(1).to_string();
    for max in [
        u64::MAX,
        u64::MAX - 1,
        deltacrdt::CausalContext::MAX_COUNTER + 1,
    ] {
        let ctx = format!(r#"[{{"id": "{id}", "max": {max}, "cloud": []}}]"#);
        assert!(or_set_json(&ctx, "[]").is_err(), "max {max} accepted");
    }
    let ctx = format!(r#"[{{"id": "{id}", "max": 1, "cloud": [{}]}}]"#, u64::MAX);
    assert!(or_set_json(&ctx, "[]").is_err());
    // Nor can a caller plant one: inserting it is ignored, so issued dots stay fresh.
    let mut seen = deltacrdt::CausalContext::default();
    seen.insert(deltacrdt::Dot::new(r(1), u64::MAX));
    assert_eq!(seen.next_dot(r(1)).counter, 1);
}
