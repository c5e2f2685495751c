use super::*;

fn kinds(text: &str) -> Vec<InstructionKind> {
    parse_dockerfile(text)
        .unwrap_or_else(|err| panic!("{text:?}: {err}"))
        .into_iter()
        .map(|i| i.kind)
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn copy(add: bool, sources: &[&str], dest: &str) -> InstructionKind {
    InstructionKind::Copy(CopySpec {
        add,
        sources: strings(sources),
        dest: dest.into(),
        chown: None,
        chmod: None,
        from: None,
    })
}

fn scratch() -> InstructionKind {
    InstructionKind::From {
        image: "scratch".into(),
        stage: None,
        platform: None,
    }
}

#[test]
fn instructions_are_read_with_words_processed() {
    let cases: Vec<(&str, Vec<InstructionKind>)> = vec![
        (
            "FROM scratch\nADD rootfs.tar.xz /\nCMD [\"bash\"]\n",
            vec![
                scratch(),
                copy(true, &["rootfs.tar.xz"], "/"),
                InstructionKind::Cmd(strings(&["bash"])),
            ],
        ),
        (
            "# syntax=docker/dockerfile:1\n# comment\nfrom scratch\ncopy \\\n  # a comment inside\n\n  a b \\\n  /dst/\n",
            vec![scratch(), copy(false, &["a", "b"], "/dst/")],
        ),
        (
            "# escape=`\nFROM scratch\nCOPY a `\n  c:/dst\n",
            vec![scratch(), copy(false, &["a"], "c:/dst")],
        ),
        (
            "ARG DIR=/opt\nFROM scratch\nARG DIR\nARG NAME=app\nENV HOME=$DIR/${NAME} PATH=\"/a b\"\nCOPY ${NAME}.sh $HOME/\n",
            vec![
                InstructionKind::Arg(vec![("DIR".into(), Some("/opt".into()))]),
                scratch(),
                InstructionKind::Arg(vec![("DIR".into(), None)]),
                InstructionKind::Arg(vec![("NAME".into(), Some("app".into()))]),
                InstructionKind::Env(pairs(&[("HOME", "/opt/app"), ("PATH", "/a b")])),
                copy(false, &["app.sh"], "/opt/app/"),
            ],
        ),
        (
            "FROM scratch\nENV A one two\nLABEL \"org.x\"='single $A' b=\"dq $A\" c=${MISSING:-def} d=${A:+set}\n",
            vec![
                scratch(),
                InstructionKind::Env(pairs(&[("A", "one two")])),
                InstructionKind::Label(pairs(&[
                    ("org.x", "single $A"),
                    ("b", "dq one two"),
                    ("c", "def"),
                    ("d", "set"),
                ])),
            ],
        ),
        (
            "FROM scratch\nENTRYPOINT /bin/run --flag\nCMD [\"--x\", \"$HOME\"]\nUSER 1000:1000\nWORKDIR /app\nEXPOSE 80 53/udp\nVOLUME [\"/data\"]\nSTOPSIGNAL SIGINT\n",
            vec![
                scratch(),
                InstructionKind::Entrypoint(strings(&["/bin/sh", "-c", "/bin/run --flag"])),
                InstructionKind::Cmd(strings(&["--x", "$HOME"])),
                InstructionKind::User("1000:1000".into()),
                InstructionKind::Workdir("/app".into()),
                InstructionKind::Expose(strings(&["80", "53/udp"])),
                InstructionKind::Volume(strings(&["/data"])),
                InstructionKind::StopSignal("SIGINT".into()),
            ],
        ),
        (
            "FROM scratch\nCOPY --chown=1:2 --chmod=755 --link [\"a b\", \"/x y/\"]\nRUN true\n",
            vec![
                scratch(),
                InstructionKind::Copy(CopySpec {
                    add: false,
                    sources: strings(&["a b"]),
                    dest: "/x y/".into(),
                    chown: Some("1:2".into()),
                    chmod: Some("755".into()),
                    from: None,
                }),
                InstructionKind::NeedsEngine {
                    keyword: "RUN".into(),
                },
            ],
        ),
        (
            "FROM --platform=$BUILDPLATFORM debian:12 AS base\n",
            vec![InstructionKind::From {
                image: "debian:12".into(),
                stage: Some("base".into()),
                platform: Some(String::new()),
            }],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(kinds(text), expected, "{text:?}");
    }
}

#[test]
fn broken_dockerfiles_name_the_line_and_the_fix() {
    let cases = [
        ("# escape=x\nFROM scratch\n", "line 1: the escape directive must be \\ or `, not \"x\""),
        ("FROM scratch\nFETCH x\n", "line 2: unknown instruction \"FETCH\""),
        ("FROM scratch\nCOPY onlyone\n", "line 2: COPY needs at least one source and a destination"),
        ("COPY a b\n", "line 1: COPY comes before FROM: only ARG may"),
        ("ARG A=1\n", "the Dockerfile has no FROM instruction"),
        ("FROM scratch\nENV A=\"open\n", "line 2: unterminated \" quote"),
        ("FROM scratch\nENV A=${B\n", "line 2: bad substitution \"${B\": use $NAME, ${NAME}, ${NAME:-default} or ${NAME:+alternative}"),
        ("FROM scratch\nENV A=${B?x}\n", "line 2: bad substitution \"${B?x}\": use $NAME, ${NAME}, ${NAME:-default} or ${NAME:+alternative}"),
        ("FROM scratch\nLABEL a=1 b\n", "line 2: LABEL expects NAME=value pairs; \"a=1 b\" is not one"),
        ("FROM scratch\nENV\n", "line 2: ENV needs arguments"),
        ("FROM scratch\nCOPY --exclude=x a b\n", "line 2: unknown COPY flag \"--exclude=x\""),
        ("FROM a b c d\n", "line 1: FROM needs one image, optionally followed by AS name"),
    ];
    for (text, expected) in cases {
        let err = parse_dockerfile(text).unwrap_err();
        assert_eq!(err.to_string(), expected, "{text:?}");
    }
}

#[test]
fn history_text_joins_continuations() {
    let parsed = parse_dockerfile("FROM scratch\nCOPY a \\\n  /b\n").unwrap();
    assert_eq!(parsed[1].line, 2);
    assert_eq!(parsed[1].text, "COPY a   /b");
}
