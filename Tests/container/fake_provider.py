"""The fake provider of the container test: one streamed answer, and an API key it requires.

The containers reach it through the host's address on the compose network, so it listens on a given address
instead of loopback.

    python3 Tests/container/fake_provider.py HOST PORT_FILE

Listens on HOST at a free port and writes that port to PORT_FILE once it accepts connections.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
import fake_openai  # noqa: E402

MODEL = "fake-model"
# Multi-byte characters and a code block, split into chunks that cut through both.
ANSWER = "Container test answer: 你好, Grüße 👋\n\n```swift\nprint(\"ok\")\n```\nDone."
CHUNK = 7
API_KEY = "sk-container-test-0001"


class Handler(fake_openai.FakeOpenAIHandler):
    models = [MODEL]
    api_key = API_KEY
    log_requests = True

    def answer(self, request):
        return ANSWER, [ANSWER[i:i + CHUNK] for i in range(0, len(ANSWER), CHUNK)], 0.01


def main() -> None:
    host, port_file = sys.argv[1], Path(sys.argv[2])
    server = fake_openai.serve(Handler, host=host)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
