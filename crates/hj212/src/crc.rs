//! The CRC16 of HJ 212-2017 Appendix A (规范性附录 A, 循环冗余校验算法).
//!
//! It is not the Modbus CRC: the register is shifted right by 8 *before* each
//! byte is xored in (`crc = (crc >> 8) ^ byte`), then the byte is folded with
//! eight right shifts and the reflected polynomial 0xA001. The standard prints
//! the result as four hex digits, high byte first.

/// CRC16 of `data` as HJ 212-2017 Appendix A defines it.
///
/// ```
/// // The standard's own Appendix A example.
/// let segment = b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
/// assert_eq!(mashangban_hj212::crc16(segment), 0x1C80);
/// ```
pub fn crc16(data: &[u8]) -> u16 {
    // After `(crc >> 8) ^ byte` the register fits in 8 bits, so its eight
    // shifts depend on that byte alone: one table lookup per byte.
    data.iter().fold(0xFFFF, |crc, &byte| TABLE[usize::from((crc >> 8) ^ u16::from(byte))])
}

/// The eight shift-and-xor steps of Appendix A applied to every byte value.
const TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut value = 0;
    while value < 256 {
        let mut crc = value as u16;
        let mut bit = 0;
        while bit < 8 {
            let carry = crc & 0x0001;
            crc >>= 1;
            if carry == 1 {
                crc ^= 0xA001;
            }
            bit += 1;
        }
        table[value] = crc;
        value += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::crc16;

    /// Published packets with their CRCs. Each was checked by recomputing the
    /// CRC with an independent script before it was written here.
    const PUBLISHED: &[(&str, u16)] = &[
        // HJ 212-2017 Appendix A example (also hutool's Crc16UtilTest).
        (
            "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&",
            0x1C80,
        ),
        // hutool Crc16UtilTest / CRC16Test (ANSI CRC16 = HJ 212), noise example with a space.
        (
            "QN=20160801085857223;ST=23;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857; LA-Rtd=50.1&&",
            0x1E00,
        ),
        // xiaoyao9184/hj-t212-parser DataDeserializerTest (HJ/T 212-2005 style, no QN or Flag).
        (
            "ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&",
            0x4980,
        ),
        // xiaoyao9184/hj-t212-parser README generator example (printed lower case, `8c41`).
        (
            "ST=32;CN=2011;PW=123456;MN=NJGDKYYC202101q0001w0001;CP=&&DataTime=20210305003817000;ele01-Rtd=1;ele02-Rtd=0&&",
            0x8C41,
        ),
        // A forum post on the HJ 212 CRC (wareexpress.com, "HJ212协议 CRC16"), expected 6E80.
        (
            "QN=20210320163101890;ST=32;CN=2011;PW=123456;MN=81733553213013;Flag=4;CP=&&DataTime=20210320013400;w00000-Rtd=181.682,w00000-Flag=N;w21001-SampleTime=20210320005400,w21001-Rtd=45.160,w21001-Flag=N;w21011-SampleTime=20210320013400,w21011-Rtd=1.970,w21011-Flag=N;w21003-SampleTime=20210320013400,w21003-Rtd=53.131,w21003-Flag=N;w01018-SampleTime=20210320013400,w01018-Rtd=194.200,w01018-Flag=N;w01001-SampleTime=20210320013406,w01001-Rtd=7.496,w01001-Flag=N&&",
            0x6E80,
        ),
        // A device test script sending surface-water data over TCP (##0321…A141).
        (
            "ST=32;CN=2011;PW=123456;MN=DM000001;CP=&&DataTime=20191223165100;w01001-Rtd=15.294,w01001-Flag=N;w01006-Rtd=12.122,w01006-Flag=N;w01010-Rtd=21.639,w01010-Flag=N;w01014-Rtd=92.088,w01014-Flag=N;w21003-Rtd=78.741,w21003-Flag=N;w21011-Rtd=92.488,w21011-Flag=N;w01019-Rtd=51.248,w01019-Flag=N;w01003-Rtd=3.262,w01003-Flag=N&&",
            0xA141,
        ),
        // A C++ HJ 212 header's documented answer example (##0078…71c0).
        ("QN=20201008154743635;ST=91;CN=9014;PW=123456;MN=SD000001;Flag=9;CP=&&QnRtn=1&&", 0x71C0),
        // A Java receiver's sample packets (##0081…7580, ##0180…7200).
        ("QN=20181111151745000;ST=21;CN=2011;PW=123456;MN=YSRDWQGQ1000001001;Flag=5;CP=&&&&", 0x7580),
    ];

    #[test]
    fn matches_published_packets() {
        for (segment, expected) in PUBLISHED {
            assert_eq!(crc16(segment.as_bytes()), *expected, "{segment}");
        }
    }

    /// The algorithm exactly as Appendix A prints it, byte by byte.
    fn appendix_a(data: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &byte in data {
            crc = (crc >> 8) ^ u16::from(byte);
            for _ in 0..8 {
                let check = crc & 0x0001;
                crc >>= 1;
                if check == 0x0001 {
                    crc ^= 0xA001;
                }
            }
        }
        crc
    }

    #[test]
    fn the_table_gives_the_appendix_a_result() {
        let mut data = Vec::new();
        let mut seed: u32 = 0x2017_0212;
        for len in 0..600 {
            assert_eq!(crc16(&data), appendix_a(&data), "length {len}");
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            data.push((seed >> 24) as u8);
        }
    }

    #[test]
    fn is_not_the_modbus_crc() {
        // Modbus CRC16 of "123456789" is 0x4B37; the HJ 212 variant (value
        // from an independent script of Appendix A) differs.
        assert_eq!(crc16(b"123456789"), 0x2F80);
        assert_eq!(crc16(b""), 0xFFFF);
    }
}
