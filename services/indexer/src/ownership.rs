//! Which partitions of the topic an indexer owns.
//!
//! Ownership is static: replica `i` of `n` owns every partition `p` with
//! `p % n == i`, so owners never move while replicas restart and there is no consumer
//! group to rebalance (README, "Scaling out").

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// Every partition, including ones added later: a single indexer.
    All,
    /// Exactly these partitions.
    Listed(Vec<i32>),
    /// Replica `ordinal` of `replicas` (a StatefulSet's ordinal and size).
    Replica { ordinal: u32, replicas: u32 },
}

impl Ownership {
    pub fn owns(&self, partition: i32) -> bool {
        match self {
            Ownership::All => true,
            Ownership::Listed(partitions) => partitions.contains(&partition),
            Ownership::Replica { ordinal, replicas } => {
                partition >= 0 && (partition as u32) % replicas.max(&1) == *ordinal
            }
        }
    }

    /// The ordinal in a StatefulSet pod's host name (`pivotlog-indexer-2` → 2).
    pub fn ordinal_of_hostname(hostname: &str) -> Option<u32> {
        hostname.rsplit_once('-')?.1.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_split_the_partitions_without_overlap() {
        let replicas = 3;
        for partition in 0..12 {
            let owners = (0..replicas)
                .filter(|&ordinal| Ownership::Replica { ordinal, replicas }.owns(partition))
                .count();
            assert_eq!(owners, 1, "partition {partition}");
        }
        assert!(Ownership::Replica {
            ordinal: 1,
            replicas: 3
        }
        .owns(4));
        assert!(!Ownership::Replica {
            ordinal: 1,
            replicas: 3
        }
        .owns(5));
        assert!(Ownership::Listed(vec![2, 5]).owns(5));
        assert!(Ownership::All.owns(99));
    }

    #[test]
    fn ordinals_come_from_statefulset_host_names() {
        assert_eq!(Ownership::ordinal_of_hostname("pivotlog-indexer-2"), Some(2));
        assert_eq!(Ownership::ordinal_of_hostname("pivotlog-indexer-12"), Some(12));
        assert_eq!(Ownership::ordinal_of_hostname("laptop"), None);
        assert_eq!(Ownership::ordinal_of_hostname("web-x"), None);
    }
}
