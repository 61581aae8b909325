//! Polls: what a valid poll is, what a valid vote is, and how votes are counted.

use std::collections::BTreeSet;

use kolokol_proto::{ErrorCode, Millis, Poll, PollTally, UserId};

use crate::Rejection;

pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 10;
pub const MAX_OPTION_CHARS: usize = 100;

/// The poll with its options trimmed, or why it cannot be sent at `now`.
pub fn validate(poll: Poll, now: Millis) -> Result<Poll, Rejection> {
    let invalid = |message: &str| Rejection::new(ErrorCode::InvalidPoll, message.to_owned());
    if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&poll.options.len()) {
        return Err(invalid("a poll has 2 to 10 options"));
    }
    let mut options = Vec::with_capacity(poll.options.len());
    for option in &poll.options {
        let option = crate::validate::poll_option(option)
            .map_err(|_| invalid("each option is 1 to 100 characters of text"))?;
        if options.contains(&option) {
            return Err(invalid("the options must differ"));
        }
        options.push(option);
    }
    if poll.closes_at.is_some_and(|closes_at| closes_at <= now) {
        return Err(invalid("the deadline must be in the future"));
    }
    Ok(Poll { options, ..poll })
}

pub fn is_closed(poll: &Poll, now: Millis) -> bool {
    poll.closes_at.is_some_and(|closes_at| closes_at <= now)
}

/// The options of a vote, sorted and without repeats, or why the poll does not take it.
/// An empty vote takes the voter's earlier one back.
pub fn check_vote(poll: &Poll, options: &[u32], now: Millis) -> Result<Vec<u32>, Rejection> {
    if is_closed(poll, now) {
        return Err(Rejection::new(ErrorCode::PollClosed, "this poll is closed"));
    }
    let chosen: BTreeSet<u32> = options.iter().copied().collect();
    if chosen
        .iter()
        .any(|&option| option as usize >= poll.options.len())
    {
        return Err(Rejection::new(
            ErrorCode::InvalidVote,
            "the poll has no such option",
        ));
    }
    if !poll.multiple && chosen.len() > 1 {
        return Err(Rejection::new(
            ErrorCode::InvalidVote,
            "this poll takes one option",
        ));
    }
    Ok(chosen.into_iter().collect())
}

/// Counts `votes` (voter, option): per option, voters in all, and — unless the poll is
/// anonymous — who chose what.
pub fn tally(poll: &Poll, votes: &[(UserId, u32)]) -> PollTally {
    let mut counts = vec![0u32; poll.options.len()];
    let mut by_option = vec![Vec::new(); poll.options.len()];
    let mut voters = BTreeSet::new();
    for &(user_id, option) in votes {
        let Some(count) = counts.get_mut(option as usize) else {
            continue;
        };
        *count += 1;
        by_option[option as usize].push(user_id);
        voters.insert(user_id);
    }
    PollTally {
        counts,
        voters: voters.len() as u32,
        voter_ids: (!poll.anonymous).then_some(by_option),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn poll(options: &[&str], multiple: bool, anonymous: bool) -> Poll {
        Poll {
            options: options.iter().map(|&option| option.to_owned()).collect(),
            multiple,
            anonymous,
            closes_at: None,
        }
    }

    #[test]
    fn polls_need_two_to_ten_distinct_options_and_a_future_deadline() {
        let ok = validate(poll(&[" Да ", "Нет"], false, false), 0).unwrap();
        assert_eq!(ok.options, ["Да", "Нет"]);
        for bad in [
            poll(&["Да"], false, false),
            poll(&["Да", "Да "], false, false),
            poll(&["Да", "  "], false, false),
            poll(&["Да", &"x".repeat(101)], false, false),
            poll(
                &["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"],
                false,
                false,
            ),
            Poll {
                closes_at: Some(10),
                ..poll(&["Да", "Нет"], false, false)
            },
        ] {
            assert_eq!(
                validate(bad.clone(), 10).unwrap_err().code,
                ErrorCode::InvalidPoll,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn votes_follow_the_poll() {
        let single = poll(&["a", "b", "c"], false, false);
        assert_eq!(check_vote(&single, &[1], 0).unwrap(), [1]);
        assert_eq!(check_vote(&single, &[1, 1], 0).unwrap(), [1]);
        assert_eq!(check_vote(&single, &[], 0).unwrap(), Vec::<u32>::new());
        assert_eq!(
            check_vote(&single, &[0, 2], 0).unwrap_err().code,
            ErrorCode::InvalidVote
        );
        assert_eq!(
            check_vote(&single, &[3], 0).unwrap_err().code,
            ErrorCode::InvalidVote
        );
        let multiple = poll(&["a", "b", "c"], true, false);
        assert_eq!(check_vote(&multiple, &[2, 0, 2], 0).unwrap(), [0, 2]);
        let closed = Poll {
            closes_at: Some(100),
            ..single
        };
        assert!(check_vote(&closed, &[0], 99).is_ok());
        assert_eq!(
            check_vote(&closed, &[0], 100).unwrap_err().code,
            ErrorCode::PollClosed
        );
    }

    #[test]
    fn anonymous_polls_name_nobody() {
        let votes = [(7, 0), (8, 0), (8, 1)];
        let named = tally(&poll(&["a", "b"], true, false), &votes);
        assert_eq!(named.counts, [2, 1]);
        assert_eq!(named.voters, 2);
        assert_eq!(named.voter_ids, Some(vec![vec![7, 8], vec![8]]));
        let anonymous = tally(&poll(&["a", "b"], true, true), &votes);
        assert_eq!(
            (anonymous.counts, anonymous.voters, anonymous.voter_ids),
            (vec![2, 1], 2, None)
        );
    }

    proptest! {
        /// Counts add up to the votes on real options, and voters never exceed them.
        #[test]
        fn tallies_add_up(options in 2usize..=10, votes in proptest::collection::vec((0i64..20, 0u32..12), 0..60)) {
            let poll = Poll { options: (0..options).map(|i| i.to_string()).collect(), multiple: true, anonymous: false, closes_at: None };
            let counted = tally(&poll, &votes);
            let valid = votes.iter().filter(|(_, option)| (*option as usize) < options).count();
            prop_assert_eq!(counted.counts.iter().sum::<u32>() as usize, valid);
            prop_assert!(counted.voters as usize <= valid);
            let named: usize = counted.voter_ids.unwrap().iter().map(Vec::len).sum();
            prop_assert_eq!(named, valid);
        }
    }
}
