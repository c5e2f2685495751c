//! Every real library file parses, round-trips through the canonical printer, and lists the
//! tags bashbrew lists.

use library::{parse, print, Library};

use crate::real_library_dir;

fn real_library() -> Library {
    let (library, errors) =
        Library::load_dir(&real_library_dir()).expect("read the testdata folder");
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        errors.is_empty(),
        "real files failed to parse:\n{}",
        errors.join("\n")
    );
    library
}

#[test]
fn every_real_file_parses_and_only_the_readme_is_skipped() {
    let library = real_library();
    assert_eq!(library.repos().count(), 108);
    let skipped: Vec<_> = library
        .skipped()
        .iter()
        .filter_map(|p| p.file_name())
        .collect();
    assert_eq!(skipped, ["README.txt"]);
}

#[test]
fn every_real_file_round_trips_through_the_canonical_form() {
    for (name, file) in real_library().repos() {
        let printed = print(file);
        let reparsed = parse(&printed)
            .unwrap_or_else(|e| panic!("{name}: canonical form does not parse:\n{e}\n{printed}"));
        assert_eq!(&reparsed, file, "{name}: canonical form changes the model");
        assert_eq!(
            print(&reparsed),
            printed,
            "{name}: canonical form is not a fixed point"
        );
    }
}
