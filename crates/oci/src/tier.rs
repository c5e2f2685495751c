//! Trust tiers: how far a user can trust what a namespace publishes, at a glance. Every answer
//! about a repository carries one.

use std::fmt;
use std::str::FromStr;

use crate::platform::Architecture;
use crate::reference::OFFICIAL_NAMESPACE;

/// The trust tier of a repository, from its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrustTier {
    /// `official`: `library/`, built and published by the Official Images program.
    Official,
    /// `verified-publisher`: an organisation an admin verified as the software's publisher.
    VerifiedPublisher,
    /// `sponsored-oss`: an open-source project's organisation an admin marked as sponsored.
    SponsoredOss,
    /// `community`: everyone else.
    Community,
}

/// The tiers an admin may give an organisation. `official` belongs to `library/` alone, so a
/// type without it makes "an organisation set to official" impossible to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganisationTier {
    /// `verified-publisher`.
    VerifiedPublisher,
    /// `sponsored-oss`.
    SponsoredOss,
}

/// A name that is not a tier, or not one an organisation may have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a tier here: use {expected}", expected = .1)]
pub struct UnknownTier(pub String, &'static str);

impl TrustTier {
    /// Every tier, most trusted first.
    pub const ALL: [TrustTier; 4] = [
        TrustTier::Official,
        TrustTier::VerifiedPublisher,
        TrustTier::SponsoredOss,
        TrustTier::Community,
    ];

    /// The tier's name in API answers and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustTier::Official => "official",
            TrustTier::VerifiedPublisher => "verified-publisher",
            TrustTier::SponsoredOss => "sponsored-oss",
            TrustTier::Community => "community",
        }
    }

    /// The tier of the repository `name`, in its stored form (`library/python`, never
    /// `python`), given the tier an admin set on its namespace, if any.
    ///
    /// `library/` is official whatever is stored; the architecture namespaces (`amd64/`, …)
    /// are the program's build outputs, not organisations, so a tier set on them is ignored;
    /// a name without a namespace is community.
    pub fn of_repository(name: &str, organisation_tier: Option<OrganisationTier>) -> Self {
        match organisation_namespace(name) {
            Namespace::Library => TrustTier::Official,
            Namespace::Organisation => organisation_tier.map_or(TrustTier::Community, Into::into),
            Namespace::Other => TrustTier::Community,
        }
    }
}

/// What the namespace of a stored name (the part before its first `/`) is, for tiers.
enum Namespace {
    Library,
    Organisation,
    Other,
}

fn organisation_namespace(name: &str) -> Namespace {
    match name.split_once('/').map(|(namespace, _)| namespace) {
        Some(OFFICIAL_NAMESPACE) => Namespace::Library,
        Some(namespace) if namespace.parse::<Architecture>().is_err() => Namespace::Organisation,
        _ => Namespace::Other,
    }
}

impl OrganisationTier {
    /// The tier's name, as [`TrustTier::as_str`] spells it.
    pub fn as_str(self) -> &'static str {
        TrustTier::from(self).as_str()
    }
}

impl From<OrganisationTier> for TrustTier {
    fn from(tier: OrganisationTier) -> Self {
        match tier {
            OrganisationTier::VerifiedPublisher => TrustTier::VerifiedPublisher,
            OrganisationTier::SponsoredOss => TrustTier::SponsoredOss,
        }
    }
}

impl fmt::Display for TrustTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OrganisationTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrustTier {
    type Err = UnknownTier;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|tier| tier.as_str() == name)
            .ok_or_else(|| {
                UnknownTier(
                    name.to_owned(),
                    "official, verified-publisher, sponsored-oss or community",
                )
            })
    }
}

impl FromStr for OrganisationTier {
    type Err = UnknownTier;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "verified-publisher" => Ok(OrganisationTier::VerifiedPublisher),
            "sponsored-oss" => Ok(OrganisationTier::SponsoredOss),
            _ => Err(UnknownTier(
                name.to_owned(),
                "verified-publisher or sponsored-oss (official is library/'s alone)",
            )),
        }
    }
}

impl serde::Serialize for TrustTier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TrustTier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_namespace_and_the_admin_setting() {
        let verified = Some(OrganisationTier::VerifiedPublisher);
        let sponsored = Some(OrganisationTier::SponsoredOss);
        for (name, set, expected) in [
            ("library/python", None, TrustTier::Official),
            ("library/python", verified, TrustTier::Official),
            ("acme/app", None, TrustTier::Community),
            ("acme/app", verified, TrustTier::VerifiedPublisher),
            ("acme/tools/cli", sponsored, TrustTier::SponsoredOss),
            ("amd64/python", verified, TrustTier::Community),
            ("windows-amd64/python", None, TrustTier::Community),
            ("python", verified, TrustTier::Community),
            ("libraryx/python", None, TrustTier::Community),
        ] {
            assert_eq!(TrustTier::of_repository(name, set), expected, "{name}");
        }
    }

    #[test]
    fn names_round_trip_through_text_and_json() {
        for tier in TrustTier::ALL {
            assert_eq!(tier.as_str().parse::<TrustTier>(), Ok(tier));
            let json = serde_json::to_string(&tier).unwrap();
            assert_eq!(json, format!("\"{tier}\""));
            assert_eq!(serde_json::from_str::<TrustTier>(&json).unwrap(), tier);
        }
        assert!(serde_json::from_str::<TrustTier>("\"gold\"").is_err());
        assert_eq!(
            "sponsored-oss".parse::<OrganisationTier>(),
            Ok(OrganisationTier::SponsoredOss)
        );
        let refused = "official".parse::<OrganisationTier>().unwrap_err();
        assert!(refused.to_string().contains("library/"), "{refused}");
    }
}
