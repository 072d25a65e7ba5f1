//! Joining the MP3 audio of several synthesis chunks at the frame level, without decoding.
//!
//! Policy:
//! - Only MPEG audio Layer III frames (MPEG-1, MPEG-2 and MPEG-2.5) are audio. Tags are not:
//!   ID3v2 tags (at the start, or between two concatenated streams), an ID3v1 tag in the last
//!   128 bytes and an APE tag at the end are skipped.
//! - The first frame of a chunk is dropped when it is a Xing, Info or VBRI header frame: it
//!   describes that chunk alone.
//! - A last frame cut short is dropped. Bytes that are neither tags nor frames are skipped up
//!   to the next header confirmed by the header that follows it.
//! - All chunks must share the first chunk's sample rate and channel count.
//! - The joined audio starts with a fresh header frame, tagged `Info` when every audio frame
//!   has the same bitrate and `Xing` otherwise, holding the audio frame count, the byte count
//!   and a seek table, so players show the right duration. No other tag is written.
//!
//! Each chunk keeps its encoder delay and padding: a few milliseconds of silence at every
//! junction, which is inaudible between sentences.

/// Bytes in an MPEG audio frame header.
const HEADER_LEN: usize = 4;

/// Bytes of the CRC that follows a header whose protection bit is clear.
const CRC_LEN: usize = 2;

/// Where a VBRI header starts inside its frame.
const VBRI_OFFSET: usize = 36;

/// Bytes of a Xing/Info body: tag, flags, frame count, byte count and a 100-entry seek table.
const XING_BODY_LEN: usize = 4 + 4 + 4 + 4 + XING_TOC_LEN;

/// Entries in the Xing seek table.
const XING_TOC_LEN: usize = 100;

/// The Xing seek table gives positions in 256ths of the stream's bytes.
const XING_TOC_SCALE: u64 = 256;

/// Xing flags: the frame count, byte count and seek table are present.
const XING_FLAGS: u32 = 0x1 | 0x2 | 0x4;

/// Bytes in an ID3v2 header (and in its optional footer).
const ID3V2_HEADER_LEN: usize = 10;

/// The ID3v2 flag announcing a footer after the tag.
const ID3V2_FOOTER_FLAG: u8 = 0x10;

/// Bytes in an ID3v1 tag.
const ID3V1_LEN: usize = 128;

/// Bytes in an APE tag header or footer.
const APE_FOOTER_LEN: usize = 32;

/// The APE flag announcing a header before the tag items.
const APE_HAS_HEADER: u32 = 1 << 31;

/// The highest valid bitrate index.
const MAX_BITRATE_INDEX: u8 = 14;

/// Layer III bitrates in kbit/s by index, for MPEG-1 and for MPEG-2/2.5.
const BITRATES_MPEG1: [u32; 16] =
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0];
const BITRATES_MPEG2: [u32; 16] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0];

/// Sample rates in Hz by index, per version.
const SAMPLE_RATES_MPEG1: [u32; 3] = [44_100, 48_000, 32_000];
const SAMPLE_RATES_MPEG2: [u32; 3] = [22_050, 24_000, 16_000];
const SAMPLE_RATES_MPEG25: [u32; 3] = [11_025, 12_000, 8_000];

/// Why audio chunks could not be read or joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Mp3Error {
    /// A chunk holds no MPEG Layer III audio frame (or no chunk was given: `chunk` is 0).
    #[error("audio chunk {chunk} holds no MP3 frames")]
    NoFrames {
        /// Index of the chunk without frames.
        chunk: usize,
    },
    /// A chunk's sample rate or channel count differs from the first frame's.
    #[error("audio chunk {chunk} differs in sample rate or channel count")]
    Mismatch {
        /// Index of the mismatching chunk.
        chunk: usize,
    },
    /// The joined audio has more frames or bytes than an Info header can count (2^32 - 1).
    #[error("joined audio is too long for an MP3 info header")]
    TooLarge,
}

impl Mp3Error {
    /// A stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoFrames { .. } => "mp3_no_frames",
            Self::Mismatch { .. } => "mp3_format_mismatch",
            Self::TooLarge => "mp3_too_large",
        }
    }
}

/// Joined MP3 audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The MP3 stream: a fresh Info/Xing header frame, then every audio frame.
    pub bytes: Vec<u8>,
    /// Playing time, rounded to the nearest millisecond.
    pub duration_ms: u64,
    /// Audio frames, not counting the header frame.
    pub frames: u64,
    /// Samples per second.
    pub sample_rate: u32,
    /// 1 (mono) or 2.
    pub channels: u8,
}

