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


def _serve_recorded(sock_path, exchanges):
    """A stand-in server answering each request with its recorded response."""
    import socket
    import threading

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(8)
    by_request = {}
    for ex in exchanges:
        by_request.setdefault(ex.request_bytes(), []).append(ex)

    def handle(conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
            ex = by_request[head + b"\r\n\r\n" + body].pop(0)
            out = (ex.status_line + "\r\n").encode()
            out += b"".join(f"{k}: {v}\r\n".encode() for k, v in ex.headers) + b"\r\n"
            if ex.chunks is not None:
                data_chunks = [c for c in ex.chunks if c]
                pos = 0
                for c in data_chunks:
                    out += f"{c:x}\r\n".encode() + ex.body[pos : pos + c] + b"\r\n"
                    pos += c
                if 0 in ex.chunks:
                    out += b"0\r\n\r\n"
            else:
                out += ex.body
            conn.sendall(out)
            if ex.chunks is not None and 0 not in ex.chunks:
                import time

                time.sleep(1)  # a stream that does not end by itself

    def loop():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv


def test_harness_matches_the_recorded_responses(tmp_path):
    """Replaying against a server that sends back the recorded bytes must match
    everywhere: checks the parser, the HTTP reader and the comparison together."""
    import os
    import tempfile

    from compare import compare_response
    from pebble_support import raw_request

    files = ["api-basics.md", "api-services.md", "api-logs.md", "api-files.md", "api-checks-notices-misc.md"]
    exchanges = [e for f in files for e in parse_api(f)]
    d = tempfile.mkdtemp(prefix="pb-fake-", dir="/tmp")
    sock_path = os.path.join(d, "s")
    srv = _serve_recorded(sock_path, exchanges)
    try:
        streaming = {"api-logs#10"}
        for ex in exchanges:
            try:
                resp = raw_request(sock_path, ex.request_bytes(), timeout=5, stream_for=0.3 if ex.id in streaming else None)
            except OSError as e:
                raise AssertionError(f"{ex.id}: {e}") from e
            assert compare_response(ex, resp, streaming=ex.id in streaming) == [], ex.id
    finally:
        srv.close()
        os.unlink(sock_path)
        os.rmdir(d)
