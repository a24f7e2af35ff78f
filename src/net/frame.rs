//! Wire format: length-delimited frames carrying postcard-encoded messages.
//!
//! Every TCP connection carries frames from one endpoint to another. The first frame is a
//! [`Hello`] naming both ends (so a reader knows whose messages it receives and can refuse a
//! connection meant for an endpoint that no longer listens there); every later frame is one
//! message. postcard keeps frames compact, so byte counts resemble a real binary protocol.
//!
//! Deliberately left out: versioning and compression (both ends are the same build).

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::codec::LengthDelimitedCodec;

/// Largest frame accepted; a picture is at most 1 MiB, so this leaves ample room.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// The first frame on every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub from: u32,
    pub to: u32,
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[error("message encoding: {0}")]
pub struct CodecError(#[from] postcard::Error);

/// The length-delimited codec used on every connection.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_BYTES)
        .new_codec()
}

pub fn encode<M: Serialize>(msg: &M) -> Result<Bytes, CodecError> {
    Ok(Bytes::from(postcard::to_stdvec(msg)?))
}

pub fn decode<M: DeserializeOwned>(frame: &[u8]) -> Result<M, CodecError> {
    Ok(postcard::from_bytes(frame)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Msg {
        Put { key: String, value: Vec<u8> },
        Ack(u64),
    }

    #[test]
    fn round_trips_and_is_compact() {
        let m = Msg::Put {
            key: "profile/alice".into(),
            value: vec![7; 100],
        };
        let b = encode(&m).unwrap();
        assert!(b.len() < 120, "{} bytes", b.len());
        assert_eq!(decode::<Msg>(&b).unwrap(), m);
        assert_eq!(
            decode::<Msg>(&encode(&Msg::Ack(3)).unwrap()).unwrap(),
            Msg::Ack(3)
        );
        assert!(decode::<Msg>(&[9, 9, 9]).is_err());
    }
}