/// What one MP3 stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Audio frames, not counting a Xing, Info or VBRI header frame.
    pub frames: u64,
    /// Playing time, rounded to the nearest millisecond.
    pub duration_ms: u64,
    /// Samples per second.
    pub sample_rate: u32,
    /// 1 (mono) or 2.
    pub channels: u8,
}

/// Joins the MP3 chunks of one audio into a single stream with a correct duration header.
///
/// Fails with [`Mp3Error::NoFrames`] if any chunk (or the list) is empty of frames and with
/// [`Mp3Error::Mismatch`] if a chunk's sample rate or channel count differs from the first.
pub fn join(chunks: &[Vec<u8>]) -> Result<Joined, Mp3Error> {
    let streams = chunks
        .iter()
        .enumerate()
        .map(|(chunk, bytes)| audio_frames(bytes, chunk))
        .collect::<Result<Vec<_>, _>>()?;

    let Some(first) = streams.first().and_then(|frames| frames.first()).map(|f| f.header) else {
        return Err(Mp3Error::NoFrames { chunk: 0 });
    };
    let differs = |frames: &Vec<Frame<'_>>| {
        frames.first().is_some_and(|frame| !first.same_format(&frame.header))
    };
    if let Some(chunk) = streams.iter().position(differs) {
        return Err(Mp3Error::Mismatch { chunk });
    }

    let frames: Vec<&Frame<'_>> = streams.iter().flatten().collect();
    let vbr = frames.iter().any(|frame| frame.header.bitrate_index() != first.bitrate_index());
    let offsets: Vec<u64> = frames
        .iter()
        .scan(0u64, |offset, frame| {
            let start = *offset;
            *offset += frame.bytes.len() as u64;
            Some(start)
        })
        .collect();
    let audio_len: usize = frames.iter().map(|frame| frame.bytes.len()).sum();

    let mut bytes = header_frame(first, vbr, &offsets, audio_len as u64)?;
    bytes.reserve(audio_len);
    for frame in &frames {
        bytes.extend_from_slice(frame.bytes);
    }

    let frame_count = frames.len() as u64;
    Ok(Joined {
        bytes,
        duration_ms: duration_ms(frame_count, first),
        frames: frame_count,
        sample_rate: first.sample_rate(),
        channels: first.channels(),
    })
}

/// Counts the audio frames of one MP3 stream and its exact playing time.
pub fn probe(bytes: &[u8]) -> Result<Probe, Mp3Error> {
    let frames = audio_frames(bytes, 0)?;

    let Some(first) = frames.first().map(|frame| frame.header) else {
        return Err(Mp3Error::NoFrames { chunk: 0 });
    };

    let frame_count = frames.len() as u64;
    Ok(Probe {
        frames: frame_count,
        duration_ms: duration_ms(frame_count, first),
        sample_rate: first.sample_rate(),
        channels: first.channels(),
    })
}

/// Playing time of `frames` frames shaped like `header`, rounded to the nearest millisecond.
fn duration_ms(frames: u64, header: Header) -> u64 {
    let samples = frames * u64::from(header.samples_per_frame());
    let rate = u64::from(header.sample_rate());

    (samples * 1_000 + rate / 2) / rate
}

/// MPEG audio version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Mpeg1,
    Mpeg2,
    Mpeg25,
}

/// A validated MPEG-1/2/2.5 Layer III frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header([u8; HEADER_LEN]);

impl Header {
    /// Reads a header at the start of `bytes`: 11 sync bits, a known version, Layer III, a
    /// bitrate other than free or invalid, a known sample rate and no reserved emphasis.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let raw: [u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        let header = Self(raw);

        let synced = raw[0] == 0xFF && raw[1] & 0xE0 == 0xE0;
        let version_known = (raw[1] >> 3) & 0b11 != 0b01;
        let layer_three = (raw[1] >> 1) & 0b11 == 0b01;
        let bitrate_known = (1..=MAX_BITRATE_INDEX).contains(&header.bitrate_index());
        let sample_rate_known = header.sample_rate_index() < 3;
        let emphasis_known = raw[3] & 0b11 != 0b10;

