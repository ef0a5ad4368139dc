//! The stored layout of a feed object: one standard gzip member, built from deflate segments
//! that can be reused from one write to the next.
//!
//! praktika writes a feed as `gzip.compress(json.dumps(feed))` (level 9) and reads it with
//! `gzip.decompress`. Pulse must store an object no bigger than about that (BENCHMARKS.md) while
//! rewriting a 500-event feed in well under a millisecond, so it never recompresses what did
//! not change. The rules (measured in BENCHMARKS.md, "feed layout"):
//!
//! - **Segments.** The JSON `{"events":[e₀,e₁,…]}` is cut into segments of consecutive events.
//!   A segment ends after an event whose identity hash is 0 modulo [`AVERAGE_EVENTS`], or at
//!   [`MAX_EVENTS`]: the cut depends on the events themselves, not on their positions, so a new
//!   event at the head or an old one trimmed at the tail leaves the other segments intact.
//!   The first segment starts with `{"events":[`, the others with `,`; the closing `]}` is the
//!   final block.
//! - **One deflate stream.** Each segment is raw deflate at level 9 ending with a sync flush
//!   (byte-aligned, not final); their concatenation plus the final block is one deflate stream,
//!   in one gzip member whose CRC-32 is combined from the segments'. Any gzip reader reads it as
//!   the plain JSON document it is.
//! - **Primed segments.** Every segment but the first two is compressed with the preceding
//!   segment's text as its dictionary: the decoder has exactly those bytes in its window, and the
//!   segment compresses nearly as well as one long stream would. A primed segment is reused only
//!   after the same preceding text; the first two never are primed, so the head segment, which
//!   changes on almost every write, never invalidates its successor.
//! - **An index in the header.** The gzip header's extra field (subfield `Pf`, which gzip
//!   readers skip) lists each segment's event count, lengths and CRC, so a worker that has not
//!   seen the feed yet can reuse the segments of the object it reads. Anything that does not
//!   check out (another writer, another layout version) just means compressing from scratch.

use std::collections::HashMap;
use std::sync::Arc;

use flate2::{Compress, Compression, FlushCompress, Status as DeflateStatus};

/// Events per segment on average.
pub const AVERAGE_EVENTS: u64 = 8;
/// No segment holds more events than this.
pub const MAX_EVENTS: usize = 32;
/// The deflate window: a dictionary longer than this is useless.
const WINDOW: usize = 32 * 1024;
/// Changes whenever the bytes a segment holds for the same events could change.
const LAYOUT_VERSION: u8 = 1;
const SUBFIELD: [u8; 2] = *b"Pf";
const HEAD: &[u8] = br#"{"events":["#;
const TAIL: &[u8] = b"]}";

/// One event as the layout sees it.
pub struct Entry<'a> {
    /// Where the segment cuts fall: a hash of what makes the event the same event.
    pub identity: u64,
    /// A hash of everything that decides the event's bytes (identity and the fields a merge
    /// may change); equal fingerprints mean equal bytes.
    pub fingerprint: u64,
    /// Writes the event's JSON (no separator).
    pub write: &'a dyn Fn(&mut Vec<u8>) -> Result<(), serde_json::Error>,
}

/// A compressed segment kept for the next write.
#[derive(Debug, Clone)]
pub struct Segment {
    fingerprints: Vec<u64>,
    identities: Vec<u64>,
    text: Arc<[u8]>,
    deflate: Arc<[u8]>,
    crc: u32,
    /// Whether it is the first segment (its text starts with `{"events":[`, the others' with `,`).
    first: bool,
    /// The CRC and length of the text this segment was primed with, if any.
    primed_by: Option<(u32, usize)>,
}

/// The segments of the last write (or read), by the fingerprints of their events.
#[derive(Debug, Clone, Default)]
pub struct Segments {
    by_events: HashMap<Vec<u64>, Segment>,
}

impl Segments {
    /// Forget every segment holding an event with this identity (its bytes may have changed
    /// without its fingerprint changing, e.g. a rerun reported at the same second).
    pub fn forget(&mut self, identity: u64) {
        self.by_events.retain(|_, s| !s.identities.contains(&identity));
    }

    pub fn clear(&mut self) {
        self.by_events.clear();
    }

    pub fn len(&self) -> usize {
        self.by_events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_events.is_empty()
    }
}

