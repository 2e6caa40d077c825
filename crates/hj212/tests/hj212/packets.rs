//! Packets written by hand from the standard's examples and from published
//! device traffic, round trips, the answers, and every error code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use mashangban_hj212::answer::{
    ExecutionResult, RequestReturn, execution_result, execution_result_of, request_answer, request_return_of,
};
use mashangban_hj212::error::CODES;
use mashangban_hj212::{
    Command, DataFlag, DataKind, Error, FrameReader, Packet, PacketFlag, Pollutant, Qn, Split, SystemCode, answer_for,
    decode_frame, encode_frame, time::parse_time,
};

/// HJ 212-2017 Appendix A: the platform sets the real-time data interval to 30 s.
const APPENDIX_A: &str = "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

fn packet_of(frame: &str) -> Packet {
    decode_frame(frame.as_bytes()).unwrap().packet().unwrap()
}

#[test]
fn appendix_a_example() {
    let p = packet_of(APPENDIX_A);
    assert_eq!(p.qn.as_ref().map(Qn::as_str), Some("20160801085857223"));
    assert_eq!(p.st, SystemCode::WATER_POLLUTION_SOURCE);
    assert_eq!(p.cn, Command::SetRealTimeInterval);
    assert_eq!((p.pw.as_str(), p.mn.as_str()), ("100000", "010000A8900016F000169DC0"));
    let flag = p.flag.unwrap();
    assert_eq!((flag.version(), flag.needs_answer(), flag.is_split()), (1, true, false));
    assert_eq!(p.cp.param("RtdInterval"), Some("30"));
    assert_eq!(p.to_frame().unwrap(), APPENDIX_A.as_bytes(), "building gives the same bytes back");
}

#[test]
fn real_time_upload_with_sample_times() {
    // Published with CRC 6E80 (a forum post on the HJ 212 CRC); framed here by hand.
    let segment = "QN=20210320163101890;ST=32;CN=2011;PW=123456;MN=81733553213013;Flag=4;CP=&&DataTime=20210320013400;w00000-Rtd=181.682,w00000-Flag=N;w21001-SampleTime=20210320005400,w21001-Rtd=45.160,w21001-Flag=N;w21011-SampleTime=20210320013400,w21011-Rtd=1.970,w21011-Flag=N;w21003-SampleTime=20210320013400,w21003-Rtd=53.131,w21003-Flag=N;w01018-SampleTime=20210320013400,w01018-Rtd=194.200,w01018-Flag=N;w01001-SampleTime=20210320013406,w01001-Rtd=7.496,w01001-Flag=N&&";
    let frame = format!("##{:04}{segment}6E80\r\n", segment.len());
    let p = packet_of(&frame);
    assert!(!p.needs_answer());
    assert_eq!(answer_for(&p), None);
    let readings = p.readings().unwrap();
    assert_eq!(readings.kind, DataKind::RealTime);
    assert_eq!(readings.data_time.to_rfc3339(), "2021-03-20T01:34:00+08:00");
    let codes: Vec<&str> = readings.pollutants.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["w00000", "w21001", "w21011", "w21003", "w01018", "w01001"]);
    let ph = p.cp.pollutant("w01001").unwrap();
    assert_eq!(ph.rtd, Some(7.496));
    assert_eq!(ph.sample_time.unwrap().to_rfc3339(), "2021-03-20T01:34:06+08:00");
    assert_eq!(ph.flag, Some(DataFlag::Normal));
}

#[test]
fn hj_t_212_2005_upload_without_qn_or_flag() {
    // xiaoyao9184/hj-t212-parser's test packet: no QN, no Flag, DataTime with milliseconds, 2005 codes.
    let p = packet_of(
        "##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980\r\n",
    );
    assert_eq!((p.qn.clone(), p.flag), (None, None));
    assert!(!p.needs_answer());
    let r = p.readings().unwrap();
    assert_eq!(r.data_time.to_rfc3339(), "2016-08-24T00:38:17+08:00");
    assert_eq!(p.cp.pollutant("011").unwrap().rtd, Some(231.0));
    assert_eq!(p.cp.pollutant("B01").unwrap().flag, None);
}

