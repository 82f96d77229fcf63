//! Finding where a reorg forked: the highest block of the stored window whose hash the node still
//! has at that height. Every block hash commits to all its ancestors, so one equal hash proves the
//! whole chain below it is shared.

use std::collections::HashMap;

use alloy::primitives::B256;
use runs_db::BlockRef;

/// The highest block of `stored` (any order) that the node still has at the same height with the
/// same hash, given the node's hashes by number (a number missing from `node` is a block the
/// node does not have). `None`: the fork is deeper than the stored window.
pub fn find_common_ancestor(stored: &[BlockRef], node: &HashMap<u64, B256>) -> Option<BlockRef> {
    stored
        .iter()
        .filter(|block| node.get(&block.number) == Some(&block.hash))
        .max_by_key(|block| block.number)
        .copied()
}

/// Whether `first` (the first block of a new range) builds on the indexed `checkpoint`.
pub fn extends(checkpoint: &BlockRef, first: &BlockRef) -> bool {
    first.number == checkpoint.number + 1 && first.parent_hash == checkpoint.hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(fork: u8, number: u64) -> B256 {
        let mut bytes = [fork; 32];
        bytes[24..].copy_from_slice(&number.to_be_bytes());
        B256::from(bytes)
    }

    fn chain(fork_at: u64, from: u64, to: u64, fork: u8) -> Vec<BlockRef> {
        (from..=to)
            .map(|number| {
                let f = |n: u64| if n > fork_at { fork } else { 0 };
                BlockRef {
                    number,
                    hash: hash(f(number), number),
                    parent_hash: hash(f(number.saturating_sub(1)), number.saturating_sub(1)),
                    timestamp: number * 12,
                }
            })
            .collect()
    }

    fn node_map(blocks: &[BlockRef]) -> HashMap<u64, B256> {
        blocks.iter().map(|block| (block.number, block.hash)).collect()
    }

    #[test]
    fn finds_the_fork_point_at_every_depth_inside_the_window() {
        for depth in [1u64, 2, 5, 30, 63] {
            let stored: Vec<_> = chain(u64::MAX, 37, 100, 0).into_iter().rev().collect();
            let node = node_map(&chain(100 - depth, 0, 100, 1));
            let ancestor = find_common_ancestor(&stored, &node).expect("inside the window");
            assert_eq!(ancestor.number, 100 - depth, "depth {depth}");
            assert_eq!(ancestor.hash, hash(0, 100 - depth));
        }
    }

    #[test]
    fn no_ancestor_when_the_fork_is_deeper_than_the_window() {
        let stored = chain(u64::MAX, 90, 100, 0);
        let node = node_map(&chain(80, 0, 100, 1));
        assert_eq!(find_common_ancestor(&stored, &node), None);
        assert_eq!(find_common_ancestor(&[], &node), None);
    }

    #[test]
    fn a_shorter_node_chain_and_gaps_in_the_window_are_handled() {
        // Sparse window (deep backfill stores only range ends), node shorter after the reorg.
        let full = chain(u64::MAX, 0, 100, 0);
        let stored: Vec<_> = full.iter().filter(|b| b.number % 10 == 0).copied().collect();
        let node = node_map(&chain(45, 0, 95, 2));
        assert_eq!(find_common_ancestor(&stored, &node).map(|b| b.number), Some(40));
    }

    #[test]
    fn extends_checks_number_and_parent_hash() {
        let blocks = chain(u64::MAX, 9, 11, 0);
        assert!(extends(&blocks[0], &blocks[1]));
        assert!(!extends(&blocks[0], &blocks[2]));
        let forked = chain(9, 10, 10, 3);
        assert!(extends(&blocks[0], &forked[0]));
        let forked = chain(8, 10, 10, 3);
        assert!(!extends(&blocks[0], &forked[0]), "parent hash differs");
    }
}
