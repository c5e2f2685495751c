//! The architectures of the Official Images program (bashbrew's names) and the OCI platforms
//! they map to.

use std::fmt;
use std::str::FromStr;

/// One architecture an Official Image can be built for, named as bashbrew and the per-arch
/// registry namespaces (`amd64/…`, `arm64v8/…`) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Architecture {
    /// `amd64`: linux/amd64.
    Amd64,
    /// `arm32v5`: linux/arm/v5.
    Arm32v5,
    /// `arm32v6`: linux/arm/v6.
    Arm32v6,
    /// `arm32v7`: linux/arm/v7.
    Arm32v7,
    /// `arm64v8`: linux/arm64/v8.
    Arm64v8,
    /// `i386`: linux/386.
    I386,
    /// `mips64le`: linux/mips64le.
    Mips64le,
    /// `ppc64le`: linux/ppc64le.
    Ppc64le,
    /// `riscv64`: linux/riscv64.
    Riscv64,
    /// `s390x`: linux/s390x.
    S390x,
    /// `windows-amd64`: windows/amd64.
    WindowsAmd64,
}

/// The OCI platform (`os`, `architecture`, `variant`) an [`Architecture`] builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Platform {
    /// The OCI `os` value, `linux` or `windows`.
    pub os: &'static str,
    /// The OCI (GOARCH-style) `architecture` value.
    pub architecture: &'static str,
    /// The OCI `variant`, where the architecture has one.
    pub variant: Option<&'static str>,
}

/// A name that is not one of the program's architectures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture {0:?} (expected one of: {list})", list = Architecture::names().join(", "))]
pub struct UnknownArchitecture(pub String);

impl Architecture {
    /// Every architecture, in bashbrew's (alphabetical) order.
    pub const ALL: [Architecture; 11] = [
        Architecture::Amd64,
        Architecture::Arm32v5,
        Architecture::Arm32v6,
        Architecture::Arm32v7,
        Architecture::Arm64v8,
        Architecture::I386,
        Architecture::Mips64le,
        Architecture::Ppc64le,
        Architecture::Riscv64,
        Architecture::S390x,
        Architecture::WindowsAmd64,
    ];

    /// The architecture's name as written in library files and namespaces.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Amd64 => "amd64",
            Architecture::Arm32v5 => "arm32v5",
            Architecture::Arm32v6 => "arm32v6",
            Architecture::Arm32v7 => "arm32v7",
            Architecture::Arm64v8 => "arm64v8",
            Architecture::I386 => "i386",
            Architecture::Mips64le => "mips64le",
            Architecture::Ppc64le => "ppc64le",
            Architecture::Riscv64 => "riscv64",
            Architecture::S390x => "s390x",
            Architecture::WindowsAmd64 => "windows-amd64",
        }
    }

    /// All names, for messages that list the valid choices.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|arch| arch.as_str()).collect()
    }

    /// The OCI platform this architecture's images are built for.
    pub fn platform(self) -> Platform {
        let linux = |architecture, variant| Platform {
            os: "linux",
            architecture,
            variant,
        };
        match self {
            Architecture::Amd64 => linux("amd64", None),
            Architecture::Arm32v5 => linux("arm", Some("v5")),
            Architecture::Arm32v6 => linux("arm", Some("v6")),
            Architecture::Arm32v7 => linux("arm", Some("v7")),
            Architecture::Arm64v8 => linux("arm64", Some("v8")),
            Architecture::I386 => linux("386", None),
            Architecture::Mips64le => linux("mips64le", None),
            Architecture::Ppc64le => linux("ppc64le", None),
            Architecture::Riscv64 => linux("riscv64", None),
            Architecture::S390x => linux("s390x", None),
            Architecture::WindowsAmd64 => Platform {
                os: "windows",
                architecture: "amd64",
                variant: None,
            },
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Architecture {
    type Err = UnknownArchitecture;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|arch| arch.as_str() == name)
            .ok_or_else(|| UnknownArchitecture(name.to_owned()))
    }
}

impl serde::Serialize for Architecture {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_map_to_platforms() {
        for arch in Architecture::ALL {
            assert_eq!(arch.as_str().parse::<Architecture>(), Ok(arch));
        }
        assert_eq!(
            Architecture::Arm32v7.platform(),
            Platform {
                os: "linux",
                architecture: "arm",
                variant: Some("v7")
            }
        );
        assert_eq!(Architecture::WindowsAmd64.platform().os, "windows");
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = "arm64".parse::<Architecture>().unwrap_err();
        assert!(err.to_string().contains("arm64v8"), "{err}");
    }
}
