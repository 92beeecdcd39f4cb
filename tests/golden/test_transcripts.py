"""Self-checks of the transcript parser (byte counts are verified while parsing)."""

from transcript import help_all_groups, parse_api, parse_cli, unescape


def test_all_api_transcripts_parse():
    counts = {
        f: len(parse_api(f))
        for f in ["api-basics.md", "api-services.md", "api-logs.md", "api-exec.md", "api-files.md", "api-checks-notices-misc.md"]
    }
    assert counts == {
        "api-basics.md": 40,
        "api-services.md": 70,
        "api-logs.md": 10,
        "api-exec.md": 17,
        "api-files.md": 41,
        "api-checks-notices-misc.md": 52,
    }


def test_request_reconstruction():
    ex = parse_api("api-basics.md")[10]
    assert ex.number == 11
    assert ex.request_bytes() == (
        b"POST /v1/services HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 9\r\n\r\n{not json"
    )
    assert ex.status == 400
    assert ex.headers[0] == ("Content-Type", "application/json")


def test_chunked_and_newline_bodies():
    logs = parse_api("api-logs.md")
    assert logs[0].chunks == [160, 0]
    assert logs[0].body.endswith(b'"alpha tick 48"}\n')
    assert logs[4].body == b""


def test_prose_between_exchanges_is_kept():
    services = parse_api("api-services.md")
    assert "gamma stopped again" in services[20].prose_before[0]


def test_cli_entries():
    entries = parse_cli()
    assert len(entries) == 124
    assert entries[0].argv == ["pebble", "version"]
    assert entries[0].stdout == b"client  v1.32.1\nserver  v1.32.1\n"
    assert entries[71].argv == ["pebble", "ls", "/srv/golden/remote/*.txt"]
    assert "/srv/golden/layers/base.yaml" in entries[8].fixtures_before
    assert dict(help_all_groups())["Plan"] == ["add", "plan", "replan"]


def test_unescape():
    assert unescape(r"a\r\nb\\c\x00") == b"a\r\nb\\c\x00"
