use std::io::Read;

use flate2::read::MultiGzDecoder;

use super::*;

type Writer = Box<dyn Fn(&mut Vec<u8>) -> Result<(), serde_json::Error>>;

/// A fake feed: event `(n, v)` writes `{"n":n,"v":v,"pad":…}`; identity from `n`, fingerprint
/// from `(n, v)`.
fn entries(events: &[(u64, u64)]) -> Vec<(u64, u64, Writer)> {
    events
        .iter()
        .map(|&(n, v)| {
            let write: Writer = Box::new(move |out: &mut Vec<u8>| serde_json::to_writer(out, &body(n, v)));
            (n.wrapping_mul(0x9e37_79b9_7f4a_7c15), n * 1000 + v, write)
        })
        .collect()
}

fn body(n: u64, v: u64) -> serde_json::Value {
    serde_json::json!({"n": n, "v": v, "pad": format!("{} {}", "x".repeat(150), n % 7)})
}

fn write(events: &[(u64, u64)], cache: &mut Segments) -> (Vec<u8>, EncodeStats) {
    let owned = entries(events);
    let list: Vec<Entry<'_>> = owned.iter().map(|(i, f, w)| Entry { identity: *i, fingerprint: *f, write: w.as_ref() }).collect();
    encode(&list, cache).unwrap()
}

fn gunzip(bytes: &[u8]) -> serde_json::Value {
    let mut text = Vec::new();
    MultiGzDecoder::new(bytes).read_to_end(&mut text).unwrap();
    // One member: a reader that stops after the first member sees it all too.
    let mut first = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut first).unwrap();
    assert_eq!(first, text, "the object is one gzip member");
    serde_json::from_slice(&text).unwrap()
}

fn expected(events: &[(u64, u64)]) -> serde_json::Value {
    serde_json::json!({"events": events.iter().map(|&(n, v)| body(n, v)).collect::<Vec<_>>()})
}

#[test]
fn an_empty_feed_is_a_valid_object() {
    let (bytes, _) = write(&[], &mut Segments::default());
    assert_eq!(gunzip(&bytes), serde_json::json!({"events": []}));
}

#[test]
fn a_new_head_event_recompresses_little_and_everything_reads_back() {
    let mut events: Vec<(u64, u64)> = (0..200).rev().map(|n| (n, 0)).collect();
    let mut cache = Segments::default();
    let (bytes, first) = write(&events, &mut cache);
    assert_eq!(gunzip(&bytes), expected(&events));
    assert_eq!(first.reused, 0);
    events.insert(0, (200, 0));
    let (bytes, second) = write(&events, &mut cache);
    assert_eq!(gunzip(&bytes), expected(&events));
    // The head segment; and when the new event closes a segment of its own, the old head
    // (its `{"events":[` becomes `,`) and the segment primed by it.
    assert!(second.compressed <= 3, "{second:?}");
    assert!(second.reused + 3 >= first.compressed, "{first:?} then {second:?}");
}

#[test]
fn a_changed_event_in_the_middle_and_a_trimmed_tail_keep_the_rest() {
    let mut events: Vec<(u64, u64)> = (0..200).rev().map(|n| (n, 0)).collect();
    let mut cache = Segments::default();
    let (_, first) = write(&events, &mut cache);
    events[100].1 = 1; // e.g. marked merged
    events.truncate(190); // retention
    let (bytes, second) = write(&events, &mut cache);
    assert_eq!(gunzip(&bytes), expected(&events));
    assert!(second.compressed <= 5, "{second:?}");
    assert!(second.reused + 5 >= first.compressed, "{first:?} then {second:?}");
}

#[test]
fn a_cold_reader_recovers_the_segments_of_an_object_it_did_not_write() {
    let events: Vec<(u64, u64)> = (0..120).rev().map(|n| (n, 0)).collect();
    let (bytes, written) = write(&events, &mut Segments::default());
    let mut text = Vec::new();
    MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text).unwrap();
    let ids: Vec<(u64, u64)> = entries(&events).iter().map(|(i, f, _)| (*i, *f)).collect();
    let mut cache = recover(&bytes, &text, &ids);
    assert_eq!(cache.len(), written.compressed);
    let mut next = events.clone();
    next.insert(0, (500, 0));
    let (again, stats) = write(&next, &mut cache);
    assert_eq!(gunzip(&again), expected(&next));
    assert!(stats.compressed <= 3, "{stats:?}");
}

#[test]
fn an_index_that_does_not_match_is_ignored() {
    let events: Vec<(u64, u64)> = (0..50).map(|n| (n, 0)).collect();
    let (bytes, _) = write(&events, &mut Segments::default());
    let mut text = Vec::new();
    MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text).unwrap();
    let ids: Vec<(u64, u64)> = entries(&events).iter().map(|(i, f, _)| (*i, *f)).collect();
    assert!(!recover(&bytes, &text, &ids).is_empty());
    assert!(recover(&bytes, &text, &ids[1..]).is_empty(), "event counts differ");
    let mut other = text.clone();
    other[20] ^= 1;
    assert!(recover(&bytes, &other, &ids).is_empty(), "text differs from the CRCs");
    let plain = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&text).unwrap();
        e.finish().unwrap()
    };
    assert!(recover(&plain, &text, &ids).is_empty(), "an object praktika wrote has no index");
}