#[test]
fn the_standards_noise_example_with_a_space() {
    // The standard's example as hutool's CRC test quotes it (CRC 1E00): a space before `LA-Rtd`.
    let segment = "QN=20160801085857223;ST=23;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857; LA-Rtd=50.1&&";
    let p = packet_of(&format!("##{:04}{segment}1E00\r\n", segment.len()));
    assert_eq!(p.cp.pollutant("LA").unwrap().rtd, Some(50.1));
    assert_eq!(p.st.as_str(), "23");
}

fn minute_upload(answer: bool) -> Packet {
    let t = parse_time("DataTime", "20240315102900").unwrap();
    let mut cod = Pollutant::new("w01018");
    (cod.min, cod.avg, cod.max, cod.cou, cod.flag) =
        (Some(38.2), Some(41.5), Some(44.0), Some(1.25), Some(DataFlag::Normal));
    let mut nh3 = Pollutant::new("w21003");
    (nh3.min, nh3.avg, nh3.max, nh3.flag) = (Some(0.5), Some(0.62), Some(0.71), Some(DataFlag::Calibration));
    let mut p =
        Packet::new(SystemCode::WATER_POLLUTION_SOURCE, Command::MinuteData, "123456", "MSB00000000000000000001");
    p.qn = Some(Qn::parse("20240315103000123").unwrap());
    p.flag = Some(PacketFlag::new(PacketFlag::VERSION_2017, answer, false));
    p.cp.data_time = Some(t);
    p.cp.pollutants = vec![cod, nh3];
    p
}

#[test]
fn minute_data_builds_parses_and_is_answered() {
    let p = minute_upload(true);
    let segment = p.to_segment().unwrap();
    assert_eq!(
        segment,
        "QN=20240315103000123;ST=32;CN=2051;PW=123456;MN=MSB00000000000000000001;Flag=5;CP=&&DataTime=20240315102900;w01018-Min=38.2,w01018-Avg=41.5,w01018-Max=44,w01018-Cou=1.25,w01018-Flag=N;w21003-Min=0.5,w21003-Avg=0.62,w21003-Max=0.71,w21003-Flag=C&&"
    );
    let frame = p.to_frame().unwrap();
    let back = decode_frame(&frame).unwrap().packet().unwrap();
    assert_eq!(back, p);
    assert_eq!(back.readings().unwrap().kind, DataKind::Minute);

    // The data answer, CRC computed independently (Python, Appendix A algorithm).
    let answer = answer_for(&back).unwrap();
    assert_eq!(
        String::from_utf8(answer.to_frame().unwrap()).unwrap(),
        "##0086QN=20240315103000123;ST=91;CN=9014;PW=123456;MN=MSB00000000000000000001;Flag=4;CP=&&&&5440\r\n"
    );
    assert_eq!(answer_for(&minute_upload(false)), None, "no answer bit, no answer");
    assert_eq!(answer_for(&answer), None, "answers are never answered");
}

#[test]
fn a_set_time_request_gets_9011_then_9012() {
    let mut request =
        Packet::new(SystemCode::WATER_POLLUTION_SOURCE, Command::SetTime, "123456", "MSB00000000000000000001");
    request.qn = Some(Qn::parse("20240315103500456").unwrap());
    request.flag = Some(PacketFlag::new(1, true, false));
    request.cp.params.push(("SystemTime".to_owned(), "20240315103500".to_owned()));
    let parsed = Packet::parse(&request.to_segment().unwrap()).unwrap();
    assert_eq!(parsed.cp.param_time("SystemTime").unwrap().unwrap().to_rfc3339(), "2024-03-15T10:35:00+08:00");

    let ready = request_answer(&parsed, RequestReturn::Ready);
    let done = execution_result(&parsed, ExecutionResult::Success);
    assert_eq!(
        String::from_utf8(ready.to_frame().unwrap()).unwrap(),
        "##0093QN=20240315103500456;ST=91;CN=9011;PW=123456;MN=MSB00000000000000000001;Flag=4;CP=&&QnRtn=1&&0E40\r\n"
    );
    assert_eq!(
        String::from_utf8(done.to_frame().unwrap()).unwrap(),
        "##0094QN=20240315103500456;ST=91;CN=9012;PW=123456;MN=MSB00000000000000000001;Flag=4;CP=&&ExeRtn=1&&B041\r\n"
    );
    assert_eq!(request_return_of(&ready), Some(RequestReturn::Ready));
    assert_eq!(execution_result_of(&done), Some(ExecutionResult::Success));
    assert_eq!(RequestReturn::from_code(9), RequestReturn::BadCrc);
    assert_eq!(ExecutionResult::from_code(100), ExecutionResult::NoData);
}