        (synced
            && version_known
            && layer_three
            && bitrate_known
            && sample_rate_known
            && emphasis_known)
            .then_some(header)
    }

    fn version(self) -> Version {
        match (self.0[1] >> 3) & 0b11 {
            0b11 => Version::Mpeg1,
            0b10 => Version::Mpeg2,
            _ => Version::Mpeg25,
        }
    }

    fn crc_len(self) -> usize {
        if self.0[1] & 1 == 0 { CRC_LEN } else { 0 }
    }

    fn bitrate_index(self) -> u8 {
        self.0[2] >> 4
    }

    fn sample_rate_index(self) -> usize {
        usize::from((self.0[2] >> 2) & 0b11)
    }

    fn padding(self) -> usize {
        usize::from((self.0[2] >> 1) & 1)
    }

    fn is_mono(self) -> bool {
        self.0[3] >> 6 == 0b11
    }

    /// Bits per second.
    fn bitrate(self) -> u32 {
        let table = match self.version() {
            Version::Mpeg1 => &BITRATES_MPEG1,
            Version::Mpeg2 | Version::Mpeg25 => &BITRATES_MPEG2,
        };

        table[usize::from(self.bitrate_index())] * 1_000
    }

    fn sample_rate(self) -> u32 {
        let table = match self.version() {
            Version::Mpeg1 => &SAMPLE_RATES_MPEG1,
            Version::Mpeg2 => &SAMPLE_RATES_MPEG2,
            Version::Mpeg25 => &SAMPLE_RATES_MPEG25,
        };

        table[self.sample_rate_index()]
    }

    fn channels(self) -> u8 {
        if self.is_mono() { 1 } else { 2 }
    }

    fn samples_per_frame(self) -> u32 {
        match self.version() {
            Version::Mpeg1 => 1_152,
            Version::Mpeg2 | Version::Mpeg25 => 576,
        }
    }

    /// Frame length in bytes, header included: samples / 8 × bitrate / sample rate + padding.
    fn frame_len(self) -> usize {
        let bytes_per_bit_second = self.samples_per_frame() / 8;
        let len = u64::from(bytes_per_bit_second) * u64::from(self.bitrate())
            / u64::from(self.sample_rate());

        usize::try_from(len).unwrap_or(usize::MAX) + self.padding()
    }

    /// Bytes of Layer III side information after the header (and CRC).
    fn side_info_len(self) -> usize {
        match (self.version(), self.is_mono()) {
            (Version::Mpeg1, true) => 17,
            (Version::Mpeg1, false) => 32,
            (_, true) => 9,
            (_, false) => 17,
        }
    }

    /// Where a Xing/Info tag starts in a frame with this header.
    fn xing_offset(self) -> usize {
        HEADER_LEN + self.crc_len() + self.side_info_len()
    }

    fn same_format(self, other: &Self) -> bool {
        self.sample_rate() == other.sample_rate() && self.channels() == other.channels()
    }

    /// Whether `other` could be the next frame of the same stream (used to confirm a sync).
    fn same_stream(self, other: &Self) -> bool {
        self.version() == other.version() && self.sample_rate_index() == other.sample_rate_index()
    }

    /// A header for a Xing/Info frame like this one: given bitrate, no CRC, no padding, no
    /// mode extension; version, sample rate, channel mode and flags are kept.
    fn for_info_frame(self, bitrate_index: u8) -> Self {
        let raw = self.0;

        Self([
            raw[0],
            raw[1] | 1,
            (bitrate_index << 4) | (raw[2] & 0b0000_1101),
            raw[3] & 0b1100_1111,
        ])
    }
}

/// One audio frame of a chunk.
#[derive(Debug, Clone, Copy)]
struct Frame<'a> {
    header: Header,
    bytes: &'a [u8],
}

impl Frame<'_> {
    /// Whether this frame carries a Xing, Info or VBRI header instead of audio.
    fn is_vbr_header(&self) -> bool {
        let at = |offset: usize| self.bytes.get(offset..offset + 4);
        let xing = at(self.header.xing_offset());

        xing == Some(b"Xing") || xing == Some(b"Info") || at(VBRI_OFFSET) == Some(b"VBRI")
    }
}

/// The audio frames of one chunk, without tags and header frames.
fn audio_frames(bytes: &[u8], chunk: usize) -> Result<Vec<Frame<'_>>, Mp3Error> {
    let start = skip_id3v2(bytes, 0);
    let end = strip_trailing_tags(bytes, start);
    let region = bytes.get(..end).unwrap_or_default();

    let mut frames = walk_frames(region, start);
    if frames.first().is_some_and(Frame::is_vbr_header) {
        frames.remove(0);
    }

    let Some(first) = frames.first().map(|frame| frame.header) else {
        return Err(Mp3Error::NoFrames { chunk });
    };
    if frames.iter().any(|frame| !first.same_format(&frame.header)) {
        return Err(Mp3Error::Mismatch { chunk });
    }

    Ok(frames)
}

