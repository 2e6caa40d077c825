//! Property tests: no parser panics on any input, the frame reader's output
//! does not depend on how the stream is chunked, valid streams come out whole
//! and in order, and built packets parse back to themselves.
#![allow(clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, TimeZone};
use mashangban_hj212::frame::MAX_DATA_LEN;
use mashangban_hj212::time::china;
use mashangban_hj212::{
    Command, Cp, DataFlag, Error, Frame, FrameReader, Packet, PacketFlag, Pollutant, Qn, Split, SystemCode,
    decode_frame, encode_frame,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn time() -> impl Strategy<Value = DateTime<chrono::FixedOffset>> {
    (946_684_800i64..4_102_444_800).prop_map(|s| china().timestamp_opt(s, 0).unwrap())
}

fn number() -> impl Strategy<Value = f64> {
    (-1_000_000_000i64..1_000_000_000, 0u32..6).prop_map(|(n, k)| n as f64 / 10f64.powi(k as i32))
}

fn flag() -> impl Strategy<Value = DataFlag> {
    prop::sample::select(vec![
        DataFlag::Normal,
        DataFlag::Stopped,
        DataFlag::Maintenance,
        DataFlag::Manual,
        DataFlag::Fault,
        DataFlag::Calibration,
        DataFlag::OverRange,
        DataFlag::CommunicationFault,
        DataFlag::Other('Z'),
    ])
}

fn pollutant(code: String) -> impl Strategy<Value = Pollutant> {
    (
        vec(prop::option::of(number()), 9),
        prop::option::of(flag()),
        prop::option::of(time()),
        prop::option::of("[A-Za-z0-9]{1,8}"),
        vec(("(RS|RT|Info|SN)", "[A-Za-z0-9.]{0,8}"), 0..2),
    )
        .prop_map(move |(n, flag, sample_time, eflag, extra)| {
            let mut extra = extra;
            extra.dedup_by(|a, b| a.0 == b.0);
            let mut p = Pollutant {
                code: code.clone(),
                rtd: n[0],
                avg: n[1],
                min: n[2],
                max: n[3],
                cou: n[4],
                zs_rtd: n[5],
                zs_avg: n[6],
                zs_min: n[7],
                zs_max: n[8],
                flag,
                eflag,
                sample_time,
                extra,
            };
            if p.rtd.is_none() && p.flag.is_none() && p.sample_time.is_none() && p.extra.is_empty() && p.eflag.is_none()
            {
                p.rtd = Some(0.0);
            }
            p
        })
}

fn cp() -> impl Strategy<Value = Cp> {
    let codes = prop::collection::btree_set("[a-z][0-9]{5}", 0..6);
    let params = prop::collection::btree_map("[A-Z][A-Za-z0-9]{0,9}", "[A-Za-z0-9.:]{0,12}", 0..4);
    (prop::option::of(time()), params, codes).prop_flat_map(|(data_time, params, codes)| {
        let pollutants: Vec<_> = codes.into_iter().map(pollutant).collect();
        let params: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "DataTime").collect();
        pollutants.prop_map(move |pollutants| Cp { data_time, pollutants, params: params.clone() })
    })
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        prop::option::of(time()),
        prop::sample::select(vec!["21", "31", "32", "91", "A9"]),
        prop::sample::select(vec![2011u16, 2051, 2061, 2031, 1012, 9014, 4321]),
        "[A-Za-z0-9]{1,6}",
        "[A-Za-z0-9_-]{1,24}",
        prop::option::of(any::<u8>()),
        (1u16..=9999, 1u16..=9999),
        cp(),
    )
        .prop_map(|(qn, st, cn, pw, mn, flag, (a, b), cp)| Packet {
            qn: qn.map(|t| Qn::from_time(&t)),
            st: SystemCode::parse(st).unwrap(),
            cn: Command::from_code(cn),
            pw,
            mn,
            flag: flag.map(PacketFlag),
            split: flag.filter(|f| f & PacketFlag::SPLIT != 0).map(|_| Split { total: a.max(b), number: a.min(b) }),
            cp,
        })
}

/// Feeds `bytes` cut at `cuts` (positions, any order) and then finishes.
fn read_in_chunks(bytes: &[u8], cuts: &[usize]) -> (Vec<Result<Frame, Error>>, usize) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut reader = FrameReader::new();
    let mut out = Vec::new();
    let mut max_buffered = 0;
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        out.extend(reader.feed(&bytes[from..cut]));
        max_buffered = max_buffered.max(reader.buffered());
        from = cut;
    }
    out.extend(reader.finish().into_iter().map(Err));
    (out, max_buffered)
}

