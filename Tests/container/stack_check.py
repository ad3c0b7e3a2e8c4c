"""API checks of a running AIChat stack, used by scripts/container-test.sh. Standard library only.

    stack_check.py chat BASE_URL PROVIDER_URL STATE_FILE
        Registers the first user (must become admin), adds a system connection to the fake provider at
        PROVIDER_URL (as the containers reach it), creates a session, chats through POST /api/chat/stream and
        checks the streamed answer. Writes the token and ids to STATE_FILE.
    stack_check.py history BASE_URL STATE_FILE
        After a backend restart: the token from `chat` is still valid and the session holds both messages.
    stack_check.py original BASE_URL
        Against a database in the original project's format (scripts/fixtures/make_original_db.py): its
        users log in with their passwords, their sessions and messages are there and the API key stored by
        the original decrypts.

Prints one line per passed check; on the first failure prints what was expected and received and exits 1.
"""
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_provider import ANSWER, API_KEY, MODEL  # noqa: E402

ADMIN = {"username": "admin", "password": "container-test-1"}
PROMPT = "Hello from the container test"
TIMEOUT = 30


class CheckFailed(Exception):
    pass


def ok(message: str) -> None:
    print(f"  ok  {message}", flush=True)


def expect(condition: bool, message: str, detail: object = None) -> None:
    if not condition:
        raise CheckFailed(message + ("" if detail is None else f": {detail!r}"[:2000]))


def request(base: str, method: str, path: str, body: object = None, token: str | None = None, accept: str = "application/json"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    req.add_header("Accept", accept)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        return urllib.request.urlopen(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as error:
        raise CheckFailed(f"{method} {path} answered {error.code}: {error.read()[:500].decode(errors='replace')}") from None
    except urllib.error.URLError as error:
        raise CheckFailed(f"{method} {path} failed: {error.reason}") from None


def api(base: str, method: str, path: str, body: object = None, token: str | None = None) -> object:
    with request(base, method, path, body, token) as response:
        payload = json.loads(response.read())
    expect(isinstance(payload, dict) and payload.get("success") is True, f"{method} {path} did not succeed", payload)
    return payload.get("data")


def stream_chat(base: str, token: str, session_id: int, content: str) -> list[dict]:
    """POST /api/chat/stream; returns the decoded `data:` events in order."""
    events = []
    with request(base, "POST", "/api/chat/stream", {"sessionId": session_id, "content": content}, token, "text/event-stream") as response:
        kind = response.headers.get("Content-Type", "")
        expect(kind.startswith("text/event-stream"), "the chat stream has the wrong content type", kind)
        for raw in response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data:"):
                events.append(json.loads(line[5:].strip()))
    return events


def chat(base: str, provider_url: str, state_file: str) -> None:
    registered = api(base, "POST", "/api/auth/register", ADMIN)
    token, user = registered["token"], registered["user"]
    expect(user.get("role") == "ADMIN", "the first registered user is not an administrator", user)
    ok(f"registered {user['username']} (role {user['role']}) through the frontend")

    me = api(base, "GET", "/api/auth/me", token=token)
    expect(me.get("username") == ADMIN["username"], "GET /api/auth/me returned another user", me)

    connection = api(base, "POST", "/api/connections", {
        "provider": "openai", "baseUrl": provider_url, "authType": "bearer",
        "apiKey": API_KEY, "enable": True, "connectionType": "external",
    }, token)
    ok(f"system connection {connection['id']} to {provider_url}")

    session = api(base, "POST", "/api/sessions", {"connectionId": connection["id"], "rawId": MODEL}, token)
    ok(f"session {session['id']}")

    events = stream_chat(base, token, session["id"], PROMPT)
    types = [event.get("type") for event in events]
    errors = [event for event in events if event.get("type") == "error"]
    expect(not errors, "the chat stream reported an error", errors)
    expect(types[:1] == ["start"], "the chat stream does not begin with a start event", types)
    expect("complete" in types, "the chat stream has no complete event", types)
    answer = "".join(event.get("content", "") for event in events if event.get("type") == "content")
    expect(answer == ANSWER, "the streamed answer differs from the provider's", answer)
    ok(f"streamed answer of {len(answer)} characters in {types.count('content')} content events ({', '.join(dict.fromkeys(types))})")

    Path(state_file).write_text(json.dumps({"token": token, "sessionId": session["id"]}))


def history(base: str, state_file: str) -> None:
    state = json.loads(Path(state_file).read_text())
    token, session_id = state["token"], state["sessionId"]
    me = api(base, "GET", "/api/auth/me", token=token)
    expect(me.get("username") == ADMIN["username"], "the token issued before the restart is not accepted", me)
    ok("the token issued before the restart is still valid (JWT secret kept in the data volume)")

    page = api(base, "GET", f"/api/chat/sessions/{session_id}/messages", token=token)
    messages = [(m["role"], m["content"]) for m in page["messages"]]
    expect(messages == [("user", PROMPT), ("assistant", ANSWER)], "the session's messages are not the two sent before the restart", messages)
    ok(f"session {session_id} still holds the question and the answer")

    sessions = api(base, "GET", "/api/sessions", token=token)["sessions"]
    expect([s["id"] for s in sessions] == [session_id], "the session list changed across the restart", sessions)
    ok("session list unchanged")


def original(base: str) -> None:
    admin = api(base, "POST", "/api/auth/login", {"username": "admin", "password": "Admin12345"})
    expect(admin["user"].get("role") == "ADMIN", "the original admin lost its role", admin["user"])
    ok("the original database's admin logs in with its original password (bcrypt $2a$)")
    alice = api(base, "POST", "/api/auth/login", {"username": "alice", "password": "alicepass1"})
    expect(alice["user"].get("role") == "USER", "the original user alice has the wrong role", alice["user"])
    ok("the original user alice logs in")

    token = admin["token"]
    sessions = api(base, "GET", "/api/sessions", token=token)["sessions"]
    titles = sorted(s["title"] for s in sessions)
    expect(titles == ["New Chat", "Swift closures"], "the admin's original sessions are not listed", titles)
    closures = next(s for s in sessions if s["title"] == "Swift closures")
    page = api(base, "GET", f"/api/chat/sessions/{closures['id']}/messages", token=token)
    contents = [m["content"] for m in page["messages"]]
    expect(len(contents) == 4 and contents[0] == "What is a closure in Swift?" and "闭包" in contents[3],
           "the original messages were not read back", contents)
    ok("the original sessions and messages (with Chinese text and emoji) are readable")

    connections = api(base, "GET", "/api/connections", token=token)
    hints = {c["id"]: c.get("apiKeyHint") for c in connections}
    expect(hints.get(1) == "••••-123", "the API key the original stored does not decrypt", hints)
    ok("the API key the original encrypted still decrypts")


def main(argv: list[str]) -> int:
    commands = {"chat": (chat, 3), "history": (history, 2), "original": (original, 1)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    function, _ = commands[argv[1]]
    try:
        function(*argv[2:])
    except (CheckFailed, KeyError, TypeError, ValueError) as error:
        print(f"  FAIL {argv[1]}: {type(error).__name__ if not isinstance(error, CheckFailed) else ''} {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