/// The end of an ID3v2 tag starting at `pos`, if one starts there (at most the input's end).
fn id3v2_end(bytes: &[u8], pos: usize) -> Option<usize> {
    let header = bytes.get(pos..pos + ID3V2_HEADER_LEN)?;
    if &header[..3] != b"ID3" || header[3] == 0xFF || header[4] == 0xFF {
        return None;
    }

    let size_bytes = &header[6..10];
    if size_bytes.iter().any(|&b| b >= 0x80) {
        return None;
    }
    let size = size_bytes.iter().fold(0usize, |size, &b| (size << 7) | usize::from(b));
    let footer = if header[5] & ID3V2_FOOTER_FLAG != 0 { ID3V2_HEADER_LEN } else { 0 };

    Some((pos + ID3V2_HEADER_LEN + size + footer).min(bytes.len()))
}

/// Skips any ID3v2 tags starting at `pos`.
fn skip_id3v2(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(end) = id3v2_end(bytes, pos) {
        pos = end;
    }

    pos
}

/// The end of the audio once an ID3v1 tag and an APE tag at the end are cut off.
fn strip_trailing_tags(bytes: &[u8], start: usize) -> usize {
    let mut end = bytes.len();

    if end - start >= ID3V1_LEN && bytes.get(end - ID3V1_LEN..end - ID3V1_LEN + 3) == Some(b"TAG") {
        end -= ID3V1_LEN;
    }

    if end - start >= APE_FOOTER_LEN
        && let Some(footer) = bytes.get(end - APE_FOOTER_LEN..end)
        && &footer[..8] == b"APETAGEX"
    {
        let read_u32 = |at: usize| {
            u32::from_le_bytes([footer[at], footer[at + 1], footer[at + 2], footer[at + 3]])
        };
        let size = usize::try_from(read_u32(12)).unwrap_or(usize::MAX);
        let header = if read_u32(20) & APE_HAS_HEADER != 0 { APE_FOOTER_LEN } else { 0 };
        let tag_len = size.saturating_add(header);

        if size >= APE_FOOTER_LEN && tag_len <= end - start {
            end -= tag_len;
        }
    }

    end
}

/// A whole frame starting at `pos`, if a valid header starts there and the frame fits.
fn frame_at(region: &[u8], pos: usize) -> Option<Frame<'_>> {
    let header = Header::parse(region.get(pos..)?)?;
    let bytes = region.get(pos..pos.checked_add(header.frame_len())?)?;

    Some(Frame { header, bytes })
}

/// Whether a frame at `pos` is confirmed: it ends the region or a matching header follows.
fn confirmed(region: &[u8], pos: usize) -> bool {
    let Some(frame) = frame_at(region, pos) else {
        return false;
    };
    let next = pos + frame.bytes.len();

    next == region.len()
        || Header::parse(region.get(next..).unwrap_or_default())
            .is_some_and(|header| frame.header.same_stream(&header))
}

/// Reads frames back to back from `start`, skipping ID3v2 tags and unreadable bytes.
fn walk_frames(region: &[u8], start: usize) -> Vec<Frame<'_>> {
    let mut frames = Vec::new();
    let mut pos = start;

    while pos + HEADER_LEN <= region.len() {
        if let Some(frame) = frame_at(region, pos) {
            pos += frame.bytes.len();
            frames.push(frame);
            continue;
        }

        if let Some(end) = id3v2_end(region, pos) {
            pos = end;
            continue;
        }

        match (pos + 1..region.len()).find(|&candidate| confirmed(region, candidate)) {
            Some(next) => pos = next,
            None => break,
        }
    }

    frames
}