/// Bytes that look like HJ 212 traffic: frames, fragments, `#` runs and noise.
fn streamish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        packet().prop_map(|p| p.to_frame().unwrap_or_default()),
        packet().prop_map(|p| {
            let f = p.to_frame().unwrap_or_default();
            f[..f.len() / 2].to_vec()
        }),
        vec(any::<u8>(), 0..40),
        Just(b"##".to_vec()),
        Just(b"#".to_vec()),
        Just(b"\r\n".to_vec()),
        "##[0-9]{4}".prop_map(String::into_bytes),
    ];
    vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(bytes in vec(any::<u8>(), 0..4000), cuts in vec(any::<usize>(), 0..20)) {
        let (out, max_buffered) = read_in_chunks(&bytes, &cuts);
        prop_assert!(max_buffered <= MAX_DATA_LEN + 11);
        for frame in out.into_iter().flatten() {
            let _ = frame.packet();
        }
        let _ = decode_frame(&bytes);
        let _ = Packet::parse_bytes(&bytes);
    }

    #[test]
    fn output_does_not_depend_on_chunking(bytes in streamish(), cuts in vec(any::<usize>(), 0..30)) {
        let (whole, _) = read_in_chunks(&bytes, &[]);
        let (chunked, _) = read_in_chunks(&bytes, &cuts);
        prop_assert_eq!(whole, chunked);
        let (bytewise, _) = read_in_chunks(&bytes, &(0..bytes.len()).collect::<Vec<_>>());
        let (whole_again, _) = read_in_chunks(&bytes, &[]);
        prop_assert_eq!(bytewise, whole_again);
    }

    #[test]
    fn valid_streams_come_out_whole_and_in_order(packets in vec(packet(), 0..8), cuts in vec(any::<usize>(), 0..30)) {
        let frames: Vec<Vec<u8>> = packets.iter().map(|p| p.to_frame().unwrap()).collect();
        let (out, _) = read_in_chunks(&frames.concat(), &cuts);
        prop_assert_eq!(out.len(), packets.len());
        for (item, packet) in out.into_iter().zip(&packets) {
            let frame = item.unwrap();
            prop_assert_eq!(&frame.packet().unwrap(), packet);
        }
    }

    #[test]
    fn frames_survive_noise_between_them(
        packets in vec(packet(), 1..6),
        noise in vec(vec(any::<u8>().prop_filter("no #", |b| *b != b'#'), 0..50), 6),
        cuts in vec(any::<usize>(), 0..20),
    ) {
        let mut stream = Vec::new();
        for (p, n) in packets.iter().zip(&noise) {
            stream.extend_from_slice(n);
            stream.extend_from_slice(&p.to_frame().unwrap());
        }
        let (out, _) = read_in_chunks(&stream, &cuts);
        let frames: Vec<Packet> = out.iter().filter_map(|r| r.as_ref().ok()).map(|f| f.packet().unwrap()).collect();
        prop_assert_eq!(&frames, &packets);
        prop_assert!(out.iter().filter_map(|r| r.as_ref().err()).all(|e| e.code() == "garbage"));
    }

    #[test]
    fn built_packets_parse_back(p in packet()) {
        let segment = p.to_segment().unwrap();
        prop_assert_eq!(Packet::parse(&segment).unwrap(), p.clone());
        let frame = encode_frame(segment.as_bytes()).unwrap();
        prop_assert_eq!(decode_frame(&frame).unwrap().packet().unwrap(), p);
    }

    #[test]
    fn mutated_segments_never_panic_and_reparse_stably(
        p in packet(),
        edits in vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = p.to_segment().unwrap().into_bytes();
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        if let Ok(parsed) = Packet::parse_bytes(&bytes)
            && let Ok(again) = parsed.to_segment()
        {
            prop_assert_eq!(Packet::parse(&again).unwrap(), parsed);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}", cp_body in "[A-Za-z0-9=;,.&-]{0,200}") {
        let _ = Packet::parse(&text);
        let _ = Cp::parse(&cp_body);
        let _ = Packet::parse(&format!("ST=32;CN=2011;PW=1;MN=M;CP=&&{cp_body}&&"));
    }
}
