//! Shared by the advisory importer targets: any bytes give advisories or reported problems,
//! never a panic, and imported advisories index and match without panicking, for each affected
//! package at each of its own range bounds.

use scan::advisory::Bound;
use scan::import::{import_reader, Format, ImportReport};
use scan::{Advisory, AdvisoryDb, Package};

/// Imports `data` as `format` (as JSON when it starts with `{`, else as YAML) and matches the
/// result.
pub fn import_and_match(format: Format, data: &[u8]) {
    let name = if data.first() == Some(&b'{') {
        "data.json"
    } else {
        "data.yaml"
    };
    let mut report = ImportReport::default();
    let mut advisories = Vec::new();
    import_reader(format, name, data, &mut |a| advisories.push(a), &mut report);
    match_everything(advisories);
}

fn match_everything(advisories: Vec<Advisory>) {
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