/// Builds the Xing/Info frame that starts the joined stream.
///
/// `offsets` are the start of every audio frame, relative to the first one.
fn header_frame(
    template: Header,
    vbr: bool,
    offsets: &[u64],
    audio_len: u64,
) -> Result<Vec<u8>, Mp3Error> {
    let needed = |header: Header| header.frame_len() >= header.xing_offset() + XING_BODY_LEN;
    let same_bitrate = template.for_info_frame(template.bitrate_index());
    let header = if !vbr && needed(same_bitrate) {
        same_bitrate
    } else {
        (1..=MAX_BITRATE_INDEX)
            .map(|index| template.for_info_frame(index))
            .find(|&header| needed(header))
            .unwrap_or_else(|| template.for_info_frame(MAX_BITRATE_INDEX))
    };

    let header_len = header.frame_len();
    let total_len = header_len as u64 + audio_len;
    let (frame_count, byte_count) = xing_counts(offsets.len() as u64, total_len)?;

    let mut frame = vec![0u8; header_len];
    frame[..HEADER_LEN].copy_from_slice(&header.0);
    let mut body = Vec::with_capacity(XING_BODY_LEN);
    body.extend_from_slice(if vbr { b"Xing" } else { b"Info" });
    body.extend_from_slice(&XING_FLAGS.to_be_bytes());
    body.extend_from_slice(&frame_count.to_be_bytes());
    body.extend_from_slice(&byte_count.to_be_bytes());
    body.extend(seek_table(offsets, header_len as u64, total_len));
    let at = header.xing_offset();
    frame[at..at + XING_BODY_LEN].copy_from_slice(&body);

    Ok(frame)
}

/// The frame and byte counts as the 32-bit fields of a Xing/Info header.
fn xing_counts(frames: u64, bytes: u64) -> Result<(u32, u32), Mp3Error> {
    let frames = u32::try_from(frames).map_err(|_| Mp3Error::TooLarge)?;
    let bytes = u32::try_from(bytes).map_err(|_| Mp3Error::TooLarge)?;

    Ok((frames, bytes))
}

/// The Xing seek table: entry `i` is the position at `i` percent of the playing time, as a
/// fraction of the stream's bytes in 256ths.
fn seek_table(offsets: &[u64], header_len: u64, total_len: u64) -> [u8; XING_TOC_LEN] {
    let mut table = [0u8; XING_TOC_LEN];
    let frames = offsets.len();

    for (percent, entry) in table.iter_mut().enumerate() {
        let frame = percent * frames / XING_TOC_LEN;
        let position = header_len + offsets.get(frame).copied().unwrap_or_default();
        let scaled = position * XING_TOC_SCALE / total_len.max(1);
        *entry = u8::try_from(scaled).unwrap_or(u8::MAX);
    }

    table
}

#[cfg(test)]
mod tests {
    use super::{Mp3Error, id3v2_end, join, probe, xing_counts};

    const MPEG1: u8 = 0b11;
    const MPEG2: u8 = 0b10;
    const MPEG25: u8 = 0b00;
    const STEREO: u8 = 0b00;
    const JOINT: u8 = 0b01;
    const MONO: u8 = 0b11;

    /// Layer III, no CRC; indexes straight from the standard's tables.
    fn header(version: u8, bitrate_index: u8, rate_index: u8, padding: bool, mode: u8) -> [u8; 4] {
        [
            0xFF,
            0xE0 | (version << 3) | (0b01 << 1) | 1,
            (bitrate_index << 4) | (rate_index << 2) | (u8::from(padding) << 1),
            mode << 6,
        ]
    }

    /// A frame of `len` bytes with a zeroed payload.
    fn frame(header: [u8; 4], len: usize) -> Vec<u8> {
        let mut frame = vec![0u8; len];
        frame[..4].copy_from_slice(&header);
        frame
    }

    /// MPEG-1, 128 kbit/s, 44.1 kHz, joint stereo: 417 bytes (418 with padding).
    fn cd_frame(padding: bool) -> Vec<u8> {
        frame(header(MPEG1, 9, 0, padding, JOINT), if padding { 418 } else { 417 })
    }

    /// MPEG-2, 48 kbit/s, 22.05 kHz, mono: 156 bytes.
    fn voice_frame() -> Vec<u8> {
        frame(header(MPEG2, 6, 0, false, MONO), 156)
    }

    fn stream(frames: &[Vec<u8>]) -> Vec<u8> {
        frames.concat()
    }

    fn id3v2(size: usize, footer: bool) -> Vec<u8> {
        let mut tag = b"ID3\x04\x00".to_vec();
        tag.push(if footer { 0x10 } else { 0 });
        tag.extend([
            (size >> 21) as u8 & 0x7F,
            (size >> 14) as u8 & 0x7F,
            (size >> 7) as u8 & 0x7F,
        ]);
        tag.push(size as u8 & 0x7F);
        tag.extend(decoy(size));
        if footer {
            tag.extend(b"3DI\x04\x00\x10\x00\x00\x00\x00");
        }
        tag
    }

    /// `len` bytes of back-to-back 8 kHz frames: read as audio, they would be a mismatch.
    fn decoy(len: usize) -> Vec<u8> {
        let mut bytes = frame(header(MPEG25, 1, 2, false, MONO), 72).repeat(len / 72 + 1);
        bytes.truncate(len);
        bytes
    }