/// How many segments one [`encode`] compressed and how many it reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncodeStats {
    pub compressed: usize,
    pub reused: usize,
}

/// Writes `entries` (in feed order) as one gzip member, reusing what `cache` holds and leaving
/// in it the segments of this write.
pub fn encode(entries: &[Entry<'_>], cache: &mut Segments) -> Result<(Vec<u8>, EncodeStats), serde_json::Error> {
    let mut stats = EncodeStats::default();
    let mut segments: Vec<Segment> = Vec::new();
    for (index, range) in cuts(entries).into_iter().enumerate() {
        let fingerprints: Vec<u64> = entries[range.clone()].iter().map(|e| e.fingerprint).collect();
        let identities: Vec<u64> = entries[range.clone()].iter().map(|e| e.identity).collect();
        let primed_by = (index >= 2).then(|| segments.last().map(|p: &Segment| (p.crc, p.text.len()))).flatten();
        let reusable = cache.by_events.remove(&fingerprints).filter(|s| s.primed_by == primed_by && s.first == (index == 0));
        let segment = match reusable {
            Some(segment) => {
                stats.reused += 1;
                segment
            }
            None => {
                stats.compressed += 1;
                let mut text = Vec::with_capacity(range.len() * 4096);
                text.extend_from_slice(if index == 0 { HEAD } else { b"," });
                for (i, entry) in entries[range].iter().enumerate() {
                    if i > 0 {
                        text.push(b',');
                    }
                    (entry.write)(&mut text)?;
                }
                let dictionary = primed_by.and(segments.last()).map(|p| window_of(&p.text));
                let deflate = deflate(&text, dictionary, false);
                Segment {
                    fingerprints,
                    identities,
                    crc: crc32(&text),
                    first: index == 0,
                    text: text.into(),
                    deflate: deflate.into(),
                    primed_by,
                }
            }
        };
        segments.push(segment);
    }
    let tail: &[u8] = if segments.is_empty() { br#"{"events":[]}"# } else { TAIL };
    let out = assemble(&segments, tail);
    cache.by_events = segments.into_iter().map(|s| (s.fingerprints.clone(), s)).collect();
    Ok((out, stats))
}

/// Where the segments of `entries` begin and end.
fn cuts(entries: &[Entry<'_>]) -> Vec<std::ops::Range<usize>> {
    let mut cuts = Vec::with_capacity(entries.len() / AVERAGE_EVENTS as usize + 1);
    let mut start = 0;
    for (i, entry) in entries.iter().enumerate() {
        if entry.identity % AVERAGE_EVENTS == 0 || i + 1 - start == MAX_EVENTS {
            cuts.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < entries.len() {
        cuts.push(start..entries.len());
    }
    cuts
}

fn window_of(text: &[u8]) -> &[u8] {
    &text[text.len().saturating_sub(WINDOW)..]
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(bytes);
    h.finalize()
}

/// Raw deflate at level 9; a sync flush at the end, or the final block when `last`.
fn deflate(text: &[u8], dictionary: Option<&[u8]>, last: bool) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    if let Some(dictionary) = dictionary {
        c.set_dictionary(dictionary).expect("a raw deflate stream accepts a dictionary before any input");
    }
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Sync };
    let mut out = Vec::with_capacity(text.len() / 4 + 64);
    loop {
        let consumed = c.total_in() as usize;
        let status = c.compress_vec(&text[consumed..], &mut out, flush).expect("deflating into a Vec cannot fail");
        let done =
            if last { status == DeflateStatus::StreamEnd } else { c.total_in() as usize == text.len() && out.len() < out.capacity() };
        if done {
            return out;
        }
        out.reserve(out.capacity().max(1024));
    }
}

/// The gzip member: header with the segment index, the segments, the final block, the trailer.
fn assemble(segments: &[Segment], tail: &[u8]) -> Vec<u8> {
    let mut index = vec![LAYOUT_VERSION];
    for s in segments {
        index.extend_from_slice(&(s.fingerprints.len() as u32).to_le_bytes());
        index.extend_from_slice(&(s.text.len() as u32).to_le_bytes());
        index.extend_from_slice(&(s.deflate.len() as u32).to_le_bytes());
        index.extend_from_slice(&s.crc.to_le_bytes());
        index.push(u8::from(s.primed_by.is_some()));
    }
    // An index too long for the extra field is left out: the object stays valid.
    let with_index = index.len() + 4 <= usize::from(u16::MAX);
    let final_block = deflate(tail, None, true);
    let body: usize = segments.iter().map(|s| s.deflate.len()).sum();
    let mut out = Vec::with_capacity(body + index.len() + final_block.len() + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 8, if with_index { 4 } else { 0 }, 0, 0, 0, 0, 2, 0xff]);
    if with_index {
        out.extend_from_slice(&((index.len() + 4) as u16).to_le_bytes());
        out.extend_from_slice(&SUBFIELD);
        out.extend_from_slice(&(index.len() as u16).to_le_bytes());
        out.extend_from_slice(&index);
    }
    let mut crc = crc32fast::Hasher::new();
    let mut size: u64 = 0;
    for s in segments {
        out.extend_from_slice(&s.deflate);
        crc.combine(&crc32fast::Hasher::new_with_initial_len(s.crc, s.text.len() as u64));
        size += s.text.len() as u64;
    }
    out.extend_from_slice(&final_block);
    crc.update(tail);
    size += tail.len() as u64;
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out
}

/// One segment as the index of a stored object describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Indexed {
    events: usize,
    text_len: usize,
    deflate_len: usize,
    crc: u32,
    primed: bool,
}

/// Reads the segment index of a stored object, if it has one this version wrote. Returns the
/// segments and where the deflate stream starts.
fn read_index(object: &[u8]) -> Option<(Vec<Indexed>, usize)> {
    let header = object.get(..10)?;
    if header[..3] != [0x1f, 0x8b, 8] || header[3] != 4 {
        return None;
    }
    let xlen = usize::from(u16::from_le_bytes([*object.get(10)?, *object.get(11)?]));
    let extra = object.get(12..12 + xlen)?;
    let (id, rest) = extra.split_at_checked(2)?;
    let (len, index) = rest.split_at_checked(2)?;
    if id != SUBFIELD || usize::from(u16::from_le_bytes([len[0], len[1]])) != index.len() {
        return None;
    }
    let (&version, entries) = index.split_first()?;
    if version != LAYOUT_VERSION || entries.len() % 17 != 0 {
        return None;
    }
    let word = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let segments = entries
        .chunks_exact(17)
        .map(|e| Indexed {
            events: word(e, 0) as usize,
            text_len: word(e, 4) as usize,
            deflate_len: word(e, 8) as usize,
            crc: word(e, 12),
            primed: e[16] == 1,
        })
        .collect();
    Some((segments, 12 + xlen))
}

/// The segments of a stored object whose decompressed text is `text` and whose events have
/// these `(identity, fingerprint)`s, in order: what a worker that just read the object can
/// reuse. Empty unless every segment checks out against the text (lengths, CRCs, event counts).
pub fn recover(object: &[u8], text: &[u8], events: &[(u64, u64)]) -> Segments {
    let Some((index, mut at)) = read_index(object) else { return Segments::default() };
    let mut segments: Vec<Segment> = Vec::with_capacity(index.len());
    let (mut text_at, mut event_at) = (0, 0);
    for (i, s) in index.iter().enumerate() {
        let (Some(seg_text), Some(deflate), Some(fps)) =
            (text.get(text_at..text_at + s.text_len), object.get(at..at + s.deflate_len), events.get(event_at..event_at + s.events))
        else {
            return Segments::default();
        };
        let primed_by = segments.last().filter(|_| s.primed).map(|p| (p.crc, p.text.len()));
        if crc32(seg_text) != s.crc || s.primed != (i >= 2) || s.events == 0 {
            return Segments::default();
        }
        segments.push(Segment {
            fingerprints: fps.iter().map(|&(_, f)| f).collect(),
            identities: fps.iter().map(|&(i, _)| i).collect(),
            text: seg_text.into(),
            deflate: deflate.into(),
            crc: s.crc,
            first: i == 0,
            primed_by,
        });
        (text_at, event_at, at) = (text_at + s.text_len, event_at + s.events, at + s.deflate_len);
    }
    if event_at != events.len() || text.get(text_at..) != Some(TAIL) {
        return Segments::default();
    }
    Segments { by_events: segments.into_iter().map(|s| (s.fingerprints.clone(), s)).collect() }
}

#[cfg(test)]
mod tests;