#[test]
fn a_time_calibration_request_gets_a_notification_answer() {
    let mut p = Packet::new(SystemCode::WATER_POLLUTION_SOURCE, Command::TimeCalibrationRequest, "123456", "MN1");
    p.flag = Some(PacketFlag::new(1, true, false));
    assert_eq!(answer_for(&p).unwrap().cn, Command::NotificationAnswer);
}

#[test]
fn split_packets_carry_pnum_and_pno() {
    let segment = "QN=20240315103000123;ST=32;CN=2061;PW=123456;MN=MN1;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20240315100000;w01018-Avg=40&&";
    let p = Packet::parse(segment).unwrap();
    assert_eq!(p.split, Some(Split { total: 2, number: 1 }));
    assert!(p.flag.unwrap().is_split());
    assert_eq!(p.to_segment().unwrap(), segment);
    for (bad, code) in [
        ("QN=20240315103000123;ST=32;CN=2061;PW=1;MN=M;Flag=7;CP=&&&&", "missing_field"),
        ("QN=20240315103000123;ST=32;CN=2061;PW=1;MN=M;Flag=5;PNUM=2;PNO=1;CP=&&&&", "bad_field"),
        ("ST=32;CN=2061;PW=1;MN=M;Flag=7;PNUM=2;PNO=3;CP=&&&&", "bad_field"),
        ("ST=32;CN=2061;PW=1;MN=M;Flag=7;PNUM=2;CP=&&&&", "missing_field"),
        ("ST=32;CN=2061;PW=1;MN=M;Flag=7;PNUM=x;PNO=1;CP=&&&&", "bad_field"),
    ] {
        assert_eq!(Packet::parse(bad).unwrap_err().code(), code, "{bad}");
    }
}

#[test]
fn command_codes_of_table_9() {
    for (code, command) in [
        (2011, Command::RealTimeData),
        (2051, Command::MinuteData),
        (2061, Command::HourData),
        (2031, Command::DayData),
        (1011, Command::GetTime),
        (1012, Command::SetTime),
        (9011, Command::RequestAnswer),
        (9012, Command::ExecutionResult),
        (9013, Command::NotificationAnswer),
        (9014, Command::DataAnswer),
        (4321, Command::Other(4321)),
    ] {
        assert_eq!(Command::from_code(code), command);
        assert_eq!(command.code(), code);
    }
    assert_eq!(Command::HourData.data_kind(), Some(DataKind::Hour));
    assert_eq!(Command::SetTime.data_kind(), None);
}

/// One input per error code; the test fails if a code in `CODES` is never produced.
#[test]
fn every_error_code_is_reachable() {
    let mut seen = BTreeSet::new();
    let mut note = |result: Result<(), Error>| {
        let error = result.unwrap_err();
        assert!(!error.message().is_empty());
        assert!(error.to_string().starts_with(error.code()));
        seen.insert(error.code());
    };
    let valid = APPENDIX_A.as_bytes();
    let mut reader = FrameReader::new();
    note(reader.feed(b"xx##0").into_iter().next().unwrap().map(drop));
    note(decode_frame(b"xx").map(drop));
    note(decode_frame(b"##00x0").map(drop));
    note(FrameReader::with_max_data_len(100).feed(valid).into_iter().next().unwrap().map(drop));
    let mut corrupted = valid.to_vec();
    corrupted[10] = b'9';
    note(decode_frame(&corrupted).map(drop));
    note(decode_frame(&valid[..valid.len() - 1]).map(drop));
    let mut no_tail = valid.to_vec();
    no_tail[valid.len() - 2] = b' ';
    note(decode_frame(&no_tail).map(drop));
    note(decode_frame(&encode_frame(&[0xff, 0xfe]).unwrap()).unwrap().packet().map(drop));
    note(Packet::parse("ST=32;CN=2011;PW=1;CP=&&&&").map(drop));
    note(Packet::parse("ST=3;CN=2011;PW=1;MN=M;CP=&&&&").map(drop));
    note(Packet::parse("ST=32;CN=2011;PW=1;MN=M;CP=&&w01018-Rtd=x&&").map(drop));
    note(Packet::parse("ST=32;CN=2011;PW=1;MN=M;CP=&&DataTime=20240230000000&&").map(drop));
    let expected: BTreeSet<&str> = CODES.iter().copied().collect();
    assert_eq!(seen, expected);
}