    /// An ID3v1 tag whose last 72 bytes look like a frame.
    fn id3v1() -> Vec<u8> {
        let mut tag = b"TAG".to_vec();
        tag.resize(128 - 72, b' ');
        tag.extend(decoy(72));
        tag
    }

    /// An Info/Xing frame as an encoder writes it, claiming `frames` frames.
    fn tag_frame(mut frame: Vec<u8>, tag: &[u8; 4], offset: usize, frames: u32) -> Vec<u8> {
        frame[offset..offset + 4].copy_from_slice(tag);
        frame[offset + 4..offset + 8].copy_from_slice(&3u32.to_be_bytes());
        frame[offset + 8..offset + 12].copy_from_slice(&frames.to_be_bytes());
        frame
    }

    /// Reads (tag, frame count, byte count) of the joined stream's header frame.
    fn read_header(bytes: &[u8], offset: usize) -> (String, u32, u32) {
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        let tag = String::from_utf8(bytes[offset..offset + 4].to_vec()).unwrap();
        assert_eq!(word(offset + 4) & 0x3, 0x3, "frames and bytes flags");
        (tag, word(offset + 8), word(offset + 12))
    }

    #[test]
    fn frame_lengths_follow_each_versions_formula() {
        let cases: [([u8; 4], usize); 7] = [
            (header(MPEG1, 9, 0, false, STEREO), 417),
            (header(MPEG1, 9, 0, true, STEREO), 418),
            (header(MPEG1, 9, 1, false, STEREO), 384),
            (header(MPEG1, 14, 2, false, MONO), 1_440),
            (header(MPEG2, 6, 0, false, MONO), 156),
            (header(MPEG2, 8, 1, true, STEREO), 193),
            (header(MPEG25, 1, 2, false, MONO), 72),
        ];

        for (head, len) in cases {
            let bytes = stream(&[frame(head, len), frame(head, len), frame(head, len)]);

            let probed = probe(&bytes).unwrap();

            assert_eq!(probed.frames, 3, "frame of {len} bytes");
            assert_eq!(probe(&bytes[..len * 3 - 1]).unwrap().frames, 2, "{len} bytes truncated");
        }
    }

    #[test]
    fn id3v2_frames_and_id3v1_join_to_the_frames_only() {
        let frames: Vec<Vec<u8>> = (0..10).map(|i| cd_frame(i % 3 == 0)).collect();
        let chunk = [id3v2(288, false), stream(&frames), id3v1()].concat();

        let joined = join(&[chunk]).unwrap();

        assert_eq!(joined.frames, 10);
        assert_eq!(&joined.bytes[417..], stream(&frames).as_slice());
    }

    #[test]
    fn id3v2_footer_and_repeated_tags_are_skipped() {
        assert_eq!(id3v2_end(&id3v2(50, true), 0), Some(10 + 50 + 10));
        assert_eq!(id3v2_end(&id3v2(50, false), 0), Some(10 + 50));
        assert_eq!(id3v2_end(&id3v2(200, false)[..100], 0), Some(100), "clamped to the input");
        let frames = stream(&[cd_frame(false), cd_frame(true)]);
        let chunk = [id3v2(50, true), id3v2(20, false), frames.clone()].concat();

        let joined = join(&[chunk]).unwrap();

        assert_eq!(joined.frames, 2);
        assert_eq!(&joined.bytes[417..], frames.as_slice());
    }

    #[test]
    fn ape_tag_at_the_end_is_skipped() {
        let frames = stream(&[cd_frame(false), cd_frame(false)]);
        let items = decoy(144);
        let block = |flags: u32| {
            let mut block = b"APETAGEX".to_vec();
            block.extend(2000u32.to_le_bytes());
            block.extend((items.len() as u32 + 32).to_le_bytes());
            block.extend(1u32.to_le_bytes());
            block.extend(flags.to_le_bytes());
            block.extend([0u8; 8]);
            block
        };
        let with_header = [frames.clone(), block(1 << 31 | 1 << 29), items.clone(), block(1 << 31)];
        let footer_only = [frames.clone(), items.clone(), block(0), id3v1()];

        for chunk in [with_header.concat(), footer_only.concat()] {
            let joined = join(&[chunk]).unwrap();

            assert_eq!(joined.frames, 2);
            assert_eq!(&joined.bytes[417..], frames.as_slice());
        }
    }

