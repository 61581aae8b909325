//! Read receipts are shared only in small chats: nobody reads 2,000 receipts, and sending each
//! member's read marker to everyone in a large chat would flood it.

use kolokol_proto::ErrorCode;

use crate::{Rejection, reject};

/// Above this many members a read marker goes only to the reader's own devices, and "read by"
/// lists are not offered.
pub const READ_RECEIPT_MAX_MEMBERS: i64 = 100;

/// Whether a read marker in a chat of `member_count` goes to the whole chat (`true`) or only to
/// the reader's own devices.
pub fn shared_with_chat(member_count: i64) -> bool {
    member_count <= READ_RECEIPT_MAX_MEMBERS
}

/// Whether the chat offers "read by" lists.
pub fn read_by(member_count: i64) -> Result<(), Rejection> {
    if !shared_with_chat(member_count) {
        return reject(
            ErrorCode::ChatTooLarge,
            format!("read receipts are kept for chats of up to {READ_RECEIPT_MAX_MEMBERS} members"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_stop_above_the_limit() {
        assert!(shared_with_chat(READ_RECEIPT_MAX_MEMBERS));
        assert!(read_by(READ_RECEIPT_MAX_MEMBERS).is_ok());
        assert!(!shared_with_chat(READ_RECEIPT_MAX_MEMBERS + 1));
        let refusal = read_by(READ_RECEIPT_MAX_MEMBERS + 1).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::ChatTooLarge);
        assert_eq!(
            refusal.message,
            "read receipts are kept for chats of up to 100 members"
        );
    }
}
