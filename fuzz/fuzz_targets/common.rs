//! Shared by the advisory importer targets: imported advisories must index and match without
//! panicking, for each affected package at each of its own range bounds.

use scan::advisory::Bound;
use scan::{Advisory, AdvisoryDb, Package};

pub fn match_everything(advisories: Vec<Advisory>) {
    let mut inventory = Vec::new();
    for advisory in &advisories {
        for affected in &advisory.affected {
            let bounds = affected
                .ranges
                .iter()
                .flat_map(|r| r.events())
                .filter_map(|e| match e {
                    scan::advisory::Event::Introduced(Bound::Zero) => None,
                    scan::advisory::Event::Introduced(Bound::At(v))
                    | scan::advisory::Event::Fixed(v)
                    | scan::advisory::Event::LastAffected(v)
                    | scan::advisory::Event::Limit(v) => Some(v.to_string()),
                });
            for version in bounds.chain(affected.unparsed_versions.iter().cloned()) {
                inventory.push(Package {
                    ecosystem: affected.ecosystem,
                    name: affected.name.clone(),
                    version,
                    release: affected.release.clone(),
                    source: Some((affected.name.clone(), None)),
                });
            }
        }
    }
    let mut db = AdvisoryDb::new();
    for advisory in advisories {
        db.insert(advisory);
    }
    let _ = db.match_inventory(&inventory);
}
