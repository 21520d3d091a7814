//! The records the durability writer writes, shared with the test that checks them.

/// One record: who wrote it, its sequence, and a payload derived from both,
/// so a torn or mixed-up record is detected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DurabilityRecord {
    /// Writer number.
    pub writer: u32,
    /// Sequence within the writer.
    pub sequence: u32,
    /// 2 KiB derived from (writer, sequence).
    pub payload: String,
}

impl zhibao_node::store::Record for DurabilityRecord {
    const FORMAT_VERSION: u8 = 1;
}

/// The key and record writer `writer` writes at `sequence`.
pub fn expected_record(writer: u32, sequence: u32) -> (String, DurabilityRecord) {
    let key = format!("{writer:03}-{sequence:08}");
    let payload = key.repeat(2048 / key.len());
    (
        key,
        DurabilityRecord {
            writer,
            sequence,
            payload,
        },
    )
}

/// Parses `WWW-SSSSSSSS` back into (writer, sequence).
pub fn parse_key(key: &str) -> Option<(u32, u32)> {
    let (writer, sequence) = key.split_once('-')?;
    Some((writer.parse().ok()?, sequence.parse().ok()?))
}