#[test]
fn header_fields_are_checked() {
    for (segment, code) in [
        ("ST=32;CN=2011;PW=1;MN=M", "missing_field"),
        ("CN=2011;PW=1;MN=M;CP=&&&&", "missing_field"),
        ("ST=32;PW=1;MN=M;CP=&&&&", "missing_field"),
        ("ST=32;CN=2011;MN=M;CP=&&&&", "missing_field"),
        ("ST=32;CN=2011;PW=1;MN=M;CP=&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=M;CP=&&&&x", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=MCP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=M;CP=&&a=1&&b=2&&", "bad_field"),
        ("ST=32;ST=32;CN=2011;PW=1;MN=M;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=M;XX=1;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=M;junk;CP=&&&&", "bad_field"),
        ("ST=3a;CN=2011;PW=1;MN=M;CP=&&&&", "bad_field"),
        ("ST=32;CN=201;PW=1;MN=M;CP=&&&&", "bad_field"),
        ("ST=32;CN=20a1;PW=1;MN=M;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1234567;MN=M;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=;MN=M;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=0123456789012345678901234;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=设备;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=M;Flag=256;CP=&&&&", "bad_field"),
        ("ST=32;CN=2011;PW=1;MN=M;Flag=-1;CP=&&&&", "bad_field"),
        ("QN=2016;ST=32;CN=2011;PW=1;MN=M;CP=&&&&", "bad_field"),
        ("QN=20161301085857223;ST=32;CN=2011;PW=1;MN=M;CP=&&&&", "bad_time"),
    ] {
        assert_eq!(Packet::parse(segment).unwrap_err().code(), code, "{segment}");
    }
    let minimal = Packet::parse("ST=32;CN=2011;PW=1;MN=M;CP=&&&&").unwrap();
    assert_eq!(minimal.readings().unwrap_err().code(), "missing_field");
    assert_eq!(Packet::parse("ST=91;CN=9014;PW=1;MN=M;CP=&&&&").unwrap().readings().unwrap_err().code(), "bad_field");
}

#[test]
fn building_refuses_what_would_not_parse_back() {
    let mut p = minute_upload(false);
    p.mn = "M;N".to_owned();
    assert_eq!(p.to_segment().unwrap_err().code(), "bad_field");
    let mut p = minute_upload(false);
    p.split = Some(Split { total: 1, number: 1 });
    assert_eq!(p.to_segment().unwrap_err().code(), "bad_field");
    let mut p = minute_upload(false);
    p.cp.params.push(("Info".to_owned(), "x".repeat(10_000)));
    assert_eq!(p.to_segment().unwrap_err().code(), "too_long");
    let mut p = minute_upload(false);
    p.cp.pollutants.push(Pollutant { code: "w01018".to_owned(), rtd: Some(1.0), ..Pollutant::default() });
    assert_eq!(p.to_segment().unwrap_err().code(), "bad_field", "a pollutant twice");
}

/// Real device traffic published in an HJ 212 Go library's tests (e212): a
/// split minute-data packet (Flag=7, PNUM=2, PNO=1, CRC AE41) with `ZsCou`
/// items, a real-time packet with converted values (CRC 8701), a packet whose
/// CRC is wrong (33EC, the data gives D801) and one whose length field is 4
/// bytes short.
#[test]
fn published_device_traffic() {
    let split = "##0931QN=20201029122005355;ST=31;CN=2051;PW=123456;MN=WJTHGY91320509703697203A;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20201029121000;a00000-Min=0.000,a00000-Max=0.000,a00000-Avg=0.000,a00000-Cou=0.000,a00000-Flag=B;a01011-Min=0.000,a01011-Max=0.000,a01011-Avg=0.000,a01011-Cou=0.000,a01011-Flag=B;a01012-Min=0.000,a01012-Max=0.000,a01012-Avg=0.000,a01012-Cou=0.000,a01012-Flag=B;a01013-Min=0.000,a01013-Max=0.000,a01013-Avg=0.000,a01013-Cou=0.000,a01013-Flag=B;a01014-Min=0.000,a01014-Max=0.000,a01014-Avg=0.000,a01014-Cou=0.000,a01014-Flag=B;a19001-Min=0.000,a19001-Max=0.000,a19001-Avg=0.000,a19001-Cou=0.000,a19001-Flag=B;a21002-Min=0.000,a21002-Max=0.000,a21002-Avg=0.000,a21002-Cou=0.000,a21002-ZsMin=0.000,a21002-ZsMax=0.000,a21002-ZsAvg=0.000,a21002-ZsCou=0.000,a21002-Flag=B;a21005-Min=0.000,a21005-Max=0.000,a21005-Avg=0.000,a21005-Cou=0.000,a21005-ZsMin=0.000,a21005-ZsMax=0.000,a21005-ZsAvg=0.000,a21005-ZsCou=0.000,a21005-Flag=B&&AE41\r\n";
    let p = packet_of(split);
    assert_eq!(p.split, Some(Split { total: 2, number: 1 }));
    assert!(p.needs_answer());
    assert_eq!(answer_for(&p).unwrap().cn, Command::DataAnswer);
    let r = p.readings().unwrap();
    assert_eq!((r.kind, r.pollutants.len()), (DataKind::Minute, 8));
    let so2 = p.cp.pollutant("a21002").unwrap();
    assert_eq!((so2.zs_avg, so2.flag), (Some(0.0), Some(DataFlag::CommunicationFault)));
    assert_eq!(so2.extra, [("ZsCou".to_owned(), "0.000".to_owned())]);

    let converted = packet_of(
        "##0494QN=20210521110212000;ST=31;CN=2011;PW=123456;MN=411420sibo0606;Flag=4;CP=&&DataTime=20210521110202;a01012-Rtd=32.42,a01012-ZsRtd=32.42,a01012-Flag=N;a05002-Rtd=1.45,a05002-ZsRtd=1.45,a05002-Flag=N;a01011-Rtd=0.54,a01011-ZsRtd=0.54,a01011-Flag=N;a01013-Rtd=103.79,a01013-ZsRtd=103.79,a01013-Flag=N;a24087-Rtd=39.00,a24087-ZsRtd=39.00,a24087-Flag=N;a01014-Rtd=2.53,a01014-ZsRtd=2.53,a01014-Flag=N;a24088-Rtd=37.55,a24088-ZsRtd=37.55,a24088-Flag=N;a00000-Rtd=3434,a00000-ZsRtd=3434,a00000-Flag=N&&8701\r\n",
    );
    assert_eq!(converted.cp.pollutant("a00000").unwrap().zs_rtd, Some(3434.0));

    let wrong_crc = "##0214QN=20200721093700136;ST=22;CN=2011;PW=123456;MN=MYHJ00000000000080011129;Flag=4;CP=&&DataTime=20200721093700;a99054-Rtd=190.000;a01001-Rtd=0.000;a01002-Rtd=0.000;a01006-Rtd=0.000;a01007-Rtd=0.000;a01008-Rtd=0.000&&33EC\r\n";
    assert_eq!(
        decode_frame(wrong_crc.as_bytes()).unwrap_err(),
        Error::BadCrc { found: "33EC".to_owned(), computed: 0xD801 }
    );

    let short_length = "##0131QN=20200428102058322;ST=31;CN=2081;PW=123456;MN=MYHJ00000000000080011128;Flag=4;CP=&&DataTime=20200428102058;RestartTime=20200428100633&&47c0\r\n";
    assert_eq!(decode_frame(short_length.as_bytes()).unwrap_err(), Error::BadTail);
}

#[test]
fn an_empty_sample_time_is_no_sample_time() {
    let p = Packet::parse("ST=31;CN=2011;PW=123456;MN=M;Flag=4;CP=&&DataTime=20200421212100;a01013-SampleTime=,a01013-Rtd=0.000,a01013-Flag=D&&").unwrap();
    let dust = p.cp.pollutant("a01013").unwrap();
    assert_eq!((dust.sample_time, dust.rtd), (None, Some(0.0)));
    assert_eq!(Packet::parse("ST=31;CN=2011;PW=1;MN=M;CP=&&a01013-Rtd=&&").unwrap_err().code(), "bad_number");
}