    #[test]
    fn info_frames_are_dropped_and_a_fresh_one_counts_all_frames() {
        let first =
            [tag_frame(cd_frame(false), b"Info", 36, 999), stream(&vec![cd_frame(false); 5])];
        let second = [tag_frame(cd_frame(false), b"Xing", 36, 7), stream(&vec![cd_frame(true); 7])];

        let joined = join(&[first.concat(), second.concat()]).unwrap();

        assert_eq!(joined.frames, 12);
        assert_eq!(joined.bytes.len(), 417 + 5 * 417 + 7 * 418);
        assert_eq!(joined.bytes[..4], header(MPEG1, 9, 0, false, JOINT));
        let (tag, frames, bytes) = read_header(&joined.bytes, 36);
        assert_eq!((tag.as_str(), frames), ("Info", 12));
        assert_eq!(bytes as usize, joined.bytes.len());
    }

    #[test]
    fn vbri_frames_are_dropped() {
        let mut vbri = cd_frame(false);
        vbri[36..40].copy_from_slice(b"VBRI");
        let chunk = [vbri, cd_frame(false), cd_frame(false)].concat();

        assert_eq!(probe(&chunk).unwrap().frames, 2);
    }

    #[test]
    fn info_tag_is_found_after_a_crc() {
        let mut head = header(MPEG2, 6, 0, false, MONO);
        head[1] &= !1;
        let info = tag_frame(frame(head, 156), b"Info", 4 + 2 + 9, 1);
        let chunk = [info, frame(head, 156), frame(head, 156)].concat();

        assert_eq!(probe(&chunk).unwrap().frames, 2);
    }

    #[test]
    fn an_info_tag_in_a_later_audio_frame_is_kept() {
        let late = tag_frame(cd_frame(false), b"Info", 36, 1);
        let chunk = [cd_frame(false), late].concat();

        assert_eq!(probe(&chunk).unwrap().frames, 2);
    }

    #[test]
    fn a_xing_header_is_written_when_bitrates_differ() {
        let low = frame(header(MPEG1, 1, 0, false, STEREO), 104);
        let chunk = stream(&[cd_frame(false), low.clone(), cd_frame(true), low]);

        let joined = join(std::slice::from_ref(&chunk)).unwrap();

        let smallest_fitting = header(MPEG1, 3, 0, false, JOINT);
        assert_eq!(joined.bytes[..4], smallest_fitting);
        assert_eq!(&joined.bytes[156..], chunk.as_slice());
        let (tag, frames, bytes) = read_header(&joined.bytes, 36);
        assert_eq!((tag.as_str(), frames, bytes as usize), ("Xing", 4, 156 + chunk.len()));
    }

    #[test]
    fn the_seek_table_rises_with_time() {
        let chunk = stream(&vec![cd_frame(false); 200]);

        let joined = join(&[chunk]).unwrap();

        let table = &joined.bytes[36 + 16..36 + 16 + 100];
        assert_eq!(table[0], (417 * 256 / joined.bytes.len()) as u8);
        assert!(table.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(table[50], ((417 + 100 * 417) * 256 / joined.bytes.len()) as u8);
    }

    #[test]
    fn a_truncated_last_frame_is_dropped() {
        let whole = stream(&[cd_frame(false), cd_frame(false), cd_frame(false)]);
        let chunk = [whole.clone(), cd_frame(false)[..200].to_vec()].concat();

        let joined = join(&[chunk.clone(), chunk]).unwrap();

        assert_eq!(joined.frames, 6);
        assert_eq!(&joined.bytes[417..], [whole.clone(), whole].concat().as_slice());
    }

    #[test]
    fn junk_between_frames_is_skipped() {
        let chunk =
            [cd_frame(false), vec![0x00, 0xFF, 0xFB, 0x12, 0x55], cd_frame(false), cd_frame(true)]
                .concat();

        assert_eq!(probe(&chunk).unwrap().frames, 3);
    }

    #[test]
    fn mismatched_sample_rates_are_rejected() {
        let cd = stream(&[cd_frame(false), cd_frame(false)]);
        let dat = stream(&[frame(header(MPEG1, 9, 1, false, JOINT), 384)]);

        let error = join(&[cd.clone(), cd, dat]).unwrap_err();

        assert_eq!(error, Mp3Error::Mismatch { chunk: 2 });
        assert_eq!(error.code(), "mp3_format_mismatch");
    }

    #[test]
    fn mismatched_channel_counts_are_rejected() {
        let stereo = stream(&[frame(header(MPEG2, 6, 0, false, STEREO), 156)]);
        let mono = stream(&[voice_frame()]);

        assert_eq!(join(&[mono.clone(), stereo.clone()]), Err(Mp3Error::Mismatch { chunk: 1 }));
        assert_eq!(probe(&[mono, stereo].concat()), Err(Mp3Error::Mismatch { chunk: 0 }));
    }

    #[test]
    fn joint_stereo_and_stereo_join() {
        let stereo = frame(header(MPEG1, 9, 0, false, STEREO), 417);

        assert_eq!(join(&[stereo, cd_frame(false)]).unwrap().channels, 2);
    }

    #[test]
    fn input_without_frames_is_rejected() {
        let only_tags = [id3v2(100, false), id3v1()].concat();
        let only_info = tag_frame(cd_frame(false), b"Info", 36, 0);
        let layer_two = frame([0xFF, 0xFD, 0x90, 0x00], 417).repeat(3);

        assert_eq!(join(&[]), Err(Mp3Error::NoFrames { chunk: 0 }));
        for chunk in
            [vec![], vec![0u8; 8], b"not audio at all".to_vec(), only_tags, only_info, layer_two]
        {
            let error = join(&[cd_frame(false), chunk.clone()]).unwrap_err();
            assert_eq!(error, Mp3Error::NoFrames { chunk: 1 });
            assert_eq!(error.code(), "mp3_no_frames");
            assert_eq!(probe(&chunk), Err(Mp3Error::NoFrames { chunk: 0 }));
        }
    }

    #[test]
    fn durations_are_exact() {
        let dat = frame(header(MPEG1, 9, 1, false, STEREO), 384);
        let half_rate = frame(header(MPEG2, 8, 1, false, STEREO), 192);

        let dat_joined = join(&[dat.repeat(100), dat.repeat(25)]).unwrap();
        let half_joined = join(&[half_rate.repeat(50)]).unwrap();
        let cd_joined = join(&[stream(&vec![cd_frame(false); 38])]).unwrap();

        assert_eq!((dat_joined.frames, dat_joined.duration_ms), (125, 3_000));
        assert_eq!((half_joined.frames, half_joined.duration_ms), (50, 1_200));
        assert_eq!(cd_joined.duration_ms, 993, "38 × 1152 / 44100 s = 992.65 ms");
        assert_eq!(cd_joined.sample_rate, 44_100);
    }

    #[test]
    fn mpeg2_mono_voice_frames_join_with_an_info_header() {
        let chunk = voice_frame().repeat(40);

        let joined = join(&[chunk.clone(), chunk.clone(), chunk]).unwrap();

        assert_eq!((joined.sample_rate, joined.channels, joined.frames), (22_050, 1, 120));
        assert_eq!(joined.duration_ms, 3_135, "120 × 576 / 22050 s = 3134.69 ms");
        assert_eq!(joined.bytes[..4], header(MPEG2, 6, 0, false, MONO));
        let (tag, frames, bytes) = read_header(&joined.bytes, 4 + 9);
        assert_eq!((tag.as_str(), frames, bytes as usize), ("Info", 120, 121 * 156));
    }

    #[test]
    fn low_bitrate_streams_get_a_header_frame_large_enough() {
        let tiny = frame(header(MPEG25, 1, 2, false, MONO), 72);

        let joined = join(&[tiny.repeat(10)]).unwrap();

        assert_eq!(joined.bytes[..4], header(MPEG25, 2, 2, false, MONO), "16 kbit/s, 144 bytes");
        assert_eq!(&joined.bytes[144..], tiny.repeat(10).as_slice());
        assert_eq!(read_header(&joined.bytes, 4 + 9).1, 10);
    }

    #[test]
    fn joined_audio_probes_and_rejoins_to_the_same_frames() {
        let chunk = [id3v2(10, false), stream(&vec![cd_frame(false); 9])].concat();
        let joined = join(&[chunk.clone(), chunk]).unwrap();

        let probed = probe(&joined.bytes).unwrap();
        let rejoined = join(std::slice::from_ref(&joined.bytes)).unwrap();

        assert_eq!((probed.frames, probed.duration_ms), (joined.frames, joined.duration_ms));
        assert_eq!(rejoined, joined);
    }

    #[test]
    fn counts_beyond_32_bits_are_too_large() {
        assert_eq!(xing_counts(u64::from(u32::MAX), 10), Ok((u32::MAX, 10)));
        assert_eq!(xing_counts(1 << 32, 10), Err(Mp3Error::TooLarge));
        assert_eq!(xing_counts(10, 1 << 32).unwrap_err().code(), "mp3_too_large");
    }
}
